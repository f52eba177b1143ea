"""Staff commands: start a journey, assess, decide, report, discharge and the rest."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from cli import render
from cli.context import backend, remote
from cli.errors import describe_validation, invalid, run
from cli.parsing import parse_ratings, parse_team
from models.clinical import DimensionRating, Substance
from models.commands import (
    ChangeCareTeam,
    CommandResult,
    CompleteTask,
    DecideTransition,
    Discharge,
    OpenJourney,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StaffCommand,
    WorkDisposition,
)
from models.instruments import SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import Goal, GoalStatus, RecoverySupport, Signer
from models.policy import ClinicalEventKind
from runtime.settings import get_settings

if TYPE_CHECKING:
    from cli.backend import Backend

app = typer.Typer(no_args_is_help=True)
_ratings = TypeAdapter(dict[str, DimensionRating])

Journey = Annotated[str, typer.Argument(help="Opaque journey id, e.g. J-7KQ2M9XPT4.")]
By = Annotated[
    str | None,
    typer.Option("--by", help="Staff id of the person acting (with --api: the token's owner)."),
]
Members = Annotated[
    list[str],
    typer.Option("--member", help="Care-team member as ID:ROLE, or ID:ROLE:primary (repeat)."),
]
Reassessment = Annotated[str | None, typer.Option(help="Reassessment id (default: the open one).")]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print what the command did as JSON (for scripts).")
]


def actor(by: str | None) -> str:
    """The acting staff id: required without --api, where the token says who acts."""
    if by:
        return by
    if remote.url:
        return "api-token"
    raise typer.BadParameter("required without --api", param_hint="--by")


Opener = Callable[[], AbstractAsyncContextManager["Backend"]]


def configured_backend() -> AbstractAsyncContextManager["Backend"]:
    """The backend the global options and the settings choose (``--api`` or Temporal)."""
    return backend(get_settings())


async def send(
    journey: str, cmd: StaffCommand, as_json: bool, open_backend: Opener = configured_backend
) -> None:
    """Send the command to the journey and report what it did."""
    async with open_backend() as journeys:
        report(await journeys.send(journey, cmd), journey, as_json)


def report(result: CommandResult, journey_id: str, as_json: bool = False) -> None:
    """What a command did: for people, or the whole result as JSON."""
    if as_json:
        # The whole result, so a script need not read the recommendation back through show.
        render.print_json(result)
        return
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
    if result.instrument is not None:
        scored = result.instrument
        flags = f"; flags: {', '.join(scored.flags)}" if scored.flags else ""
        unknown = scored.cutoff_for is SexAtBirth.UNKNOWN
        cutoff = "; sex at birth unknown: lower cut-off" if unknown else ""
        render.console.print(f"{scored.code}: {scored.total} ({scored.band}{cutoff}){flags}")


@app.command()
@run
async def start(
    member: Members,
    by: By = None,
    sex_at_birth: Annotated[
        SexAtBirth,
        typer.Option(help="Where known: sex-specific screening cut-offs (AUDIT-C) use it."),
    ] = SexAtBirth.UNKNOWN,
    client: Annotated[
        str | None,
        typer.Option("--client", help="The client record's id (journeys client add), e.g. C-..."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Open a journey in intake with its care team; prints the new journey id."""
    opened = OpenJourney(care_team=parse_team(member), sex_at_birth=sex_at_birth, client_id=client)
    who = actor(by)
    async with backend(get_settings()) as journeys:
        created = await journeys.start(opened, who)
    if as_json:
        render.print_json({"journey_id": created})
    else:
        render.console.print(created, highlight=False)


@app.command()
@run
async def assess(
    journey: Journey,
    ratings: Annotated[
        str, typer.Option(help="ASAM ratings 0-4 per dimension: d1=3,d2=1,d3=2,d4=2,d5=3,d6=2.")
    ],
    by: By = None,
    reassessment: Reassessment = None,
    substance: Annotated[
        list[Substance] | None,
        typer.Option(
            help="A substance in use, where known (repeat); it chooses the withdrawal scales."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Record an ASAM assessment on the open reassessment and show the recommendation."""
    # Ratings are checked before anything is contacted, so bad input names its field.
    dimensions = _checked_ratings(ratings)
    cmd = RecordAssessment(
        dimensions=dimensions,
        assessed_by=actor(by),
        reassessment_id=reassessment,
        substances=substance or [],
    )
    await send(journey, cmd, as_json)


def _checked_ratings(spec: str) -> dict[str, int]:
    ratings = parse_ratings(spec)
    try:
        _ratings.validate_python(ratings)
    except ValidationError as exc:
        raise invalid("--ratings", describe_validation(exc)) from None
    return ratings


@app.command()
@run
async def decide(
    journey: Journey,
    by: By = None,
    accept: Annotated[bool, typer.Option("--accept", help="Accept the recommendation.")] = False,
    phase: Annotated[Phase | None, typer.Option(help="Override: target phase.")] = None,
    loc: Annotated[str | None, typer.Option(help="Override: target level of care.")] = None,
    reason: Annotated[
        str | None, typer.Option(help="Variance reason, required for an override.")
    ] = None,
    reassessment: Reassessment = None,
    as_json: AsJson = False,
) -> None:
    """Decide an assessed reassessment: accept the recommendation or override it."""
    if accept == (phase is not None):
        raise invalid("--accept/--phase", "give one: --accept, or --phase with --loc and --reason")
    cmd = DecideTransition(
        reassessment_id=reassessment or None,
        decided_by=actor(by),
        accept=accept,
        phase=phase,
        loc_code=loc,
        variance_reason=reason,
    )
    await send(journey, cmd, as_json)


@app.command()
@run
async def reassess(
    journey: Journey,
    reason: Annotated[str, typer.Option(help="Why the reassessment is needed.")],
    by: By = None,
    urgent: Annotated[bool, typer.Option(help="Mark it urgent.")] = False,
    as_json: AsJson = False,
) -> None:
    """Ask for a reassessment now."""
    priority = Priority.URGENT if urgent else Priority.ROUTINE
    cmd = RequestReassessment(requested_by=actor(by), reason=reason, priority=priority)
    await send(journey, cmd, as_json)


@app.command()
@run
async def event(
    journey: Journey,
    kind: Annotated[ClinicalEventKind, typer.Argument(help="What happened.")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Report a clinical event (relapse, positive screen, missed session, crisis...)."""
    await send(journey, ReportEvent(kind=kind, reported_by=actor(by)), as_json)


@app.command()
@run
async def measure(
    journey: Journey,
    code: Annotated[
        str, typer.Argument(help="PHQ-9, GAD-7, AUDIT, AUDIT-C, DAST-10, CIWA-Ar, COWS, PCL-5.")
    ],
    answers: Annotated[str, typer.Option(help="Item answers in order, e.g. 0,1,2,0,1,0,0,1,0.")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Score an instrument; totals, bands and flags are computed and triggers fire."""
    cmd = RecordInstrument(code=code, answers=_parse_answers(answers), recorded_by=actor(by))
    await send(journey, cmd, as_json)


def _parse_answers(spec: str) -> list[int]:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or not all(p.lstrip("-").isdigit() for p in parts):
        raise invalid("--answers", f"{spec!r}: expected integers separated by commas")
    return [int(p) for p in parts]


@app.command()
@run
async def done(
    journey: Journey,
    task_id: Annotated[str, typer.Argument(help="Task id from journeys show.")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Close a follow-up or outreach task."""
    await send(journey, CompleteTask(task_id=task_id, completed_by=actor(by)), as_json)


@app.command("check-in")
@run
async def check_in(
    journey: Journey,
    support: Annotated[
        list[RecoverySupport] | None,
        typer.Option("--support", help="A recovery support used since the last check-in (repeat)."),
    ] = None,
    use: Annotated[
        bool, typer.Option("--use", help="Substance use reported: counts as a relapse.")
    ] = False,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Record an aftercare check-in, with the recovery supports used and any use."""
    cmd = RecordCheckIn(recorded_by=actor(by), supports_attended=support or [], substance_use=use)
    await send(journey, cmd, as_json)


@app.command()
@run
async def team(
    journey: Journey,
    member: Members,
    reason: Annotated[str, typer.Option(help="Why the team changes.")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Replace the care team (open work of departed members is handed over)."""
    care_team = parse_team(member)
    cmd = ChangeCareTeam(changed_by=actor(by), care_team=care_team, reason=reason)
    await send(journey, cmd, as_json)


@app.command()
@run
async def plan(
    journey: Journey,
    reason: Annotated[str, typer.Option(help="Why the plan changes.")],
    goal: Annotated[list[str], typer.Option("--goal", help="ID|YYYY-MM-DD|description (repeat).")],
    achieved: Annotated[
        list[str] | None,
        typer.Option("--achieved", help="Mark this goal ID achieved in this version (repeat)."),
    ] = None,
    recovery_support: Annotated[
        list[RecoverySupport] | None,
        typer.Option("--recovery-support", help="A recovery support planned for (repeat)."),
    ] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Write a new treatment plan version with its goals (and which are achieved)."""
    goals = [_parse_goal(g) for g in goal]
    unknown = set(achieved or []) - {g.goal_id for g in goals}
    if unknown:
        raise invalid("--achieved", f"{sorted(unknown)[0]!r} is not one of the --goal ids")
    goals = [
        g.model_copy(update={"status": GoalStatus.ACHIEVED}) if g.goal_id in (achieved or []) else g
        for g in goals
    ]
    cmd = RevisePlan(
        author=actor(by), reason=reason, goals=goals, recovery_supports=recovery_support or []
    )
    await send(journey, cmd, as_json)


def _parse_goal(spec: str) -> Goal:
    parts = spec.split("|", 2)
    if len(parts) != 3:
        raise invalid("--goal", f"{spec!r}: expected ID|YYYY-MM-DD|description")
    try:
        target = date.fromisoformat(parts[1])
    except ValueError:
        raise invalid("--goal", f"{parts[1]!r} is not a date") from None
    return Goal(goal_id=parts[0], target_date=target, description=parts[2])


@app.command()
@run
async def sign(
    journey: Journey,
    version: Annotated[int, typer.Option(min=1, help="The plan version being signed.")],
    signer: Annotated[Signer, typer.Option(help="clinician, or client (recorded by staff).")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Sign the current plan version; the review completes with both signatures."""
    await send(journey, SignPlan(version=version, signer=signer, signed_by=actor(by)), as_json)


@app.command()
@run
async def discharge(
    journey: Journey,
    reason: Annotated[DischargeReason, typer.Option(help="Why the journey ends.")],
    by: By = None,
    hand_over: Annotated[
        list[str] | None,
        typer.Option(
            "--hand-over",
            help="ITEM=MEMBER: hand open work to a care-team member; it stays open after the "
            "journey ends (repeat).",
        ),
    ] = None,
    close: Annotated[
        list[str] | None,
        typer.Option(help="ITEM=REASON: close open work with a reason (repeat)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Discharge the client: the journey ends; routine open work is cancelled.

    Open urgent work (a safety follow-up, an urgent reassessment) needs a disposition for each
    item, --hand-over or --close; without one the journey refuses the discharge (exit 3).
    """
    dispositions = _dispositions(hand_over or [], close or [])
    cmd = Discharge(discharged_by=actor(by), reason=reason, dispositions=dispositions)
    await send(journey, cmd, as_json)


def _dispositions(hand_over: list[str], close: list[str]) -> list[WorkDisposition]:
    out: list[WorkDisposition] = []
    for option, specs, field in (("--hand-over", hand_over, "hand_to"),
                                 ("--close", close, "close_reason")):  # fmt: skip
        for spec in specs:
            item, sep, value = spec.partition("=")
            try:
                if not sep:
                    raise ValueError("expected ITEM=VALUE")
                out.append(WorkDisposition.model_validate({"item_id": item, field: value}))
            except ValueError as exc:
                message = describe_validation(exc) if isinstance(exc, ValidationError) else exc
                raise invalid(option, f"{spec!r}: {message}") from None
    return out
