"""Staff commands: start a journey, assess, decide, report, discharge and the rest."""

from datetime import date
from typing import Annotated

import typer

from cli import render
from cli.context import journey_service
from cli.errors import run
from cli.parsing import parse_ratings, parse_team
from clinical.policy_loader import load_policy
from models.clinical import AssessmentKind, ReassessmentTrigger
from models.commands import (
    ChangeCareTeam,
    CommandResult,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    StartJourney,
)
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal
from models.policy import ClinicalEventKind
from runtime.settings import get_settings
from service.ids import new_journey_id
from service.journeys import JourneyService

app = typer.Typer(no_args_is_help=True)

Journey = Annotated[str, typer.Argument(help="Opaque journey id, e.g. J-7KQ2M9XPT4.")]
By = Annotated[str, typer.Option("--by", help="Staff id of the person acting.")]
Members = Annotated[
    list[str],
    typer.Option("--member", help="Care-team member as ID:ROLE, or ID:ROLE:primary (repeat)."),
]


def _report(result: CommandResult, journey_id: str) -> None:
    render.console.print(f"[green]{result.message}[/green] ({journey_id}, event {result.seq})")
    if result.recommendation is not None:
        rec = result.recommendation
        render.console.print(f"recommended: {rec.loc_code or rec.phase} — {rec.rationale}")
    if result.reassessment_id:
        render.console.print(f"reassessment: {result.reassessment_id}")
    if result.phase is not None:
        render.console.print(f"now: {result.phase} {result.loc_code or ''}".rstrip())
    if result.plan_version is not None:
        render.console.print(f"plan version: {result.plan_version}")


@app.command()
@run
async def start(
    member: Members,
    by: By,
    journey_id: Annotated[
        str | None, typer.Option(help="Use this opaque id instead of a new one.")
    ] = None,
) -> None:
    """Open a journey in intake with its care team; prints the new journey id."""
    settings = get_settings()
    cmd = StartJourney(
        journey_id=journey_id or new_journey_id(),
        care_team=parse_team(member),
        started_by=by,
        policy=load_policy(settings.policy_path),
    )
    async with journey_service(settings) as journeys:
        await journeys.start(cmd)
    render.console.print(cmd.journey_id, highlight=False)


@app.command()
@run
async def assess(
    journey: Journey,
    ratings: Annotated[
        str, typer.Option(help="ASAM ratings 0-4 per dimension: d1=3,d2=1,d3=2,d4=2,d5=3,d6=2.")
    ],
    by: By,
    reassessment: Annotated[
        str | None, typer.Option(help="Reassessment id (default: the open one).")
    ] = None,
) -> None:
    """Record an ASAM assessment on the open reassessment and show the recommendation."""
    # Validate the ratings before contacting anything, so bad input names its field.
    cmd = RecordAssessment(
        assessment_id="pending",
        kind=AssessmentKind.REASSESSMENT,
        dimensions=parse_ratings(ratings),
        assessed_by=by,
        reassessment_id=reassessment,
    )
    async with journey_service(get_settings()) as journeys:
        state = await journeys.state(journey)
        active = state.active_reassessment
        intake = active is not None and active.trigger is ReassessmentTrigger.INTAKE
        cmd = cmd.model_copy(
            update={
                "assessment_id": f"{journey}.A{state.seq + 1}",
                "kind": AssessmentKind.COMPREHENSIVE if intake else AssessmentKind.REASSESSMENT,
            }
        )
        _report(await journeys.record_assessment(journey, cmd), journey)


@app.command()
@run
async def decide(
    journey: Journey,
    by: By,
    accept: Annotated[bool, typer.Option("--accept", help="Accept the recommendation.")] = False,
    phase: Annotated[Phase | None, typer.Option(help="Override: target phase.")] = None,
    loc: Annotated[str | None, typer.Option(help="Override: target level of care.")] = None,
    reason: Annotated[
        str | None, typer.Option(help="Variance reason, required for an override.")
    ] = None,
    reassessment: Annotated[
        str | None, typer.Option(help="Reassessment id (default: the open one).")
    ] = None,
) -> None:
    """Decide an assessed reassessment: accept the recommendation or override it."""
    if accept == (phase is not None):
        raise typer.BadParameter("give either --accept or --phase (with --loc and --reason)")
    async with journey_service(get_settings()) as journeys:
        target = reassessment or await _active_reassessment(journeys, journey)
        cmd = DecideTransition(
            reassessment_id=target,
            decided_by=by,
            accept=accept,
            phase=phase,
            loc_code=loc,
            variance_reason=reason,
        )
        _report(await journeys.decide(journey, cmd), journey)


async def _active_reassessment(journeys: JourneyService, journey: str) -> str:
    state = await journeys.state(journey)
    active = state.active_reassessment
    # An unknown id makes the journey itself refuse, with its own message.
    return active.reassessment_id if active else f"{journey}.none"


@app.command()
@run
async def reassess(
    journey: Journey,
    by: By,
    reason: Annotated[str, typer.Option(help="Why the reassessment is needed.")],
    urgent: Annotated[bool, typer.Option(help="Mark it urgent.")] = False,
) -> None:
    """Ask for a reassessment now."""
    priority = Priority.URGENT if urgent else Priority.ROUTINE
    cmd = RequestReassessment(requested_by=by, reason=reason, priority=priority)
    async with journey_service(get_settings()) as journeys:
        _report(await journeys.request_reassessment(journey, cmd), journey)


@app.command()
@run
async def event(
    journey: Journey,
    kind: Annotated[ClinicalEventKind, typer.Argument(help="What happened.")],
    by: By,
) -> None:
    """Report a clinical event (relapse, positive screen, missed session, crisis...)."""
    async with journey_service(get_settings()) as journeys:
        _report(
            await journeys.report_event(journey, ReportEvent(kind=kind, reported_by=by)), journey
        )


@app.command("check-in")
@run
async def check_in(journey: Journey, by: By) -> None:
    """Record an aftercare check-in."""
    async with journey_service(get_settings()) as journeys:
        _report(await journeys.record_check_in(journey, RecordCheckIn(recorded_by=by)), journey)


@app.command()
@run
async def team(
    journey: Journey, member: Members, by: By, reason: Annotated[str, typer.Option()]
) -> None:
    """Replace the care team (open work of departed members is handed over)."""
    cmd = ChangeCareTeam(changed_by=by, care_team=parse_team(member), reason=reason)
    async with journey_service(get_settings()) as journeys:
        _report(await journeys.change_care_team(journey, cmd), journey)


@app.command()
@run
async def plan(
    journey: Journey,
    by: By,
    reason: Annotated[str, typer.Option(help="Why the plan changes.")],
    goal: Annotated[list[str], typer.Option("--goal", help="ID|YYYY-MM-DD|description (repeat).")],
) -> None:
    """Write a new treatment plan version with its goals."""
    goals = [_parse_goal(g) for g in goal]
    cmd = RevisePlan(author=by, reason=reason, goals=goals)
    async with journey_service(get_settings()) as journeys:
        _report(await journeys.revise_plan(journey, cmd), journey)


def _parse_goal(spec: str) -> Goal:
    parts = spec.split("|", 2)
    if len(parts) != 3:
        raise typer.BadParameter(
            f"{spec!r}: expected ID|YYYY-MM-DD|description", param_hint="--goal"
        )
    try:
        target = date.fromisoformat(parts[1])
    except ValueError:
        raise typer.BadParameter(f"{parts[1]!r} is not a date", param_hint="--goal") from None
    return Goal(goal_id=parts[0], target_date=target, description=parts[2])


@app.command()
@run
async def discharge(
    journey: Journey,
    reason: Annotated[DischargeReason, typer.Option(help="Why the journey ends.")],
    by: By,
) -> None:
    """Discharge the client: the journey ends and open work is cancelled."""
    async with journey_service(get_settings()) as journeys:
        _report(
            await journeys.discharge(journey, Discharge(discharged_by=by, reason=reason)), journey
        )
