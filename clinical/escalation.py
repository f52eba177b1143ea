"""The escalation ladder for overdue work: owner, then supervisor, then clinical director.

Every open task climbs the policy's ladder while it stays open past its due time; each rung
fires once per task, at ``due_at + after_hours``, to the people it names, never again. Overdue
reassessments and plan reviews keep their own event kinds (``reassessment_overdue``,
``plan_review_overdue``); other work is ``work_overdue``. Nobody in a role on the team (a team
without a clinical director): the rung goes to the policy's escalation role, so an escalation
never reaches no one.
"""

from datetime import datetime, timedelta

from clinical import journal
from models.journey import EventKind, Priority
from models.policy import EscalationRung
from models.state import JourneyState
from models.work import Task, TaskKind

_KINDS = {
    TaskKind.COMPLETE_REASSESSMENT: EventKind.REASSESSMENT_OVERDUE,
    TaskKind.PLAN_REVIEW: EventKind.PLAN_REVIEW_OVERDUE,
}


def active(state: JourneyState) -> bool:
    """Whether this journey's policy has a ladder (else the legacy single escalation runs)."""
    return bool(state.policy.escalation_ladder)


def _rung_at(state: JourneyState, task: Task) -> datetime | None:
    ladder = state.policy.escalation_ladder
    if task.escalation_rung >= len(ladder):
        return None
    return task.due_at + timedelta(hours=ladder[task.escalation_rung].after_hours)


def next_time(state: JourneyState) -> datetime | None:
    """When the next rung of any open task falls."""
    times = [t for t in (_rung_at(state, task) for task in journal.open_tasks(state)) if t]
    return min(times, default=None)


def people(state: JourneyState, task: Task, rung: EscalationRung) -> list[str]:
    """Who a rung reaches on this journey's current team."""
    if rung.to == "owner":
        on_team = {m.member_id for m in state.care_team.members}
        return [task.owner] if task.owner in on_team else [state.care_team.primary.member_id]
    holders = state.care_team.with_role(rung.to) or state.care_team.with_role(
        state.policy.escalation_role
    )
    return [m.member_id for m in holders] or [state.care_team.primary.member_id]


def due_work(state: JourneyState, now: datetime) -> bool:
    """Climb every rung whose time has come (a late timer climbs each one, in order)."""
    ladder = state.policy.escalation_ladder
    changed = False
    for task in journal.open_tasks(state):
        while (at := _rung_at(state, task)) is not None and at <= now:
            index = task.escalation_rung
            rung = ladder[index]
            task.escalation_rung += 1
            task.updated_seq = state.seq + 1
            _mark(state, task, index)
            target = "owner" if rung.to == "owner" else str(rung.to)
            journal.emit(
                state,
                _KINDS.get(task.kind, EventKind.WORK_OVERDUE),
                now,
                f"{task.kind.value.replace('_', ' ').capitalize()} overdue since "
                f"{task.due_at.isoformat()}: escalation {index + 1} of {len(ladder)} "
                f"({target.replace('_', ' ')})",
                Priority.URGENT,
                {"task_id": task.task_id, "rung": str(index + 1)},
                to=people(state, task, rung),
            )
            changed = True
    return changed


def _mark(state: JourneyState, task: Task, index: int) -> None:
    """Keep the reassessment and plan-review flags the views show in step with the ladder."""
    if task.kind is TaskKind.COMPLETE_REASSESSMENT and index >= 1:
        reassessment = state.active_reassessment
        if reassessment is not None and reassessment.reassessment_id == task.ref:
            reassessment.escalated = True
    if task.kind is TaskKind.PLAN_REVIEW and state.plan_review is not None:
        state.plan_review.overdue_notified = True
