"""Read commands: show one journey, list journeys, a team member's feed."""

from typing import Annotated

import typer

from cli import render
from cli.commands import actor
from cli.context import backend, remote
from cli.errors import run
from cli.values import staff_id_value
from models.journey import Phase
from models.progress import ProgressView
from models.views import LiveJourney, Timeline
from runtime.settings import get_settings
from service.days import Due

app = typer.Typer()

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ReadBy = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Staff id of the person reading, for the audit log (required without --api; "
        "with --api: the token's owner).",
    ),
]


def reader(by: str | None) -> str | None:
    """Who the audit log names for a direct read: ``--by``, required and a staff id. Over
    ``--api`` the API audits the token's owner (None here)."""
    if remote.url:
        return None
    return staff_id_value(actor(by), "--by")


@app.command()
@run
async def show(
    journey: Annotated[str, typer.Argument(help="Opaque journey id.")],
    by: ReadBy = None,
    as_json: Json = False,
) -> None:
    """One journey: live state from its workflow, timeline from the read model."""
    async with backend(get_settings(), reader(by)) as journeys:
        live, timeline = await journeys.show(journey)
    if as_json:
        render.print_json({"state": live, "timeline": timeline})
        return
    _show_live(live)
    if timeline is None:
        render.console.print("[yellow]read model has no timeline for this journey yet[/yellow]")
        return
    _show_timeline(timeline)


def _show_timeline(timeline: Timeline) -> None:
    render.table(
        "Level-of-care segments",
        ["index", "phase", "loc_code", "effective_at", "ended_at", "decided_by", "reason"],
        timeline.segments,
    )
    render.table(
        "Tasks", ["task_id", "kind", "owner", "due_at", "priority", "status"], timeline.tasks
    )
    render.table(
        "Events", ["seq", "occurred_at", "kind", "priority", "summary"], timeline.events[-15:]
    )


def _show_live(live: LiveJourney) -> None:
    render.fields(
        f"Journey {live.journey_id}",
        {
            "phase": live.phase,
            "level of care": live.loc_code,
            "discharge reason": live.discharge_reason,
            "policy": live.policy_version,
            "started": live.started_at,
            "next review due": live.next_review_due,
            "urgent": live.urgent,
            "care team": ", ".join(
                f"{m.member_id} ({m.role}{', primary' if m.primary else ''})"
                for m in live.care_team.members
            ),
            "plan version": live.plan.version if live.plan else None,
            "completion waits for": ", ".join(live.completion_waiting_on) or None,
            "urgent work (discharge needs a disposition)": ", ".join(live.urgent_work) or None,
            "withdrawal checks due": ", ".join(
                f"{rule} by {due:%Y-%m-%d %H:%M}" for rule, due in live.monitoring_due.items()
            )
            or None,
        },
    )
    active = live.active_reassessment
    if active is None:
        return
    rec = active.recommendation
    render.fields(
        f"Open reassessment {active.reassessment_id}",
        {
            "trigger": active.trigger,
            "reason": active.reason,
            "owner": active.owner,
            "due": active.due_at,
            "status": active.status,
            "escalated": active.escalated,
            "recommendation": f"{rec.loc_code or rec.phase}: {rec.rationale}" if rec else None,
        },
    )


TREND_COLUMNS = ["code", "baseline", "latest", "change_percent", "response", "remission"]
TREND_COLUMNS += ["scores", "outcome_note"]


@app.command()
@run
async def progress(
    journey: Annotated[str, typer.Argument(help="Opaque journey id.")],
    by: ReadBy = None,
    as_json: Json = False,
) -> None:
    """Progress: days in recovery, milestones, goals over time, instrument trends, plan review."""
    async with backend(get_settings(), reader(by)) as journeys:
        view = await journeys.progress(journey)
    if as_json:
        render.print_json(view)
        return
    _print_progress(view)


def _print_progress(view: ProgressView) -> None:
    """The progress view as fields and tables on the terminal."""
    review = view.plan_review
    render.fields(
        f"Progress of {view.journey_id}",
        {
            "days in recovery": f"{view.days_in_recovery} (since {view.recovery_since:%Y-%m-%d})",
            "next milestone": f"{view.next_recovery_milestone_days} days"
            if view.next_recovery_milestone_days
            else None,
            "goals achieved": f"{view.goals_achieved} of {len(view.goals)}",
            "plan version": view.plan_version,
            "plan signed": view.plan_signed,
            "plan review due": (
                f"{review.due_at} ({'initial plan' if review.initial else 'review'})"
                if review
                else None
            ),
            "recovery supports planned": ", ".join(view.recovery_supports_planned) or None,
            "recovery supports attended": ", ".join(
                f"{k} x{n}" for k, n in view.recovery_supports_attended.items()
            )
            or None,
        },
    )
    render.table("Milestones", ["reached_at", "kind", "detail"], view.milestones)
    render.table(
        "Goals",
        ["goal_id", "status", "target_date", "history", "description"],
        [
            {**g.model_dump(exclude={"history"}),
             "history": " -> ".join(f"v{h.plan_version} {h.status}" for h in g.history)}
            for g in view.goals
        ],
    )  # fmt: skip
    render.table(
        "Instrument trends",
        TREND_COLUMNS,
        [
            {**t.model_dump(exclude={"points"}), "scores": " ".join(str(p[1]) for p in t.points)}
            for t in view.trends
        ],
    )


@app.command("list")
@run
async def list_journeys(
    phase: Annotated[Phase | None, typer.Option(help="Only journeys in this phase.")] = None,
    loc: Annotated[str | None, typer.Option(help="Only journeys at this level of care.")] = None,
    due: Annotated[
        Due | None,
        typer.Option(help="Only journeys with a review or reassessment due then (program days)."),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Same as --due past_due.")] = False,
    member: Annotated[str | None, typer.Option(help="Only journeys with this team member.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
    by: ReadBy = None,
    as_json: Json = False,
) -> None:
    """Journeys from the read model, filtered."""
    if overdue and due not in (None, Due.PAST_DUE):
        raise typer.BadParameter("--overdue means --due past_due; give one", param_hint="--due")
    due = Due.PAST_DUE if overdue else due
    async with backend(get_settings(), reader(by)) as journeys:
        rows = await journeys.list_journeys(phase, loc, due, member, limit, offset)
    if as_json:
        render.print_json(rows)
        return
    columns = ["journey_id", "phase", "loc_code", "primary_clinician", "next_review_due"]
    render.table("Journeys", [*columns, "reassessment_due", "urgent"], rows)


@app.command()
@run
async def feed(
    member: Annotated[str, typer.Argument(help="Staff id whose feed to show.")],
    unread: Annotated[bool, typer.Option("--unread", help="Only unread notifications.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 50,
    by: ReadBy = None,
    as_json: Json = False,
) -> None:
    """A team member's notification feed, newest first."""
    async with backend(get_settings(), reader(by)) as journeys:
        items = await journeys.feed(member, unread, limit)
    if as_json:
        render.print_json(items)
        return
    columns = ["created_at", "journey_id", "kind", "priority", "summary"]
    render.table(f"Feed of {member}", columns, items)
