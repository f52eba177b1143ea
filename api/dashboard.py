"""The operations dashboard: server-rendered pages over the same services as the API."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
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
from api.deps import SESSION_COOKIE, Audit, Audited, Operations, Services, Unauthenticated
from api.errors import refused_for_actor
from api.routers.board import board_for, scope
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
from service.access import AccessDeniedError
from service.journeys import CommandRejectedError
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
SESSION_HOURS = 12


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
    if refused_for_actor(exc):
        message = exc.message if isinstance(exc, AccessDeniedError | CommandRejectedError) else ""
        context = {"staff": staff, "error": f"Refused: {message}", "journey_id": journey_id,
                   "message": None, "program_zone": _zone(request)}  # fmt: skip
        return templates.TemplateResponse(request, "refused.html", context, status_code=403)
    if isinstance(exc, HTTPException):
        detail = str(exc.detail)
        return _render(request, "base.html", staff=staff, error=detail[:1].upper() + detail[1:])
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
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


def _back(journey_id: str, **flash: str) -> Response:
    """Back to the journey's page with a message or an error."""
    query = "&".join(f"{k}={quote(v)}" for k, v in flash.items())
    return RedirectResponse(f"/ui/journeys/{quote(journey_id)}?{query}", 303)


def _zone(request: Request) -> Any:
    services: ApiServices = request.app.state.services
    return services.calendar.zone


def _render(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.setdefault("message", request.query_params.get("message"))
    context.setdefault("error", request.query_params.get("error"))
    context["program_zone"] = _zone(request)
    return templates.TemplateResponse(request, name, context)


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    """The login form."""
    return _render(request, "login.html", staff=None)


@router.post("/login")
async def login(
    request: Request, services: Services, token: Annotated[str, Form(max_length=200)]
) -> Response:
    """Check the token and start a session cookie."""
    staff = await services.access.authenticate(token)
    if staff is None:
        await services.access.record("anonymous", "POST /login", None, "unauthenticated")
        return _render(request, "login.html", staff=None, error="That token is not valid.")
    await services.access.record(staff.staff_id, "POST /login", None, "ok")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict"
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def board_page(request: Request, services: Services, audit: Audited) -> HTMLResponse:
    """Counts, the work queue and the journeys the staff member may see."""
    staff = audit.staff
    board = await board_for(services, staff)
    journeys = await services.queries.list_journeys(member=scope(staff), limit=100)
    return _render(request, "board.html", staff=staff, page="board", board=board, journeys=journeys)


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


@router.post("/ui/deliveries/replay")
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


@router.post("/ui/journeys/{journey_id}/assess")
async def assess_form(
    journey_id: str, request: Request, services: Services, audit: Audited
) -> Response:
    """Record the assessment from the form's dimension ratings."""
    form = await request.form()
    # Every other field is a dimension's rating (the page renders one per dimension); the
    # journey refuses a set that does not match its policy's dimensions.
    cmd = RecordAssessment(
        dimensions={k: int(str(v)) for k, v in form.multi_items() if k != "substance"},
        assessed_by=audit.staff.staff_id,
        substances=[Substance(str(v)) for v in form.getlist("substance")],
    )
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/decide")
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


@router.post("/ui/journeys/{journey_id}/measure")
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


@router.post("/ui/journeys/{journey_id}/event")
async def event_form(
    journey_id: str,
    services: Services,
    audit: Audited,
    kind: Annotated[ClinicalEventKind, Form()],
) -> Response:
    """Report a clinical event."""
    cmd = ReportEvent(kind=kind, reported_by=audit.staff.staff_id)
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/reassess")
async def reassess_form(
    journey_id: str,
    services: Services,
    audit: Audited,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Request a reassessment."""
    cmd = RequestReassessment(requested_by=audit.staff.staff_id, reason=reason)
    return await _act(services, audit, journey_id, cmd)


@router.post("/ui/journeys/{journey_id}/check-in")
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


@router.post("/ui/journeys/{journey_id}/discharge")
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
