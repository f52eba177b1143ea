"""Policy migration of a running journey: a reviewed plan first, then the change."""

from datetime import datetime, timedelta

from clinical import journal, plan_review
from clinical.errors import RuleViolation
from clinical.policy_safety import safety_changes, unguarded_critical_items
from models.commands import CommandResult, MigratePolicy, MigrationPlan
from models.errors import RejectionCode
from models.journey import EventKind, Priority
from models.policy import Policy
from models.state import SAFETY_RULES, JourneyState


def _label(policy: Policy) -> str:
    return f"{policy.policy_id}@{policy.version}"


def plan_migration(state: JourneyState, target: Policy) -> MigrationPlan:
    """What moving this journey to ``target`` changes, or why it cannot move (pure)."""
    plan = MigrationPlan(
        journey_id=state.journey_id,
        from_version=_label(state.policy),
        to_version=_label(target),
        changes=[],
        next_review_due=state.next_review_due,
    )
    blocked = _blocker(state, target)
    if blocked is not None:
        return plan.model_copy(update={"blocked": blocked})
    changes, due = _review_change(state, target)
    changes += _plan_review_changes(state, target)
    changes += _rule_changes(state.policy, target)
    safety = safety_changes(state.policy, target) + unguarded_critical_items(target)
    return plan.model_copy(
        update={"changes": changes, "next_review_due": due, "safety_changes": safety}
    )


def _blocker(state: JourneyState, target: Policy) -> str | None:
    if not state.phase.is_open:
        return f"journey is {state.phase}"
    if _label(state.policy) == _label(target):
        return "already on this version"
    if state.loc_code is not None and target.level(state.loc_code) is None:
        return f"level of care {state.loc_code} is not in {_label(target)}"
    if set(target.dimensions) != set(state.policy.dimensions) and state.active_reassessment:
        return "the dimension set changes while a reassessment is open"
    return None


def _review_change(state: JourneyState, target: Policy) -> tuple[list[str], datetime | None]:
    old = state.policy.level(state.loc_code) if state.loc_code else None
    new = target.level(state.loc_code) if state.loc_code else None
    due = state.next_review_due
    if old is None or new is None or old.review_interval_days == new.review_interval_days:
        return [], due
    change = (
        f"review interval at {state.loc_code}: {old.review_interval_days} -> "
        f"{new.review_interval_days} days"
    )
    if due is not None:
        due += timedelta(days=new.review_interval_days - old.review_interval_days)
    return [change], due


def _plan_review_changes(state: JourneyState, target: Policy) -> list[str]:
    old = state.policy.level(state.loc_code) if state.loc_code else None
    new = target.level(state.loc_code) if state.loc_code else None
    if old is None or new is None:
        return []
    changes = []
    for field, unit in (("initial_plan_due_hours", "h"), ("plan_review_days", "days")):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            what = field.replace("_", " ")
            changes.append(
                f"{what} at {state.loc_code}: {before or 'none'} -> {after or 'none'} {unit}"
            )
    if state.plan_review is None and (new.initial_plan_due_hours or new.plan_review_days):
        changes.append("a plan review opens under the new intervals")
    return changes


def _rule_changes(old: Policy, new: Policy) -> list[str]:
    changes: list[str] = []
    old_triggers = {t.trigger_id for t in old.triggers}
    new_triggers = {t.trigger_id for t in new.triggers}
    changes += [f"trigger added: {t}" for t in sorted(new_triggers - old_triggers)]
    changes += [f"trigger removed: {t}" for t in sorted(old_triggers - new_triggers)]
    if old.aftercare != new.aftercare:
        changes.append("aftercare schedule changes")
    if old.routing != new.routing:
        changes.append("routing of events to roles changes")
    if old.placement != new.placement:
        changes.append("placement rules change")
    return changes


def check_migrate_policy(state: JourneyState, cmd: MigratePolicy) -> MigrationPlan:
    """Refuse a blocked migration, and one that weakens safety rules without a reason."""
    plan = plan_migration(state, cmd.policy)
    if plan.blocked is not None:
        raise RuleViolation(RejectionCode.MIGRATION_BLOCKED, f"policy: {plan.blocked}")
    # Journeys recorded before these rules replay migrations their code accepted.
    if state.rules < SAFETY_RULES:
        return plan
    unguarded = unguarded_critical_items(cmd.policy)
    if unguarded:
        # No reason accepts this: a policy file like it does not even load.
        raise RuleViolation(RejectionCode.MIGRATION_BLOCKED, f"policy: {unguarded[0]}")
    if plan.safety_changes and cmd.accept_safety_change is None:
        raise RuleViolation(
            RejectionCode.SAFETY_CHANGE_NOT_ACCEPTED,
            "accept_safety_change: the new policy removes or weakens safety rules ("
            + "; ".join(plan.safety_changes)[:300]
            + "); give the reason they are accepted",
        )
    return plan


def apply_migrate_policy(state: JourneyState, cmd: MigratePolicy, now: datetime) -> CommandResult:
    """Switch the journey's policy and reschedule its next review."""
    plan = check_migrate_policy(state, cmd)
    state.policy = cmd.policy
    state.next_review_due = plan.next_review_due
    # The new intervals apply from now on: an open review can only come forward, a journey
    # without one gets one.
    plan_review.on_level_entered(state, now)
    refs = {"from": plan.from_version, "to": plan.to_version, "by": cmd.migrated_by}
    summary = f"Policy {plan.from_version} -> {plan.to_version}: {cmd.reason}"
    priority = Priority.ROUTINE
    if cmd.accept_safety_change is not None and plan.safety_changes:
        summary = _safety_summary(plan, cmd.accept_safety_change, cmd.reason)
        refs["safety_changes"] = str(len(plan.safety_changes))
        # A weaker safety net on a running journey is news the team should see at once.
        priority = Priority.URGENT
    event = journal.emit(state, EventKind.POLICY_MIGRATED, now, summary[:500], priority, refs)
    return CommandResult(seq=event.seq, message="policy migrated")


def _safety_summary(plan: MigrationPlan, accepted: str, reason: str) -> str:
    """Versions and the accepted reason always whole (each is short); the rest as room allows."""
    head = (
        f"Policy {plan.from_version[:100]} -> {plan.to_version[:100]}; "
        f"{len(plan.safety_changes)} safety change(s) accepted: {accepted}"
    )
    return f"{head}; {reason}; {'; '.join(plan.safety_changes)}"
