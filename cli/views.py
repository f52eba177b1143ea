"""Read commands: show one journey, list journeys, a team member's feed."""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from cli import render
from cli.context import journey_service, read_model
from cli.errors import run
from models.journey import Phase
from models.state import JourneyState
from runtime.settings import get_settings

app = typer.Typer()

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _live(state: JourneyState) -> dict[str, Any]:
    """The live state without the policy body (its version identifies it)."""
    data = state.model_dump(mode="json", exclude={"policy", "outbox"})
    data["policy_version"] = f"{state.policy.policy_id}@{state.policy.version}"
    return data


@app.command()
@run
async def show(
    journey: Annotated[str, typer.Argument(help="Opaque journey id.")], as_json: Json = False
) -> None:
    """One journey: live state from its workflow, timeline from the read model."""
    settings = get_settings()
    async with journey_service(settings) as journeys:
        state = await journeys.state(journey)
    async with read_model(settings) as queries:
        timeline = await queries.get_timeline(journey)
    if as_json:
        render.print_json({"state": _live(state), "timeline": timeline})
        return
    _show_state(state)
    if timeline is None:
        render.console.print("[yellow]read model has no timeline for this journey yet[/yellow]")
        return
    data = timeline.model_dump()
    render.table(
        "Level-of-care segments",
        ["index", "phase", "loc_code", "effective_at", "ended_at", "decided_by", "reason"],
        data.get("segments", []),
    )
    render.table(
        "Tasks", ["task_id", "kind", "owner", "due_at", "priority", "status"], data.get("tasks", [])
    )
    render.table(
        "Events",
        ["seq", "occurred_at", "kind", "priority", "summary"],
        data.get("events", [])[-15:],
    )


def _show_state(state: JourneyState) -> None:
    active = state.active_reassessment
    render.fields(
        f"Journey {state.journey_id}",
        {
            "phase": state.phase.value,
            "level of care": state.loc_code,
            "discharge reason": state.discharge_reason,
            "policy": f"{state.policy.policy_id}@{state.policy.version}",
            "started": state.started_at,
            "next review due": state.next_review_due,
            "urgent": state.urgent,
            "care team": ", ".join(
                f"{m.member_id} ({m.role}{', primary' if m.primary else ''})"
                for m in state.care_team.members
            ),
            "plan version": state.plan.version if state.plan else None,
        },
    )
    if active is not None:
        rec = active.recommendation
        render.fields(
            f"Open reassessment {active.reassessment_id}",
            {
                "trigger": active.trigger.value,
                "reason": active.reason,
                "owner": active.owner,
                "due": active.due_at,
                "status": active.status.value,
                "escalated": active.escalated,
                "recommendation": f"{rec.loc_code or rec.phase.value}: {rec.rationale}"
                if rec
                else None,
            },
        )


@app.command("list")
@run
async def list_journeys(
    phase: Annotated[Phase | None, typer.Option(help="Only journeys in this phase.")] = None,
    loc: Annotated[str | None, typer.Option(help="Only journeys at this level of care.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only reviews past due.")] = False,
    member: Annotated[str | None, typer.Option(help="Only journeys with this team member.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
    as_json: Json = False,
) -> None:
    """Journeys from the read model, filtered."""
    async with read_model(get_settings()) as queries:
        rows = await queries.list_journeys(
            phase=phase,
            loc_code=loc,
            review_overdue_at=datetime.now(UTC) if overdue else None,
            member=member,
            limit=limit,
            offset=offset,
        )
    if as_json:
        render.print_json(rows)
        return
    render.table(
        "Journeys",
        [
            "journey_id",
            "phase",
            "loc_code",
            "primary_clinician",
            "next_review_due",
            "reassessment_due",
            "urgent",
        ],
        rows,
    )


@app.command()
@run
async def feed(
    member: Annotated[str, typer.Argument(help="Staff id whose feed to show.")],
    unread: Annotated[bool, typer.Option("--unread", help="Only unread notifications.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """A team member's notification feed, newest first."""
    async with read_model(get_settings()) as queries:
        items = await queries.feed(member, unread_only=unread, limit=limit)
    if as_json:
        render.print_json(items)
        return
    render.table(
        f"Feed of {member}", ["created_at", "journey_id", "kind", "priority", "summary"], items
    )
