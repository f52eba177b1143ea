"""Time-driven work: scheduled reviews, overdue escalation, aftercare check-ins, completion."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinical import escalation, journal, monitoring, plan_review, progress
from clinical.dispositions import listed
from clinical.episode import finish
from clinical.schedule import aftercare_ends, check_in_due, check_in_missed_at
from models.clinical import ReassessmentTrigger
from models.journey import EventKind, Phase, Priority
from models.state import SAFETY_RULES, JourneyState
from models.work import TaskKind

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Timer:
    """One kind of time-driven work: when it is next due, and the work itself.

    ``next_deadline`` and ``run_due_work`` read the same registry, so a new timer is added once
    and the two can never drift apart.
    """

    next_time: Callable[[JourneyState], datetime | None]
    due_work: Callable[[JourneyState, datetime], bool]
    # Also after the journey ended (work handed over at discharge keeps climbing its ladder).
    after_end: bool = False


def _scheduled_review_at(state: JourneyState) -> datetime | None:
    return state.next_review_due if state.active_reassessment is None else None


def _overdue_at(state: JourneyState) -> datetime | None:
    active = state.active_reassessment
    if active is None or active.escalated or escalation.active(state):
        return None  # with a ladder, the escalation timer climbs it
    return active.due_at


def _check_in_missed_at(state: JourneyState) -> datetime | None:
    aftercare = state.aftercare
    return check_in_missed_at(state.policy, aftercare) if aftercare is not None else None


def _aftercare_end_at(state: JourneyState) -> datetime | None:
    aftercare = state.aftercare
    if aftercare is None or check_in_missed_at(state.policy, aftercare) is not None:
        return None
    if state.active_reassessment is not None:
        return None
    if aftercare.completion_held and journal.open_work(state):
        return None  # while completion is held, the close of the last open item wakes it
    return aftercare_ends(state.policy, aftercare)


def next_deadline(state: JourneyState) -> datetime | None:
    """The earliest moment at which ``run_due_work`` has something to do."""
    timers = TIMERS if state.phase.is_open else [t for t in TIMERS if t.after_end]
    return min((at for t in timers if (at := t.next_time(state)) is not None), default=None)


def run_due_work(state: JourneyState, now: datetime) -> bool:
    """Do everything due at ``now``, in the registry's order; True when the state changed."""
    ended = not state.phase.is_open
    changed = False
    for timer in TIMERS:
        # Work that ends the journey stops the rest, except what outlives it.
        if timer.after_end or (not ended and state.phase.is_open):
            changed = timer.due_work(state, now) or changed
    return changed


def _open_scheduled_review(state: JourneyState, now: datetime) -> bool:
    due = state.next_review_due
    if due is None or due > now or state.active_reassessment is not None:
        return False
    state.next_review_due = None
    journal.open_reassessment(
        state,
        ReassessmentTrigger.SCHEDULE,
        f"scheduled review at {state.loc_code}",
        now,
        timedelta(hours=state.policy.scheduled_review_due_hours),
    )
    return True


def _escalate_overdue(state: JourneyState, now: datetime) -> bool:
    active = state.active_reassessment
    if escalation.active(state) or active is None or active.escalated or active.due_at > now:
        return False  # with a ladder, escalation.due_work does this
    active.escalated = True
    journal.emit(
        state,
        EventKind.REASSESSMENT_OVERDUE,
        now,
        f"Reassessment overdue since {active.due_at.isoformat()}; escalated to "
        f"{state.policy.escalation_role}",
        Priority.URGENT,
        {"reassessment_id": active.reassessment_id},
    )
    return True


def _miss_check_ins(state: JourneyState, now: datetime) -> bool:
    changed = False
    aftercare = state.aftercare
    while aftercare is not None:
        missed_at = check_in_missed_at(state.policy, aftercare)
        if missed_at is None or missed_at > now:
            break
        due = check_in_due(state.policy, aftercare)
        aftercare.next_check_in += 1
        aftercare.missed += 1
        aftercare.missed_in_row += 1
        policy = state.policy.aftercare
        task = journal.open_task(
            state,
            TaskKind.OUTREACH,
            policy.outreach_role,
            now + timedelta(hours=policy.outreach_due_hours),
            Priority.ROUTINE,
            now,
        )
        journal.emit(
            state,
            EventKind.CHECK_IN_MISSED,
            now,
            f"Aftercare check-in due {due.isoformat() if due else ''} was missed; outreach opened",
            refs={"task_id": task.task_id},
        )
        if aftercare.missed_in_row == policy.reassess_after_missed:
            journal.open_reassessment(
                state,
                ReassessmentTrigger.DATA_POINT_MISSING,
                f"{aftercare.missed_in_row} aftercare check-ins missed in a row",
                now,
                timedelta(hours=policy.reassessment_due_hours),
            )
        changed = True
    return changed


def _complete_aftercare(state: JourneyState, now: datetime) -> bool:
    """Complete once the schedule is over and, under the safety rules, nothing is open.

    Completion never cancels open work: while any task or reassessment is open it waits (said
    once, with what it waits for), the work keeps its escalation ladder, and completion happens
    when the last of it closes.
    """
    aftercare = state.aftercare
    if aftercare is None or state.phase is not Phase.AFTERCARE:
        return False
    schedule_done = check_in_due(state.policy, aftercare) is None
    if not schedule_done or aftercare_ends(state.policy, aftercare) > now:
        return False
    if state.rules < SAFETY_RULES:
        if state.active_reassessment is not None:
            return False
    elif (waiting_on := journal.open_work(state)) or state.active_reassessment is not None:
        if aftercare.completion_held:
            return False
        aftercare.completion_held = True
        journal.emit(
            state, EventKind.COMPLETION_HELD, now,
            f"Aftercare schedule finished; completion waits for open work: {listed(waiting_on)}",
            refs={"waiting_on": listed(waiting_on)},
        )  # fmt: skip
        return True
    finish(state, Phase.COMPLETED, "aftercare schedule finished", SYSTEM_ACTOR, now)
    journal.emit(state, EventKind.JOURNEY_COMPLETED, now, "Journey completed")
    return True


# Run order matters (it orders the events a wake-up produces): keep it when adding a timer.
TIMERS: list[Timer] = [
    Timer(_scheduled_review_at, _open_scheduled_review),
    Timer(_overdue_at, _escalate_overdue),
    Timer(escalation.next_time, escalation.due_work, after_end=True),
    Timer(monitoring.next_miss, monitoring.miss_due_checks),
    Timer(plan_review.next_time, plan_review.due_work),
    Timer(progress.next_time, progress.due_work),
    Timer(_check_in_missed_at, _miss_check_ins),
    Timer(_aftercare_end_at, _complete_aftercare),
]
