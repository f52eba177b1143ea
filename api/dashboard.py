"""The operations dashboard: server-rendered pages over the same services as the API."""

import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import ValidationError
from starlette.datastructures import FormData

from api import errors
from api.authority import forms_for
from api.deps import (
    SESSION_COOKIE,
    Audit,
    Audited,
    CsrfChecked,
    CsrfRefused,
    JourneyHidden,
    Operations,
    Services,
    Unauthenticated,
)
from api.errors import refused_for_actor
from api.routers.board import board_for, scope
from api.routers.clients import ClientHidden, visible_client
from api.routers.commands import send_command
from api.services import ApiServices
from delivery.store import UnknownTargetError
from models.clinical import Substance
from models.commands import (
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    StaffCommand,
    WorkDisposition,
)
from models.delivery import DeliveryStatus
from models.journey import DischargeReason, Phase
from models.plan import RecoverySupport
from models.policy import ClinicalEventKind
from readmodel.access import csrf_token
from readmodel.clients import ClientSearch
from readmodel.consents import UnknownConsentError
from service.access import AccessDeniedError
from service.journeys import CommandRejectedError, JourneyNotFoundError
from service.live import live_view

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


@pass_context
def _local(context: Context, at: datetime, fmt: str) -> str:
    """A stored instant as the program's clocks show it: "today" on the board is local too."""
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return moment.astimezone(context["program_zone"]).strftime(fmt)


templates.env.filters["local"] = _local

router = APIRouter(include_in_schema=False)
# The login form's own CSRF secret (no session exists yet), sent back only to /login.
LOGIN_COOKIE = "journeys_login"
FORM_POST = [CsrfChecked]


def install(app: FastAPI) -> None:
    """Mount the pages and the static files; errors on a page are answered as pages."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    errors.install(app, page=_page_answer)


def _page_answer(request: Request, exc: Exception) -> Response | None:
    """The dashboard's answer to an error on one of its pages (``api.errors``)."""
    if isinstance(exc, Unauthenticated):
        return RedirectResponse("/login", status_code=303)
    staff = getattr(request.state, "staff", None)
    journey_id = request.path_params.get("journey_id")
    if isinstance(exc, JourneyNotFoundError | JourneyHidden):
        # One answer whether the journey is missing or outside the account's scope.
        return _render(request, "base.html", staff=staff, error="Journey not found.", status=404)
    if isinstance(exc, ClientHidden):
        # The same for a client that does not exist and one the account may not see.
        return _render(request, "base.html", staff=staff, error="Client not found.", status=404)
    if refused_for_actor(exc):
        message = exc.message if isinstance(exc, AccessDeniedError | CommandRejectedError) else ""
        context = {"staff": staff, "error": f"Refused: {message}", "journey_id": journey_id,
                   "message": None, "program_zone": _zone(request)}  # fmt: skip
        return templates.TemplateResponse(request, "refused.html", context, status_code=403)
    if isinstance(exc, HTTPException):
        detail = str(exc.detail)
        error = detail[:1].upper() + detail[1:]
        code = exc.status_code if isinstance(exc, CsrfRefused) else status.HTTP_200_OK
        return _render(request, "base.html", staff=staff, error=error, status=code)
    problem = _problem(exc)
    if request.method == "GET" or journey_id is None:
        return _render(request, "base.html", staff=staff, error=problem)
    return _back(journey_id, error=problem)


def _problem(exc: Exception) -> str:
    """One line saying what was wrong."""
    if isinstance(exc, CommandRejectedError):
        return f"Refused: {exc.message}"
    if isinstance(exc, ValidationError | RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("body", "path"))
        line = f"{where}: {first['msg']}" if where else str(first["msg"])
        return line[:200]  # the message names the field; a bounded one never carries the input
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


def _back(journey_id: str, **flash: str) -> Response:
    """Back to the journey's page with a message or an error."""
    query = "&".join(f"{k}={quote(v)}" for k, v in flash.items())
    return RedirectResponse(f"/ui/journeys/{quote(journey_id)}?{query}", 303)


def _zone(request: Request) -> Any:
    services: ApiServices = request.app.state.services
    return services.calendar.zone


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("message", request.query_params.get("message"))
    context.setdefault("error", request.query_params.get("error"))
    # Every form of a page carries the session's CSRF token (none for a bearer token).
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    context["program_zone"] = _zone(request)
    return templates.TemplateResponse(request, name, context, status_code=status)


def _secure(request: Request) -> bool:
    """Cookies are Secure when the request or the configured public URL is https."""
    return request.url.scheme == "https" or bool(getattr(request.app.state, "https", False))


def _login_page(
    request: Request, error: str | None = None, status: int = 200, secret: str | None = None
) -> HTMLResponse:
    """The login form, with the CSRF token of the browser's login cookie (set if missing)."""
    secret = secret or request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    page = _render(request, "login.html", status, staff=None, error=error, csrf=csrf_token(secret))
    page.set_cookie(
        LOGIN_COOKIE, secret, path="/login", httponly=True, samesite="strict",
        secure=_secure(request),
    )  # fmt: skip
    return page


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    """The login form."""
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    services: Services,
    staff_id: Annotated[str, Form(max_length=64)],
    token: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the account and its token and start a server-side session.

    Once the account or the client address has had its allowance of refused logins within the
    window, the answer is 429 with Retry-After and the token is not even looked at.
    """
    access = services.access
    secret = request.cookies.get(LOGIN_COOKIE, "")
    if not secret or not secrets.compare_digest(csrf.encode(), csrf_token(secret).encode()):
        await access.record("anonymous", "POST /login", None, "csrf")
        return _login_page(request, "This form expired; log in again.", 403)
    address = request.client.host if request.client else "unknown"
    wait = await access.login_wait(staff_id, address)
    if wait:
        await access.record("anonymous", "POST /login", None, "rate_limited")
        minutes = -(-wait // 60)
        error = f"Too many failed logins; try again in {minutes} minute(s)."
        page = _login_page(request, error, status.HTTP_429_TOO_MANY_REQUESTS, secret)
        page.headers["Retry-After"] = str(wait)
        return page
    staff = await access.authenticate(token, staff_id)
    if staff is None:
        await access.login_failed(staff_id, address)
        await access.record("anonymous", "POST /login", None, "unauthenticated")
        return _login_page(request, "That token is not valid.", 401, secret)
    await access.login_succeeded(staff.staff_id)
    await access.record(staff.staff_id, "POST /login", None, "ok")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, await access.open_session(staff), httponly=True, samesite="strict",
        secure=_secure(request), max_age=int(access.rules.absolute.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, services: Services, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """End the session: revoked on the server, not only forgotten by the browser."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = await services.access.resume_session(cookie) if cookie else None
    if session is not None and cookie is not None:
        if not secrets.compare_digest(csrf.encode(), session.csrf.encode()):
            await services.access.record(session.staff.staff_id, "POST /logout", None, "csrf")
            raise CsrfRefused
        await services.access.close_session(cookie)
        await services.access.record(session.staff.staff_id, "POST /logout", None, "ok")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def board_page(request: Request, services: Services, audit: Audited) -> HTMLResponse:
    """Counts, the work queue and the journeys the staff member may see, each with its
    client's name for staff who may see the client (one lookup for the whole page)."""
    staff = audit.staff
    board = await board_for(services, staff)
    journeys = await services.queries.list_journeys(member=scope(staff), limit=100)
    work = board.work
    tasks = [*work.past_due, *work.today, *work.tomorrow]
    named = await services.clients.names(
        staff, [j.journey_id for j in journeys if j.client_id] + [t.journey_id for t in tasks]
    )
    return _render(
        request, "board.html", staff=staff, page="board", board=board, journeys=journeys,
        named=named,
    )  # fmt: skip


@router.get("/ui/clients")
async def clients_page(
    request: Request,
    services: Services,
    audit: Audited,
    name: Annotated[str, Query(max_length=200)] = "",
    dob: Annotated[str, Query(max_length=10)] = "",
    mrn: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Find clients by exact name, date of birth or MRN (only those the staff member may see)."""
    criteria = {"name": name.strip(), "dob": dob.strip(), "mrn": mrn.strip()}
    given = [k for k, v in criteria.items() if v]
    context: dict[str, Any] = {"staff": audit.staff, "page": "clients", "criteria": criteria}
    if not given:
        audit.detail = "search form"
        return _render(request, "clients.html", found=None, **context)
    try:
        born = date.fromisoformat(criteria["dob"]) if criteria["dob"] else None
    except ValueError:
        audit.detail = "search by dob: not a date"
        return _render(request, "clients.html", found=None, error="dob: use YYYY-MM-DD", **context)
    search = ClientSearch(name=criteria["name"] or None, dob=born, mrn=criteria["mrn"] or None)
    clients = services.clients
    found = await clients.visible(audit.staff, await clients.find(search, 50))
    audit.detail = f"search by {', '.join(given)}; {len(found)} found: " + " ".join(
        c.client_id for c in found
    )
    return _render(request, "clients.html", found=found, **context)


@router.get("/ui/clients/{client_id}")
async def client_page(
    client_id: str, request: Request, services: Services, audit: Audited
) -> Response:
    """One client: the record, every episode, the consents and the accounting of disclosures."""
    client = await visible_client(services, audit, client_id)
    return _render(
        request, "client.html", staff=audit.staff, page="clients", client=client,
        record=client.record, episodes=await services.clients.journeys(client_id),
        consents=await services.consents.consents(client_id),
        disclosures=await services.consents.disclosures(client_id), today=date.today(),
    )  # fmt: skip


@router.post("/ui/clients/{client_id}/consents/{consent_id}/revoke", dependencies=FORM_POST)
async def revoke_form(
    client_id: str, consent_id: str, services: Services, audit: Audited
) -> Response:
    """Revoke one of the client's consents: no disclosure under it from now on."""
    await visible_client(services, audit, client_id)
    audit.detail = f"client {client_id}; consent {consent_id[:64]}"
    page = f"/ui/clients/{quote(client_id)}"
    try:
        await services.consents.revoke(client_id, consent_id, audit.staff.staff_id)
    except UnknownConsentError:
        audit.outcome = "refused"
        return RedirectResponse(f"{page}?error={quote('Consent not found.')}", 303)
    return RedirectResponse(f"{page}?message={quote(f'Consent {consent_id} revoked.')}", 303)


@router.get("/ui/feed")
async def feed_page(request: Request, services: Services, audit: Audited) -> HTMLResponse:
    """The staff member's own feed, updated live."""
    items = await services.queries.feed(audit.staff.staff_id, limit=100)
    return _render(request, "feed.html", staff=audit.staff, page="feed", items=items)


@router.get("/ui/deliveries")
async def deliveries_page(
    request: Request, services: Services, audit: Audited, staff: Operations
) -> Response:
    """The dead-letter list, with a replay button per delivery (operations and admins)."""
    dead = await services.deliveries.deliveries(DeliveryStatus.DEAD, limit=200)
    return _render(request, "deliveries.html", staff=staff, page="deliveries", dead=dead)


@router.post("/ui/deliveries/replay", dependencies=FORM_POST)
async def replay_form(
    services: Services, audit: Audited, staff: Operations, key: Annotated[str, Form(max_length=200)]
) -> Response:
    """Queue one dead delivery again."""
    try:
        number = await services.deliveries.reopen(key)
    except UnknownTargetError as exc:
        audit.outcome = "refused"
        return RedirectResponse("/ui/deliveries?error=" + quote(str(exc)), 303)
    message = quote(f"Replay {number} queued for {key}")
    return RedirectResponse(f"/ui/deliveries?message={message}", 303)


@router.get("/ui/journeys/{journey_id}")
async def journey_page(
    journey_id: str, request: Request, services: Services, audit: Audited
) -> Response:
    """One journey: live state, open reassessment with forms, the timeline."""
    staff = audit.staff
    state = await services.journeys.state(journey_id)
    progress = await services.journeys.progress(journey_id)
    named = await services.clients.names(staff, [journey_id])
    client = named.get(journey_id)
    return _render(
        request,
        "journey.html",
        staff=staff,
        live=live_view(state),
        progress=progress,
        recovery_supports=[r.value for r in RecoverySupport],
        timeline=await services.queries.get_timeline(journey_id),
        dimensions=state.policy.dimensions,
        forms=forms_for(state, staff),
        event_kinds=[k.value for k in ClinicalEventKind],
        instruments=[i.code for i in state.policy.instruments.instruments]
        if state.policy.instruments
        else [],
        discharge_reasons=[d.value for d in DischargeReason],
        client=client,
        episodes=await services.clients.journeys(client.client_id) if client else [],
    )


async def _act(services: ApiServices, audit: Audit, journey_id: str, cmd: StaffCommand) -> Response:
    """Send a form's command as the API does and come back to the journey with the outcome.

    Refusals and bad values travel as exceptions: the audit dependency records them and
    ``api.errors`` answers them as pages.
    """
    result = await send_command(services, audit, journey_id, cmd)
    scored = result.instrument
    if scored is not None:
        flags = f", flags: {', '.join(scored.flags)}" if scored.flags else ""
        return _back(
            journey_id, message=f"{scored.code} scored {scored.total} ({scored.band}{flags})"
        )
    return _back(journey_id, message=result.message[:1].upper() + result.message[1:])


@router.post("/ui/journeys/{journey_id}/assess", dependencies=FORM_POST)
async def assess_form(
    journey_id: str, request: Request, services: Services, audit: Audited
) -> Response:
    """Record the assessment from the form's dimension ratings."""
    form = await request.form()
    # Every other field but the CSRF token is a dimension's rating (one per dimension); the
    # journey refuses a set that does not match its policy's dimensions.
    cmd = RecordAssessment(
        dimensions={
            k: int(str(v)) for k, v in form.multi_items() if k not in ("substance", "csrf")
        },
        assessed_by=audit.staff.staff_id,
        substances=[Substance(str(v)) for v in form.getlist("substance")],
    )
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/decide", dependencies=FORM_POST)
async def decide_form(
    journey_id: str,
    services: Services,
    audit: Audited,
    reassessment_id: Annotated[str, Form(max_length=64)],
    choice: Annotated[str, Form(pattern="^(accept|override)$")],
    phase: Annotated[str, Form(max_length=32)] = "",
    loc_code: Annotated[str, Form(max_length=16)] = "",
    variance_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Accept or override the recommendation."""
    cmd = DecideTransition(
        reassessment_id=reassessment_id,
        decided_by=audit.staff.staff_id,
        accept=choice == "accept",
        phase=Phase(phase) if phase else None,
        loc_code=loc_code or None,
        variance_reason=variance_reason.strip() or None,
    )
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/measure", dependencies=FORM_POST)
async def measure_form(
    journey_id: str,
    services: Services,
    audit: Audited,
    code: Annotated[str, Form(max_length=16)],
    answers: Annotated[str, Form(max_length=200)],
) -> Response:
    """Score an instrument from comma-separated item answers."""
    values = [int(a) for a in answers.replace(" ", "").split(",") if a]
    cmd = RecordInstrument(code=code, answers=values, recorded_by=audit.staff.staff_id)
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/event", dependencies=FORM_POST)
async def event_form(
    journey_id: str,
    services: Services,
    audit: Audited,
    kind: Annotated[ClinicalEventKind, Form()],
) -> Response:
    """Report a clinical event."""
    cmd = ReportEvent(kind=kind, reported_by=audit.staff.staff_id)
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/reassess", dependencies=FORM_POST)
async def reassess_form(
    journey_id: str,
    services: Services,
    audit: Audited,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Request a reassessment."""
    cmd = RequestReassessment(requested_by=audit.staff.staff_id, reason=reason)
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/check-in", dependencies=FORM_POST)
async def check_in_form(
    journey_id: str, request: Request, services: Services, audit: Audited
) -> Response:
    """Record an aftercare check-in with the recovery supports ticked and any use."""
    form = await request.form()
    cmd = RecordCheckIn(
        recorded_by=audit.staff.staff_id,
        supports_attended=[RecoverySupport(str(v)) for v in form.getlist("support")],
        substance_use=form.get("use") == "yes",
    )
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/discharge", dependencies=FORM_POST)
async def discharge_form(
    journey_id: str, request: Request, services: Services, audit: Audited
) -> Response:
    """Discharge the client; each open urgent item comes with its disposition."""
    form = await request.form()
    cmd = Discharge(
        discharged_by=audit.staff.staff_id,
        reason=DischargeReason(str(form.get("reason", ""))),
        dispositions=_dispositions(form),
    )
    return await _act(services, audit, journey_id, cmd)


def _dispositions(form: FormData) -> list[WorkDisposition]:
    """``dispose:ITEM`` is a member id to hand to, or ``close`` with ``reason:ITEM``."""
    out = []
    for key, value in form.multi_items():
        if not key.startswith("dispose:") or not str(value):
            continue
        item = key.removeprefix("dispose:")
        if str(value) == "close":
            reason = str(form.get(f"reason:{item}", "")).strip()
            out.append(WorkDisposition(item_id=item, close_reason=reason or None))
        else:
            out.append(WorkDisposition(item_id=item, hand_to=str(value)))
    return out
