"""Withdrawal monitoring: required scales at monitored levels of care, and missed checks.

Under the current rules a client entering a monitored level is watched from the first hour:
each scale the level requires (chosen by the substances recorded at assessment) is due within
the rule's first-check hours, and every score sets the next due time by the score
(``MonitoringRule.interval_hours``). A move between monitored levels re-times the running
schedules to the new level; only leaving monitored levels ends them. Journeys recorded under the
old rules keep the old behaviour: a schedule starts with the first score and ends at every
level-of-care change.
"""

from datetime import datetime, timedelta

from clinical import journal
from models.journey import EventKind
from models.policy import MonitoringRule
from models.state import SAFETY_RULES, JourneyState, Measurement
from models.work import TaskKind, TaskStatus


def _rules_here(state: JourneyState) -> list[MonitoringRule]:
    return [r for r in state.policy.monitoring if state.loc_code in r.in_locs]


def required_rules(state: JourneyState) -> list[MonitoringRule]:
    """The scales the current level requires for this client's recorded substances.

    With no substance recorded, or none that any of the level's scales names, every scale of
    the level runs: a client is never left unwatched because of what was (not) recorded.
    """
    here = _rules_here(state)
    if not state.substances:
        return here
    recorded = set(state.substances)
    matching = [r for r in here if not r.substances or recorded & set(r.substances)]
    return matching or here


def end_schedules(state: JourneyState, now: datetime) -> None:
    """End every running schedule.

    Open collection work for a missed check stays open under the current rules (it is urgent
    work: recording the scale or completing the task closes it); the old rules cancelled it.
    """
    state.monitoring_due = {}
    state.monitoring_since = None
    if state.rules < SAFETY_RULES:
        pending = [t for t in journal.open_tasks(state) if t.kind is TaskKind.COLLECT_INSTRUMENT]
        journal.close_tasks(state, pending, TaskStatus.CANCELLED, now)


def level_changed(state: JourneyState, now: datetime) -> None:
    """After a level-of-care change: re-time (current rules) or end (old rules) schedules."""
    if state.rules >= SAFETY_RULES:
        sync(state, now, retime=True)
    else:
        end_schedules(state, now)


def sync(state: JourneyState, now: datetime, *, retime: bool = False) -> bool:
    """Run exactly the schedules the level requires; True when they changed.

    Missing schedules start (first check due within the rule's hours, never later than a
    schedule of the same scale already running); schedules no longer required end (open
    collection work for a missed check stays owed). ``retime`` recomputes every due time for
    the new level.
    """
    if state.rules < SAFETY_RULES:
        return False
    rules = required_rules(state)
    if not rules:
        changed = bool(state.monitoring_due) or state.monitoring_since is not None
        if changed:
            end_schedules(state, now)
        return changed
    since = state.monitoring_since or now
    running: dict[str, datetime] = {}
    rule_of = {r.rule_id: r for r in state.policy.monitoring}
    for rule_id, due in state.monitoring_due.items():
        instrument = rule_of[rule_id].instrument if rule_id in rule_of else None
        if instrument is not None:
            running[instrument] = min(due, running.get(instrument, due))
    due_by_rule: dict[str, datetime] = {}
    for rule in rules:
        if rule.rule_id in state.monitoring_due and not retime:
            due_by_rule[rule.rule_id] = state.monitoring_due[rule.rule_id]
        else:
            due_by_rule[rule.rule_id] = _first_due(state, rule, since, now, running)
    changed = due_by_rule != state.monitoring_due or state.monitoring_since != since
    state.monitoring_due, state.monitoring_since = due_by_rule, since
    return changed


def _first_due(
    state: JourneyState,
    rule: MonitoringRule,
    since: datetime,
    now: datetime,
    running: dict[str, datetime],
) -> datetime:
    last = _last_score(state, rule.instrument, since)
    if last is not None:
        hours_in = (last.recorded_at - since).total_seconds() / 3600
        due = last.recorded_at + timedelta(hours=rule.interval_hours(last.total, hours_in))
    else:
        due = now + timedelta(hours=rule.first_check)
        if rule.instrument in running:
            due = min(due, running[rule.instrument])
    return max(due, now)


def _last_score(state: JourneyState, instrument: str, since: datetime) -> Measurement | None:
    return next(
        (m for m in reversed(state.measurements)
         if m.code == instrument and m.recorded_at >= since),
        None,
    )  # fmt: skip


def _instrument(state: JourneyState, rule_id: str | None) -> str | None:
    rule = next((r for r in state.policy.monitoring if r.rule_id == rule_id), None)
    return rule.instrument if rule is not None else None


def recorded(state: JourneyState, code: str, total: int, now: datetime) -> None:
    """A score sets the next due time of its scale here and closes its collection work."""
    current = state.rules >= SAFETY_RULES
    rules = required_rules(state) if current else _rules_here(state)
    since = state.monitoring_since or now
    hours_in = (now - since).total_seconds() / 3600
    due = dict(state.monitoring_due)
    for rule in rules:
        if rule.instrument == code:
            every = rule.interval_hours(total, hours_in) if current else rule.every_hours
            due[rule.rule_id] = now + timedelta(hours=every)
    if current:
        open_work = [
            t for t in journal.open_tasks(state)
            if t.kind is TaskKind.COLLECT_INSTRUMENT and _instrument(state, t.ref) == code
        ]  # fmt: skip
        journal.close_tasks(state, open_work, TaskStatus.DONE, now)
    else:
        for rule in rules:
            if rule.instrument == code:
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
    changed = sync(state, now)
    for rule_id, due in sorted(state.monitoring_due.items()):
        rule = rules.get(rule_id)
        if rule is None or due + timedelta(hours=rule.grace_hours) > now:
            continue
        state.monitoring_due = {
            **state.monitoring_due,
            rule_id: now + timedelta(hours=_after_miss(state, rule, now)),
        }
        if not _owed(state, rule):
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


def _owed(state: JourneyState, rule: MonitoringRule) -> bool:
    """Whether collection work for this scale is already open (current rules open one, not
    one per missed check: each further miss still alerts the team)."""
    if state.rules < SAFETY_RULES:
        return False
    return any(
        t.kind is TaskKind.COLLECT_INSTRUMENT and _instrument(state, t.ref) == rule.instrument
        for t in journal.open_tasks(state)
    )


def _after_miss(state: JourneyState, rule: MonitoringRule, now: datetime) -> int:
    """After a missed check the next is due as the last score says (else ``every_hours``).

    The open collection work already climbs the escalation ladder, so an unscored client does
    not raise a new alert every first-check interval.
    """
    if state.rules < SAFETY_RULES:
        return rule.every_hours
    since = state.monitoring_since or now
    last = _last_score(state, rule.instrument, since)
    if last is None:
        return rule.every_hours
    return rule.interval_hours(last.total, (now - since).total_seconds() / 3600)
