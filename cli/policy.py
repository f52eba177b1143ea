"""``journeys policy``: check a policy file, and migrate running journeys to it."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import render
from cli.context import journey_service, read_model
from cli.errors import fail, run
from models.commands import MigratePolicy, MigrationPlan
from models.errors import RejectionCode
from models.journey import Phase
from models.policy import Policy
from runtime.settings import get_settings

# Imported inside the commands (YAML, SQLAlchemy, Temporal): the CLI starts without them.
if TYPE_CHECKING:
    from readmodel.access import AccessRepository
    from readmodel.queries import JourneyQueries
    from service.journeys import JourneyService

app = typer.Typer(
    help="Program policies: validate a file, migrate running journeys.", no_args_is_help=True
)
OPEN_PHASES = [Phase.INTAKE, Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE]
PAGE = 500
# Audit outcome of a run refused because a safety change had no reason.
SAFETY_REFUSED = "safety_change_not_accepted"


@app.command("check")
def check(path: Annotated[Path, typer.Argument(help="Policy file (YAML).")]) -> None:
    """Validate a policy file and print its version."""
    policy = run(_load)(path)
    levels, triggers = len(policy.levels_of_care), len(policy.triggers)
    render.console.print(
        f"ok  {policy.policy_id}@{policy.version}: {levels} levels of care, {triggers} triggers"
    )


async def _load(path: Path) -> Policy:
    from clinical.policy_loader import load_policy

    return load_policy(path)


@app.command("migrate")
@run
async def migrate(
    to: Annotated[Path, typer.Option("--to", help="The new policy file.")],
    reason: Annotated[str, typer.Option(help="Why (recorded on every migrated journey).")],
    by: Annotated[str, typer.Option("--by", help="Staff id of the person migrating.")],
    journey: Annotated[
        list[str] | None, typer.Option("--journey", help="A journey to migrate (repeat).")
    ] = None,
    all_open: Annotated[bool, typer.Option("--all-open", help="Every open journey.")] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Apply; without it nothing changes (dry run).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plans as JSON.")] = False,
    accept_safety_change: Annotated[
        str | None,
        typer.Option(
            "--accept-safety-change",
            metavar="REASON",
            help="Apply even though safety triggers are removed or weakened (the dry run lists "
            "them), for this reason; recorded on each journey and in the audit log.",
        ),
    ] = None,
) -> None:
    """Show what moving journeys to a new policy changes; with --apply, move them (audited)."""
    if bool(journey) == all_open:
        raise typer.BadParameter("give --journey (repeatable) or --all-open")
    from clinical.policy_loader import load_policy
    from readmodel.access import AccessRepository

    target = load_policy(to)
    cmd = MigratePolicy(
        policy=target, migrated_by=by, reason=reason, accept_safety_change=accept_safety_change
    )
    settings = get_settings()
    async with journey_service(settings) as journeys, read_model(settings) as queries:
        ids = list(journey or []) or await _open_journeys(queries)
        plans = [await journeys.preview_migration(j, target) for j in ids]
        if as_json:
            render.print_json(plans)
        else:
            _print(plans, apply)
        if not apply:
            return
        access = AccessRepository(queries.sessions)
        await _refuse_unaccepted(access, plans, cmd)
        moved = await _apply(journeys, access, plans, cmd)
    render.console.print(
        f"migrated {moved} of {len(plans)} journeys to {target.policy_id}@{target.version}"
    )
    if moved < len([p for p in plans if p.blocked is None]):
        raise fail("some migrations were refused; see above")


async def _open_journeys(queries: "JourneyQueries") -> list[str]:
    ids: list[str] = []
    for phase in OPEN_PHASES:
        offset = 0
        while True:
            rows = await queries.list_journeys(phase=phase, limit=PAGE, offset=offset)
            ids += [r.journey_id for r in rows]
            if len(rows) < PAGE:
                break
            offset += PAGE
    return ids


async def _refuse_unaccepted(
    access: "AccessRepository", plans: list[MigrationPlan], cmd: MigratePolicy
) -> None:
    """Move nothing while a safety change has no reason: the whole run is refused (audited)."""
    unaccepted = [p for p in plans if p.blocked is None and p.safety_changes]
    if cmd.accept_safety_change is not None or not unaccepted:
        return
    for plan in unaccepted:
        await access.record(
            cmd.migrated_by, "policy.migrate", plan.journey_id, SAFETY_REFUSED,
            detail="; ".join(plan.safety_changes),
        )  # fmt: skip
    from service.journeys import CommandRejectedError

    # Refused like a command the journey refuses (exit 3), before any journey is sent one.
    raise CommandRejectedError(
        RejectionCode.SAFETY_CHANGE_NOT_ACCEPTED,
        f"{len(unaccepted)} journey(s) would lose or weaken safety rules "
        f"({'; '.join(unaccepted[0].safety_changes)}); nothing was migrated. Review them and "
        "give --accept-safety-change REASON to apply",
    )


async def _apply(
    journeys: "JourneyService",
    access: "AccessRepository",
    plans: list[MigrationPlan],
    cmd: MigratePolicy,
) -> int:
    from service.journeys import CommandRejectedError

    moved = 0
    for plan in plans:
        if plan.blocked is not None:
            continue
        try:
            await journeys.send(plan.journey_id, cmd)
        except CommandRejectedError as exc:
            render.console.print(f"[red]{plan.journey_id}: refused: {exc.message}[/red]")
            await access.record(cmd.migrated_by, "policy.migrate", plan.journey_id, "rejected")
            continue
        await access.record(
            cmd.migrated_by, "policy.migrate", plan.journey_id, "ok", detail=_accepted(plan, cmd)
        )
        moved += 1
    return moved


def _accepted(plan: MigrationPlan, cmd: MigratePolicy) -> str | None:
    if not plan.safety_changes or cmd.accept_safety_change is None:
        return None
    changes = "; ".join(plan.safety_changes)
    return f"safety changes accepted: {cmd.accept_safety_change} ({changes})"


def _print(plans: list[MigrationPlan], apply: bool) -> None:
    title = "Policy migration" + ("" if apply else " (dry run: nothing changes without --apply)")
    rows = [
        {
            "journey_id": p.journey_id,
            "from": p.from_version,
            "to": p.to_version,
            "changes": "; ".join(p.changes) or "none",
            "safety_changes": "; ".join(p.safety_changes) or "none",
            "next_review_due": p.next_review_due,
            "blocked": p.blocked,
        }
        for p in plans
    ]
    columns = ["journey_id", "from", "to", "changes", "safety_changes", "next_review_due"]
    render.table(title, [*columns, "blocked"], rows)
    weakened = sum(1 for p in plans if p.blocked is None and p.safety_changes)
    if weakened:
        render.console.print(
            f"[red]{weakened} journey(s) lose or weaken safety rules: applying needs "
            "--accept-safety-change REASON[/red]"
        )
