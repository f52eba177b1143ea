"""Safety rules a policy cannot drop by accident (pure functions over policy data).

A critical item (PHQ-9 item 9: thoughts of self-harm) is a safety flag on its own (CLINICAL.md),
so a policy file must have a trigger on that flag alone, at every level of care. A safety
trigger is one on a critical-item flag or one of urgent priority; moving a running journey to
a policy that removes or weakens one needs a reason recorded by the person migrating.
"""

from models.instruments import InstrumentRegistry
from models.journey import Priority
from models.policy import Policy, TriggerCondition, TriggerRule

# Higher is stronger. Each trigger action does different work (a follow-up task for the
# primary clinician, or a reassessment of the level of care), so any change of action counts.
PRIORITY_RANK = {Priority.ROUTINE: 0, Priority.URGENT: 1}
# The fields compared below; a new trigger field must be added here (a test checks) so that
# nobody can weaken a trigger through a field this module does not look at.
COMPARED_TRIGGER_FIELDS = {"trigger_id", "instrument", "when", "in_locs", "action", "priority",
                           "due_hours"}  # fmt: skip
COMPARED_CONDITION_FIELDS = {"flag", "total_at_least", "rise_at_least"}


def guards(rule: TriggerRule, instrument: str, flag: str) -> bool:
    """Whether ``rule`` fires on the flag alone, whatever the total and level of care."""
    when = rule.when
    return (
        rule.instrument == instrument
        and when.flag == flag
        and when.total_at_least is None
        and when.rise_at_least is None
        and rule.in_locs is None
    )


def unguarded_critical_items(policy: Policy) -> list[str]:
    """Critical items of the policy's instruments that no trigger guards on its own."""
    missing = []
    for code, item, flag in _critical_items(policy.instruments):
        if not any(guards(r, code, flag) for r in policy.triggers):
            missing.append(
                f"triggers: {code} item {item} is critical (flag {flag}) but no trigger fires "
                f"on {flag} alone at every level of care"
            )
    return missing


def is_safety_trigger(policy: Policy, rule: TriggerRule) -> bool:
    """A trigger on a critical-item flag of its instrument, or one of urgent priority."""
    flags = {f for code, _, f in _critical_items(policy.instruments) if code == rule.instrument}
    return rule.priority is Priority.URGENT or rule.when.flag in flags


def weakenings(old: TriggerRule, new: TriggerRule) -> list[str]:
    """How ``new`` does less than ``old``: fires less often, later, less urgently, or else."""
    found = []
    if new.instrument != old.instrument:
        found.append(f"instrument {old.instrument} -> {new.instrument}")
    found += _condition_weakenings(old.when, new.when)
    if new.in_locs is not None and (
        old.in_locs is None or not set(old.in_locs) <= set(new.in_locs)
    ):
        before = ", ".join(old.in_locs) if old.in_locs is not None else "every level"
        found.append(f"in_locs {before} -> {', '.join(new.in_locs) or 'none'}")
    if new.action is not old.action:
        found.append(f"action {old.action} -> {new.action}")
    if PRIORITY_RANK[new.priority] < PRIORITY_RANK[old.priority]:
        found.append(f"priority {old.priority} -> {new.priority}")
    if new.due_hours > old.due_hours:
        found.append(f"due_hours {old.due_hours} -> {new.due_hours}")
    return found


def _condition_weakenings(old: TriggerCondition, new: TriggerCondition) -> list[str]:
    """Parts of ``new`` that do not hold whenever ``old`` holds (all parts must hold)."""
    found = []
    if new.flag is not None and new.flag != old.flag:
        found.append(f"flag {old.flag or 'none'} -> {new.flag}")
    for name in ("total_at_least", "rise_at_least"):
        before, after = getattr(old, name), getattr(new, name)
        if after is not None and (before is None or after > before):
            found.append(f"{name} {before if before is not None else 'none'} -> {after}")
    return found


def safety_changes(old: Policy, new: Policy) -> list[str]:
    """Every safety trigger or critical item of ``old`` that ``new`` removes or weakens.

    A safety trigger is kept when the trigger of the same id, or any other trigger, fires
    whenever it fired and does the same work at least as soon and as urgently. Identical
    policies, and changes that only strengthen, give an empty list.
    """
    changes = _critical_item_changes(old.instruments, new.instruments)
    by_id = {r.trigger_id: r for r in new.triggers}
    for rule in old.triggers:
        if not is_safety_trigger(old, rule):
            continue
        if any(not weakenings(rule, r) for r in new.triggers):
            continue
        same = by_id.get(rule.trigger_id)
        if same is None:
            changes.append(f"trigger {rule.trigger_id} removed")
        else:
            changes.append(
                f"trigger {rule.trigger_id} weakened: {'; '.join(weakenings(rule, same))}"
            )
    return changes


def _critical_item_changes(
    old: InstrumentRegistry | None, new: InstrumentRegistry | None
) -> list[str]:
    changes = []
    for definition in old.instruments if old is not None else []:
        now = new.get(definition.code) if new is not None else None
        for before in definition.critical_items:
            items = now.critical_items if now else []
            after = next((c for c in items if (c.item, c.flag) == (before.item, before.flag)), None)
            where = f"{definition.code} item {before.item}"
            if after is None:
                changes.append(f"{where} no longer raises {before.flag}")
            elif after.at_least > before.at_least:
                changes.append(
                    f"{where} raises {before.flag} from {after.at_least} (was {before.at_least})"
                )
    return changes


def _critical_items(registry: InstrumentRegistry | None) -> list[tuple[str, int, str]]:
    if registry is None:
        return []
    return [(i.code, c.item, c.flag) for i in registry.instruments for c in i.critical_items]
