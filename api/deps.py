"""Dependencies: the shared services, the authenticated staff member, journey scope, audit."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from api.services import ApiServices
from models.staff import StaffRole
from models.views import StaffAccount
from readmodel.access import RUNS_DELIVERIES
from service.access import AccessDeniedError, not_on_care_team
from service.journeys import CommandRejectedError, JourneyNotFoundError

SESSION_COOKIE = "journeys_session"
bearer = HTTPBearer(auto_error=False)


class Unauthenticated(HTTPException):
    """No valid token or session: 401 for the API, the login page for the dashboard."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API token is required",
            headers={"WWW-Authenticate": "Bearer"},
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
    """The staff member behind the bearer token or the dashboard session cookie."""
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    staff = await services.access.authenticate(token) if token else None
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


async def audited(request: Request, services: Services, staff: Staff) -> AsyncIterator[Audit]:
    """Write one audit entry per request that touches client data, whatever the outcome."""
    journey_id = request.path_params.get("journey_id")
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"[:64]
    entry = Audit(services, staff, action, journey_id)
    if journey_id is not None and not await can_see_journey(services, staff, journey_id):
        await services.access.record(staff.staff_id, action, journey_id, "forbidden")
        raise not_on_care_team()
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
