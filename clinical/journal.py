"""State primitives shared by commands and timers: events, ids, reassessments, tasks."""

from datetime import datetime, timedelta

from clinical.routing import recipients
from models.care import Role
from models.clinical import Reassessment, ReassessmentStatus, ReassessmentTrigger
from models.journey import EventKind, JourneyEvent, LocSegment, Phase, Priority
from models.state import BOUNDED_WORK_RULES, JourneyState
from models.work import Task, TaskKind, TaskStatus

# Longest event summary (JourneyEvent.summary is ShortText).
SUMMARY_LIMIT = 500
# Closed reassessments and tasks kept in workflow state; the read model keeps them all.
KEEP_CLOSED = 10


def emit(
    state: JourneyState,
    kind: EventKind,
    now: datetime,
    summary: str,
    priority: Priority = Priority.ROUTINE,
    refs: dict[str, str] | None = None,
    to: list[str] | None = None,
) -> JourneyEvent:
    """Append an event to the outbox, routed to the care team by policy (or to ``to``)."""
    state.seq += 1
    event = JourneyEvent(
        seq=state.seq,
        kind=kind,
        occurred_at=now,
        priority=priority,
        # Summaries name ids and reasons whose lengths add up: an event over the limit would
        # fail the workflow task and stall the journey, so the summary is cut, never refused.
        summary=summary[:SUMMARY_LIMIT],
        refs=refs or {},
        recipients=sorted(set(to))
        if to is not None
        else recipients(state.policy, state.care_team, kind, priority, state.phase),
    )
    state.outbox.append(event)
    return event


def new_id(state: JourneyState, prefix: str) -> str:
    """A deterministic id unique within the journey and across journeys."""
    number = state.next_id
    state.next_id += 1
    return f"{state.journey_id}.{prefix}{number}"


def open_reassessment(
    state: JourneyState,
    trigger: ReassessmentTrigger,
    reason: str,
    now: datetime,
    due_in: timedelta,
    priority: Priority = Priority.ROUTINE,
) -> Reassessment:
    """Open a reassessment, or tighten the active one: reassessments never stack."""
    due_at = now + due_in
    active = state.active_reassessment
    if active is not None:
        _tighten(state, active, due_at, priority)
        return active
    owner = state.care_team.primary
    reassessment = Reassessment(
        reassessment_id=new_id(state, "R"),
        trigger=trigger,
        reason=reason,
        owner=owner.member_id,
        owner_role=owner.role,
        opened_at=now,
        due_at=due_at,
        priority=priority,
    )
    state.reassessments.append(reassessment)
    open_task(
        state,
        TaskKind.COMPLETE_REASSESSMENT,
        owner.role,
        due_at,
        priority,
        now,
        ref=reassessment.reassessment_id,
    )
    emit(
        state,
        EventKind.REASSESSMENT_OPENED,
        now,
        f"Reassessment opened ({trigger}): {reason}",
        priority,
        {"reassessment_id": reassessment.reassessment_id},
    )
    return reassessment


def _tighten(
    state: JourneyState, active: Reassessment, due_at: datetime, priority: Priority
) -> None:
    """Bring the active reassessment forward to ``due_at`` and raise it to urgent, never back."""
    tightened = due_at < active.due_at
    raised = priority is Priority.URGENT and active.priority is not Priority.URGENT
    if tightened:
        active.due_at = due_at
        active.escalated = False
    if raised:
        active.priority = Priority.URGENT
    if tightened or raised:
        _retime_task(state, active)


def _retime_task(state: JourneyState, reassessment: Reassessment) -> None:
    for task in open_tasks(state, ref=reassessment.reassessment_id):
        task.due_at = reassessment.due_at
        task.priority = reassessment.priority
        task.updated_seq = state.seq + 1


def open_task(
    state: JourneyState,
    kind: TaskKind,
    role: Role,
    due_at: datetime,
    priority: Priority,
    now: datetime,
    ref: str | None = None,
) -> Task:
    """Create a task for the first team member holding ``role`` (the primary if none).

    Under the bounded-open-work rules an open task of the same kind about the same ``ref``
    (a trigger, a scale) is tightened instead (sooner, more urgent) and returned: open work
    never stacks, and the caller's event still notifies the team.
    """
    if state.rules >= BOUNDED_WORK_RULES and ref is not None:
        same = next((t for t in open_tasks(state, ref) if t.kind is kind and not t.handed_over),
                    None)  # fmt: skip
        if same is not None:
            same.due_at = min(same.due_at, due_at)
            if priority is Priority.URGENT:
                same.priority = Priority.URGENT
            same.updated_seq = state.seq + 1
            return same
    holders = state.care_team.with_role(role)
    owner = holders[0] if holders else state.care_team.primary
    task = Task(
        task_id=new_id(state, "T"),
        kind=kind,
        owner=owner.member_id,
        role=owner.role,
        due_at=due_at,
        priority=priority,
        ref=ref,
        created_at=now,
        updated_seq=state.seq + 1,
    )
    state.tasks.append(task)
    return task


def open_tasks(state: JourneyState, ref: str | None = None) -> list[Task]:
    """Open tasks, optionally only those about ``ref``."""
    return [t for t in state.tasks if t.status is TaskStatus.OPEN and (ref is None or t.ref == ref)]


def is_urgent_work(task: Task) -> bool:
    """Safety work and urgent work never end without a recorded disposition."""
    return task.priority is Priority.URGENT or task.kind in (
        TaskKind.SAFETY_FOLLOW_UP,
        TaskKind.HANDOVER,
    )


def open_work(state: JourneyState) -> list[str]:
    """Ids of everything still open: the active reassessment (for its task) and other tasks."""
    active = state.active_reassessment
    ref = active.reassessment_id if active is not None else None
    tasks = [t.task_id for t in open_tasks(state) if ref is None or t.ref != ref]
    return ([ref] if ref is not None else []) + tasks


def urgent_open_work(state: JourneyState) -> list[str]:
    """Ids of the open work discharge may not end without a disposition.

    An urgent reassessment stands for its own task; other tasks count when urgent or safety
    work.
    """
    active = state.active_reassessment
    ids = []
    if active is not None and active.priority is Priority.URGENT:
        ids.append(active.reassessment_id)
    for task in open_tasks(state):
        if active is not None and task.ref == active.reassessment_id:
            continue
        if is_urgent_work(task):
            ids.append(task.task_id)
    return ids


def close_tasks(state: JourneyState, tasks: list[Task], status: TaskStatus, now: datetime) -> None:
    """Close tasks; the next event's sequence marks the change for the read model."""
    for task in tasks:
        task.status = status
        task.closed_at = now
        task.updated_seq = state.seq + 1


def close_reassessment(
    state: JourneyState, reassessment: Reassessment, status: ReassessmentStatus, now: datetime
) -> None:
    """Close a reassessment and its tasks."""
    reassessment.status = status
    reassessment.closed_at = now
    task_status = (
        TaskStatus.DONE if status is ReassessmentStatus.COMPLETED else TaskStatus.CANCELLED
    )
    close_tasks(state, open_tasks(state, ref=reassessment.reassessment_id), task_status, now)


def enter_segment(
    state: JourneyState, phase: Phase, loc_code: str | None, reason: str, by: str, now: datetime
) -> None:
    """Close the current segment and open the next (append-only)."""
    if state.segments:
        state.segments[-1].ended_at = now
    state.segments.append(
        LocSegment(
            index=len(state.segments),
            phase=phase,
            loc_code=loc_code,
            reason=reason[:500],
            decided_by=by,
            effective_at=now,
            recorded_at=now,
        )
    )
    state.phase = phase
    state.loc_code = loc_code


def prune(state: JourneyState) -> None:
    """Drop old closed items from workflow state once the read model has them."""
    closed = [r for r in state.reassessments if not r.status.is_active]
    keep = {id(r) for r in closed[-KEEP_CLOSED:]}
    state.reassessments = [r for r in state.reassessments if r.status.is_active or id(r) in keep]
    done = [t for t in state.tasks if t.status is not TaskStatus.OPEN]
    keep_t = {id(t) for t in done[-KEEP_CLOSED:]}
    state.tasks = [t for t in state.tasks if t.status is TaskStatus.OPEN or id(t) in keep_t]
