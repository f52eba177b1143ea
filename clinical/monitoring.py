"""Required-instrument schedules (withdrawal monitoring) and their missed checks."""

from datetime import datetime, timedelta

from clinical import journal
from models.journey import EventKind
from models.policy import MonitoringRule
from models.state import JourneyState
from models.work import TaskKind, TaskStatus


def _rules_here(state: JourneyState) -> list[MonitoringRule]:
    return [r for r in state.policy.monitoring if state.loc_code in r.in_locs]


def end_schedules(state: JourneyState, now: datetime) -> None:
    """A level-of-care change ends every running schedule and its open collection work."""
    state.monitoring_due = {}
    pending = [t for t in journal.open_tasks(state) if t.kind is TaskKind.COLLECT_INSTRUMENT]
    journal.close_tasks(state, pending, TaskStatus.CANCELLED, now)


def recorded(state: JourneyState, code: str, now: datetime) -> None:
    """An administration starts (or restarts) the schedules of its instrument here."""
    due = dict(state.monitoring_due)
    for rule in _rules_here(state):
        if rule.instrument == code:
            due[rule.rule_id] = now + timedelta(hours=rule.every_hours)
            _close_collection(state, rule, now)
    state.monitoring_due = due


def _close_collection(state: JourneyState, rule: MonitoringRule, now: datetime) -> None:
    open_work = [
        t for t in journal.open_tasks(state, ref=rule.rule_id)
        if t.kind is TaskKind.COLLECT_INSTRUMENT
    ]  # fmt: skip
    journal.close_tasks(state, open_work, TaskStatus.DONE, now)


def next_miss(state: JourneyState) -> datetime | None:
    """When the earliest running schedule counts a check as missed."""
    rules = {r.rule_id: r for r in state.policy.monitoring}
    return min(
        (due + timedelta(hours=rules[rid].grace_hours) for rid, due in state.monitoring_due.items()
         if rid in rules),
        default=None,
    )  # fmt: skip


def miss_due_checks(state: JourneyState, now: datetime) -> bool:
    """Open collection work once per missed check; the schedule goes on from now."""
    rules = {r.rule_id: r for r in state.policy.monitoring}
    changed = False
    for rule_id, due in sorted(state.monitoring_due.items()):
        rule = rules.get(rule_id)
        if rule is None or due + timedelta(hours=rule.grace_hours) > now:
            continue
        state.monitoring_due = {
            **state.monitoring_due,
            rule_id: now + timedelta(hours=rule.every_hours),
        }
        journal.open_task(
            state, TaskKind.COLLECT_INSTRUMENT, rule.role, now + timedelta(hours=1),
            rule.priority, now, ref=rule.rule_id,
        )  # fmt: skip
        journal.emit(
            state, EventKind.MONITORING_MISSED, now,
            f"{rule.instrument} due {due.isoformat()} not recorded ({rule.rule_id})",
            rule.priority, {"rule_id": rule.rule_id, "instrument": rule.instrument},
        )  # fmt: skip
        changed = True
    return changed
