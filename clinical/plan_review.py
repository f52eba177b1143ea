"""Plan reviews: the initial individualized plan and its periodic reviews, due per level of care.

A review is one open task for the primary clinician. It closes only when a plan version carries
both the clinician's and the client's signatures; an unsigned review stays due, is reminded
once before its due time and, once past it, climbs the policy's escalation ladder like any
overdue task (``clinical.escalation``; a policy without a ladder reports it overdue once, here).
Due times come from the level of care (``initial_plan_due_hours``, ``plan_review_days``) and are
never set in the past.
"""

from datetime import datetime, timedelta

from clinical import journal
from models.journey import EventKind, Priority
from models.progress import PlanReviewDue
from models.state import JourneyState
from models.work import Task, TaskKind, TaskStatus


def interval(state: JourneyState, initial: bool) -> timedelta | None:
    """How long the current level of care allows for the initial plan or a review."""
    level = state.policy.level(state.loc_code) if state.loc_code else None
    if level is None:
        return None
    if initial:
        hours = level.initial_plan_due_hours
        return timedelta(hours=hours) if hours else None
    days = level.plan_review_days
    return timedelta(days=days) if days else None


def on_level_entered(state: JourneyState, now: datetime) -> None:
    """Open or bring forward the plan review after a move; aftercare ends periodic reviews.

    Call it before the move's events are emitted, so the task change travels with them.
    """
    if not state.phase.has_loc:
        _close(state, TaskStatus.CANCELLED, now)
        return
    review = state.plan_review
    if review is None:
        initial = state.signed_plan_version is None
        allowed = interval(state, initial)
        if allowed is not None:
            _open(state, initial, now + allowed, now)
        return
    allowed = interval(state, review.initial)
    if allowed is not None and now + allowed < review.due_at:
        _retime(state, review, now + allowed, now)


def on_fully_signed(state: JourneyState, now: datetime) -> None:
    """Close the open review and schedule the next one from now (before emitting the event)."""
    _close(state, TaskStatus.DONE, now)
    allowed = interval(state, initial=False)
    if allowed is not None and state.phase.has_loc:
        _open(state, False, now + allowed, now)


def next_time(state: JourneyState) -> datetime | None:
    """When a reminder or the overdue notice of the open review falls."""
    review = state.plan_review
    if review is None:
        return None
    if review.remind_at is not None:
        return review.remind_at
    if review.overdue_notified or state.policy.escalation_ladder:
        return None  # with a ladder, escalation.due_work reports it overdue
    return review.due_at


def due_work(state: JourneyState, now: datetime) -> bool:
    """Send the reminder and the overdue notice when their time has come (each once)."""
    review = state.plan_review
    if review is None:
        return False
    what = "initial treatment plan" if review.initial else "treatment plan review"
    changed = False
    if review.remind_at is not None and review.remind_at <= now:
        review.remind_at = None
        journal.emit(
            state,
            EventKind.PLAN_REVIEW_DUE,
            now,
            f"The {what} is due {review.due_at.isoformat()}; it needs the clinician's "
            "and the client's signatures",
            refs={"task_id": review.task_id},
        )
        changed = True
    ladder = bool(state.policy.escalation_ladder)
    if not ladder and not review.overdue_notified and review.due_at <= now:
        review.overdue_notified = True
        journal.emit(
            state,
            EventKind.PLAN_REVIEW_OVERDUE,
            now,
            f"The {what} was due {review.due_at.isoformat()} and is not signed",
            Priority.URGENT,
            {"task_id": review.task_id},
        )
        changed = True
    return changed


def _open(state: JourneyState, initial: bool, due_at: datetime, now: datetime) -> None:
    primary = state.care_team.primary
    task = journal.open_task(
        state, TaskKind.PLAN_REVIEW, primary.role, due_at, Priority.ROUTINE, now, ref="plan"
    )
    task.owner = primary.member_id
    state.plan_review = PlanReviewDue(
        task_id=task.task_id,
        initial=initial,
        due_at=due_at,
        remind_at=_remind_at(state, due_at, now),
    )


def _retime(state: JourneyState, review: PlanReviewDue, due_at: datetime, now: datetime) -> None:
    review.due_at = due_at
    review.overdue_notified = False
    if review.remind_at is not None:
        review.remind_at = _remind_at(state, due_at, now)
    task = _task(state, review)
    if task is not None:
        task.due_at = due_at
        task.updated_seq = state.seq + 1


def _remind_at(state: JourneyState, due_at: datetime, now: datetime) -> datetime | None:
    # A review that opens inside its reminder window gets no reminder: it is news already.
    remind_at = due_at - timedelta(hours=state.policy.plan_review.reminder_hours)
    return remind_at if remind_at > now else None


def _close(state: JourneyState, status: TaskStatus, now: datetime) -> None:
    review = state.plan_review
    if review is None:
        return
    task = _task(state, review)
    if task is not None:
        journal.close_tasks(state, [task], status, now)
    state.plan_review = None


def _task(state: JourneyState, review: PlanReviewDue) -> Task | None:
    return next((t for t in journal.open_tasks(state) if t.task_id == review.task_id), None)
