"""The operations dashboard: server-rendered pages over the same services as the API."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.datastructures import FormData

from api.authority import FormRefused, forms_for
from api.authority import install as install_refusals
from api.deps import SESSION_COOKIE, Services, can_see_journey
from api.routers.board import work_queue
from api.schemas import Board
from api.services import ApiServices
from clinical import dispositions
from delivery.store import UnknownTargetError
from models.clinical import Substance
from models.commands import (
    CommandResult,
    DecideTransition,
    Discharge,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    WorkDisposition,
)
from models.delivery import DeliveryStatus
from models.errors import RejectionCode
from models.journey import DischargeReason, Phase
from models.plan import RecoverySupport
from models.policy import ClinicalEventKind
from models.views import StaffAccount
from readmodel.access import RUNS_DELIVERIES, SEES_ALL
from service.access import AccessDeniedError, ClinicalCommand, require_clinical
from service.journeys import CommandRejectedError, JourneyError
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


class LoginRequired(Exception):
    """No valid session cookie."""


async def page_staff(request: Request, services: Services) -> StaffAccount:
    """The logged-in staff member, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    staff = await services.access.authenticate(token) if token else None
    if staff is None:
        raise LoginRequired
    return staff


PageStaff = Annotated[StaffAccount, Depends(page_staff)]


def install(app: FastAPI) -> None:
    """Mount the pages, the static files and the login redirect."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    install_refusals(app, templates)

    @app.exception_handler(LoginRequired)
    async def to_login(_: Request, __: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)


def _render(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.setdefault("message", request.query_params.get("message"))
    context.setdefault("error", request.query_params.get("error"))
    services: ApiServices = request.app.state.services
    context["program_zone"] = services.calendar.zone
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
async def board_page(request: Request, services: Services, staff: PageStaff) -> HTMLResponse:
    """Counts, the work queue and the journeys the staff member may see."""
    member = None if staff.role in SEES_ALL else staff.staff_id
    board = Board(
        counts=await services.queries.counts_by_phase_and_loc(member=member),
        work=await work_queue(services, member),
    )
    journeys = await services.queries.list_journeys(member=member, limit=100)
    await services.access.record(staff.staff_id, "GET /", None, "ok")
    return _render(request, "board.html", staff=staff, page="board", board=board, journeys=journeys)


@router.get("/ui/feed")
async def feed_page(request: Request, services: Services, staff: PageStaff) -> HTMLResponse:
    """The staff member's own feed, updated live."""
    items = await services.queries.feed(staff.staff_id, limit=100)
    await services.access.record(staff.staff_id, "GET /ui/feed", None, "ok")
    return _render(request, "feed.html", staff=staff, page="feed", items=items)


@router.get("/ui/deliveries")
async def deliveries_page(request: Request, services: Services, staff: PageStaff) -> Response:
    """The dead-letter list, with a replay button per delivery (operations and admins)."""
    if staff.role not in RUNS_DELIVERIES:
        return _render(request, "base.html", staff=staff, error="Operations and admins only.")
    dead = await services.deliveries.deliveries(DeliveryStatus.DEAD, limit=200)
    await services.access.record(staff.staff_id, "GET /ui/deliveries", None, "ok")
    return _render(request, "deliveries.html", staff=staff, page="deliveries", dead=dead)


@router.post("/ui/deliveries/replay")
async def replay_form(
    services: Services, staff: PageStaff, key: Annotated[str, Form(max_length=200)]
) -> Response:
    """Queue one dead delivery again."""
    if staff.role not in RUNS_DELIVERIES:
        return RedirectResponse("/ui/deliveries?error=" + quote("Operations and admins only."), 303)
    try:
        number = await services.deliveries.reopen(key)
    except UnknownTargetError as exc:
        await services.access.record(staff.staff_id, "POST /ui/deliveries/replay", None, "refused")
        return RedirectResponse("/ui/deliveries?error=" + quote(str(exc)), 303)
    await services.access.record(staff.staff_id, "POST /ui/deliveries/replay", None, "ok")
    message = quote(f"Replay {number} queued for {key}")
    return RedirectResponse(f"/ui/deliveries?message={message}", 303)


@router.get("/ui/journeys/{journey_id}")
async def journey_page(
    journey_id: str, request: Request, services: Services, staff: PageStaff
) -> Response:
    """One journey: live state, open reassessment with forms, the timeline."""
    if not await can_see_journey(services, staff, journey_id):
        await services.access.record(staff.staff_id, "GET /ui/journeys", journey_id, "forbidden")
        return _render(request, "base.html", staff=staff, error="Not on this journey's care team.")
    try:
        state = await services.journeys.state(journey_id)
    except JourneyError as exc:
        return _render(request, "base.html", staff=staff, error=str(exc))
    progress = await services.journeys.progress(journey_id)
    await services.access.record(staff.staff_id, "GET /ui/journeys", journey_id, "ok")
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


async def _act(
    services: ApiServices,
    staff: StaffAccount,
    journey_id: str,
    action: str,
    run: Callable[[], Awaitable[CommandResult]],
    detail: str | None = None,
    needs: ClinicalCommand | None = None,
) -> Response:
    """Run a command for a form and come back to the journey with what happened.

    A clinical command (``needs``) from an account that may not send it, or one the journey
    refuses for the actor's care-team role, is answered with a 403 page.
    """
    where = f"/ui/journeys/{quote(journey_id)}"
    if not await can_see_journey(services, staff, journey_id):
        await services.access.record(staff.staff_id, action, journey_id, "forbidden")
        raise FormRefused(staff, journey_id, "not on this journey's care team")
    try:
        if needs is not None:
            require_clinical(staff.role, needs)
        result = await run()
    except AccessDeniedError as exc:
        await services.access.record(staff.staff_id, action, journey_id, exc.code.value, detail)
        raise FormRefused(staff, journey_id, exc.message) from None
    except CommandRejectedError as exc:
        if exc.code is RejectionCode.NOT_AUTHORIZED:
            outcome = exc.code.value
            await services.access.record(staff.staff_id, action, journey_id, outcome, detail)
            raise FormRefused(staff, journey_id, exc.message) from None
        await services.access.record(staff.staff_id, action, journey_id, "rejected", detail)
        return RedirectResponse(f"{where}?error=" + quote(f"Refused: {exc.message}"), 303)
    except (JourneyError, ValueError) as exc:
        await services.access.record(staff.staff_id, action, journey_id, "invalid", detail)
        return RedirectResponse(f"{where}?error=" + quote(str(exc).splitlines()[0]), 303)
    await services.access.record(staff.staff_id, action, journey_id, "ok", detail)
    message = result.message[:1].upper() + result.message[1:]
    return RedirectResponse(f"{where}?message=" + quote(message), 303)


@router.post("/ui/journeys/{journey_id}/assess")
async def assess_form(
    journey_id: str, request: Request, services: Services, staff: PageStaff
) -> Response:
    """Record the assessment from the form's dimension ratings."""
    form = await request.form()

    async def run() -> CommandResult:
        # Every other field is a dimension's rating (the page renders one per dimension); the
        # journey refuses a set that does not match its policy's dimensions.
        ratings = {k: int(str(v)) for k, v in form.multi_items() if k != "substance"}
        substances = [Substance(str(v)) for v in form.getlist("substance")]
        return await services.journeys.assess(
            journey_id, ratings, staff.staff_id, substances=substances
        )

    return await _act(
        services, staff, journey_id, "POST /ui/journeys/assess", run, needs=ClinicalCommand.ASSESS
    )


@router.post("/ui/journeys/{journey_id}/decide")
async def decide_form(
    journey_id: str,
    services: Services,
    staff: PageStaff,
    reassessment_id: Annotated[str, Form(max_length=64)],
    choice: Annotated[str, Form(pattern="^(accept|override)$")],
    phase: Annotated[str, Form(max_length=32)] = "",
    loc_code: Annotated[str, Form(max_length=16)] = "",
    variance_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Accept or override the recommendation."""

    async def run() -> CommandResult:
        cmd = DecideTransition(
            reassessment_id=reassessment_id,
            decided_by=staff.staff_id,
            accept=choice == "accept",
            phase=Phase(phase) if phase else None,
            loc_code=loc_code or None,
            variance_reason=variance_reason.strip() or None,
        )
        return await services.journeys.decide(journey_id, cmd)

    return await _act(
        services, staff, journey_id, "POST /ui/journeys/decide", run, needs=ClinicalCommand.DECIDE
    )


@router.post("/ui/journeys/{journey_id}/measure")
async def measure_form(
    journey_id: str,
    services: Services,
    staff: PageStaff,
    code: Annotated[str, Form(max_length=16)],
    answers: Annotated[str, Form(max_length=200)],
) -> Response:
    """Score an instrument from comma-separated item answers."""

    async def run() -> CommandResult:
        values = [int(a) for a in answers.replace(" ", "").split(",") if a]
        cmd = RecordInstrument(code=code, answers=values, recorded_by=staff.staff_id)
        result = await services.journeys.record_instrument(journey_id, cmd)
        scored = result.instrument
        if scored is not None:
            flags = f", flags: {', '.join(scored.flags)}" if scored.flags else ""
            message = f"{scored.code} scored {scored.total} ({scored.band}{flags})"
            result = result.model_copy(update={"message": message})
        return result

    return await _act(
        services, staff, journey_id, "POST /ui/journeys/measure", run,
        needs=ClinicalCommand.RECORD_INSTRUMENT,
    )  # fmt: skip


@router.post("/ui/journeys/{journey_id}/event")
async def event_form(
    journey_id: str,
    services: Services,
    staff: PageStaff,
    kind: Annotated[ClinicalEventKind, Form()],
) -> Response:
    """Report a clinical event."""
    cmd = ReportEvent(kind=kind, reported_by=staff.staff_id)
    return await _act(
        services, staff, journey_id, "POST /ui/journeys/event",
        lambda: services.journeys.report_event(journey_id, cmd),
    )  # fmt: skip


@router.post("/ui/journeys/{journey_id}/reassess")
async def reassess_form(
    journey_id: str,
    services: Services,
    staff: PageStaff,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Request a reassessment."""
    cmd = RequestReassessment(requested_by=staff.staff_id, reason=reason)
    return await _act(
        services, staff, journey_id, "POST /ui/journeys/reassess",
        lambda: services.journeys.request_reassessment(journey_id, cmd),
    )  # fmt: skip


@router.post("/ui/journeys/{journey_id}/check-in")
async def check_in_form(
    journey_id: str, request: Request, services: Services, staff: PageStaff
) -> Response:
    """Record an aftercare check-in with the recovery supports ticked and any use."""
    form = await request.form()

    async def run() -> CommandResult:
        supports = [RecoverySupport(str(v)) for v in form.getlist("support")]
        cmd = RecordCheckIn(
            recorded_by=staff.staff_id,
            supports_attended=supports,
            substance_use=form.get("use") == "yes",
        )
        return await services.journeys.record_check_in(journey_id, cmd)

    return await _act(services, staff, journey_id, "POST /ui/journeys/check-in", run)


@router.post("/ui/journeys/{journey_id}/discharge")
async def discharge_form(
    journey_id: str,
    services: Services,
    staff: PageStaff,
    request: Request,
) -> Response:
    """Discharge the client; each open urgent item comes with its disposition."""
    form = await request.form()
    action = "POST /ui/journeys/discharge"
    try:
        cmd = Discharge(
            discharged_by=staff.staff_id,
            reason=DischargeReason(str(form.get("reason", ""))),
            dispositions=_dispositions(form),
        )
    except ValueError as exc:
        await services.access.record(staff.staff_id, action, journey_id, "invalid")
        first = str(exc).splitlines()[0]
        return RedirectResponse(f"/ui/journeys/{quote(journey_id)}?error=" + quote(first), 303)
    return await _act(
        services, staff, journey_id, action,
        lambda: services.journeys.discharge(journey_id, cmd), dispositions.describe(cmd),
        needs=ClinicalCommand.DISCHARGE,
    )  # fmt: skip


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
