"""Dependencies: the shared services, the authenticated staff member, journey scope, audit."""

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter, ValidationError

from api.services import ApiServices
from models.base import JourneyId
from models.staff import StaffRole
from models.views import StaffAccount
from readmodel.access import RUNS_DELIVERIES
from service.access import AccessDeniedError
from service.journeys import CommandRejectedError, JourneyNotFoundError

SESSION_COOKIE = "journeys_session"
bearer = HTTPBearer(auto_error=False)
JOURNEY_IDS: TypeAdapter[str] = TypeAdapter(JourneyId)


class Unauthenticated(HTTPException):
    """No valid token or session: 401 for the API, the login page for the dashboard."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


class JourneyHidden(HTTPException):
    """A journey the caller may not see answers as one that does not exist (no id confirmed)."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_404_NOT_FOUND, "journey not found")


class CsrfRefused(HTTPException):
    """A dashboard form post without its session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_403_FORBIDDEN,
            "this form did not come from your dashboard session; reload the page and send it again",
        )


def get_services(request: Request) -> ApiServices:
    """The services built by the lifespan."""
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]


async def current_staff(
    request: Request,
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> StaffAccount:
    """The staff member behind the bearer token or the dashboard session cookie.

    A session also gives the token its forms must carry (``request.state.csrf``); a bearer
    token is no ambient credential, so a request carrying one needs none.
    """
    staff = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if credentials:
        staff = await services.access.authenticate(credentials.credentials)
    elif cookie:
        session = await services.access.resume_session(cookie)
        if session is not None:
            staff = session.staff
            request.state.csrf = session.csrf
    if staff is None:
        await services.access.record("anonymous", request.url.path[:64], None, "unauthenticated")
        raise Unauthenticated
    # Kept for the error answers (the dashboard's refusal page names who is logged in).
    request.state.staff = staff
    return staff


Staff = Annotated[StaffAccount, Depends(current_staff)]


@dataclass
class Audit:
    """An audit entry being written for this request; the outcome is filled in on the way."""

    services: ApiServices
    staff: StaffAccount
    action: str
    journey_id: str | None
    outcome: str = "ok"
    # What the audit log must keep beyond the action (e.g. dispositions at discharge).
    detail: str | None = None


async def require_admin(staff: Staff) -> StaffAccount:
    """Only admins read the audit log and manage accounts."""
    if staff.role is not StaffRole.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admins only")
    return staff


Admin = Annotated[StaffAccount, Depends(require_admin)]


async def require_operations(staff: Staff) -> StaffAccount:
    """Operations and admins see and replay the dead-letter list."""
    if staff.role not in RUNS_DELIVERIES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "operations and admins only")
    return staff


Operations = Annotated[StaffAccount, Depends(require_operations)]


def _action(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"[:64]


def valid_journey_id(request: Request) -> str | None:
    """The request's ``journey_id`` path parameter when it is a journey id, else None."""
    journey_id = request.path_params.get("journey_id")
    if journey_id is None:
        return None
    try:
        return JOURNEY_IDS.validate_python(journey_id)
    except ValidationError:
        return None


async def audited(request: Request, services: Services, staff: Staff) -> AsyncIterator[Audit]:
    """Write one audit entry per request that touches client data, whatever the outcome.

    A path id that is no journey id is refused before anything looks it up, its audit entry
    holding a bounded description of it; a journey the caller may not see answers 404 as a
    missing one does, the audit entry keeping the real reason.
    """
    journey_id = request.path_params.get("journey_id")
    action = _action(request)
    if journey_id is not None and valid_journey_id(request) is None:
        shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in journey_id[:40])
        detail = f"journey id of {len(journey_id)} characters: {shown}"
        await services.access.record(staff.staff_id, action, None, "invalid_id", detail)
        raise JourneyHidden
    entry = Audit(services, staff, action, journey_id)
    if journey_id is not None and not await can_see_journey(services, staff, journey_id):
        await services.access.record(staff.staff_id, action, journey_id, "forbidden")
        raise JourneyHidden
    try:
        yield entry
    except HTTPException as exc:
        entry.outcome = f"http_{exc.status_code}"
        raise
    except (AccessDeniedError, CommandRejectedError) as exc:
        # The code says why (e.g. clinical_role_required, not_authorized, journey_closed).
        entry.outcome = exc.code.value[:32]
        raise
    except (RequestValidationError, ValidationError, ValueError):
        entry.outcome = "invalid"
        raise
    except Exception as exc:
        entry.outcome = type(exc).__name__[:32]
        raise
    finally:
        await services.access.record(
            staff.staff_id, action, entry.journey_id, entry.outcome, entry.detail
        )


Audited = Annotated[Audit, Depends(audited)]


async def check_csrf(request: Request, services: Services, staff: Staff) -> None:
    """A form posted with a session cookie carries that session's CSRF token (audited if not)."""
    expected: str | None = getattr(request.state, "csrf", None)
    if expected is None:
        return
    sent = (await request.form()).get("csrf")
    if isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode()):
        return
    journey_id = valid_journey_id(request)
    await services.access.record(staff.staff_id, _action(request), journey_id, "csrf")
    raise CsrfRefused


CsrfChecked = Depends(check_csrf)


async def can_see_journey(services: ApiServices, staff: StaffAccount, journey_id: str) -> bool:
    """Read-model scope, falling back to the live team for a journey not yet projected."""
    verdict = await services.access.can_see(staff, journey_id)
    if verdict is not None:
        return verdict
    try:
        state = await services.journeys.state(journey_id)
    except JourneyNotFoundError:
        return True  # let the endpoint answer 404
    return staff.staff_id in {m.member_id for m in state.care_team.members}
