"""Read-model projection batches for tests.

``journey_batches`` drives the pure journey engine the way the workflow does, so its batches
are exactly what production sends. ``summary``, ``event``, ``task`` and ``batch`` build one
batch by hand, for tests that need precise values (list filters, sequence guards).
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from clinical import commands, episode
from clinical.timers import run_due_work
from models.care import CareTeam, Role
from models.clinical import AssessmentKind
from models.commands import (
    ChangeCareTeam,
    DecideTransition,
    RecordAssessment,
    ReportEvent,
    RevisePlan,
)
from models.journey import EventKind, JourneyEvent, LocSegment, Phase, Priority
from models.plan import Goal
from models.policy import ClinicalEventKind
from models.state import JourneyState, JourneySummary, ProjectionBatch
from models.work import Task, TaskKind, TaskStatus
from tests.builders import (
    PHYSICIAN,
    PRIMARY,
    SUPERVISOR,
    T0,
    TEAM_ROLES,
    ratings,
    start_command,
    team,
)
from workflows.projection import Projected, build_batch

# The recovery coach who replaces rc-fox in ``journey_batches``.
NEW_COACH = "rc-gomez"


def journey_batches(
    journey_id: str = "J-RM-1", start: datetime = T0, *, changes_only: bool = False
) -> list[ProjectionBatch]:
    """Seven batches: intake -> 3.7-WM, team change and plan, review -> 3.5, relapse, overdue.

    Every batch holds every row, or, with ``changes_only``, only what changed since the one
    before (as the workflow sends them).
    """
    state = commands.start(start_command(journey_id), start)
    projected = Projected() if changes_only else None

    def _flush(state: JourneyState) -> ProjectionBatch:
        """What the workflow sends, then what it does once the projection succeeded."""
        batch = build_batch(state, projected)
        state.outbox = []
        state.projected_seq = state.seq
        return batch

    batches = [_flush(state)]
    now = start + timedelta(hours=2)
    _assess_and_accept(state, now, AssessmentKind.COMPREHENSIVE, d1=3, d2=2)
    batches.append(_flush(state))
    _change_team_and_plan(state, now + timedelta(hours=1))
    batches.append(_flush(state))
    review = state.next_review_due
    assert review is not None
    run_due_work(state, review)
    batches.append(_flush(state))
    _assess_and_accept(state, review, AssessmentKind.REASSESSMENT, d5=3, d6=3)
    batches.append(_flush(state))
    relapse = ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by="cm-diaz")
    episode.apply_report_event(state, relapse, review + timedelta(days=1))
    batches.append(_flush(state))
    active = state.active_reassessment
    assert active is not None
    overdue = active.due_at + timedelta(hours=24)  # the supervisor's rung of the ladder
    run_due_work(state, overdue)
    batches.append(_flush(state))
    return batches


def summary(
    journey_id: str,
    seq: int,
    *,
    phase: Phase = Phase.TREATMENT,
    loc_code: str | None = "3.5",
    updated_at: datetime = T0,
    next_review_due: datetime | None = None,
    reassessment_due: datetime | None = None,
    urgent: bool = False,
) -> JourneySummary:
    """A journey row as of ``seq``, started at ``T0`` with ``PRIMARY`` as primary clinician."""
    return JourneySummary(
        journey_id=journey_id,
        phase=phase,
        loc_code=loc_code,
        discharge_reason=None,
        policy_version="default@1",
        primary_clinician=PRIMARY,
        next_review_due=next_review_due,
        reassessment_due=reassessment_due,
        urgent=urgent,
        started_at=T0,
        updated_at=updated_at,
        ended_at=None,
        seq=seq,
    )


def event(
    seq: int,
    *,
    at: datetime = T0,
    kind: EventKind = EventKind.CLINICAL_EVENT_REPORTED,
    recipients: Sequence[str] = (PRIMARY, SUPERVISOR),
) -> JourneyEvent:
    """One routine event routed to ``recipients``."""
    return JourneyEvent(
        seq=seq, kind=kind, occurred_at=at, summary=f"event {seq}", recipients=list(recipients)
    )


def task(task_id: str, updated_seq: int, status: TaskStatus = TaskStatus.OPEN) -> Task:
    """An urgent outreach task for the case manager, due a day after ``T0``."""
    return Task(
        task_id=task_id,
        kind=TaskKind.OUTREACH,
        owner="cm-diaz",
        role=Role.CASE_MANAGER,
        due_at=T0 + timedelta(days=1),
        priority=Priority.URGENT,
        status=status,
        created_at=T0,
        closed_at=T0 + timedelta(hours=updated_seq) if status is not TaskStatus.OPEN else None,
        updated_seq=updated_seq,
    )


def batch(
    s: JourneySummary,
    *,
    care_team: CareTeam | None = None,
    events: Sequence[JourneyEvent] | None = None,
    tasks: Sequence[Task] = (),
) -> ProjectionBatch:
    """A batch for ``s``: one segment at its level of care, one event at ``s.seq`` by default."""
    segment = LocSegment(
        index=0,
        phase=s.phase,
        loc_code=s.loc_code,
        reason="placement",
        decided_by=PRIMARY,
        effective_at=T0,
        recorded_at=T0,
    )
    return ProjectionBatch(
        summary=s,
        care_team=care_team or team(),
        events=list(events) if events is not None else [event(s.seq, at=s.updated_at)],
        segments=[segment],
        reassessments=[],
        tasks=list(tasks),
        plan=None,
    )


def _assess_and_accept(state: JourneyState, now: datetime, kind: AssessmentKind, **r: int) -> None:
    assessment = RecordAssessment(
        assessment_id=f"A{state.seq}", kind=kind, dimensions=ratings(**r), assessed_by=PRIMARY
    )
    result = commands.apply_record_assessment(state, assessment, now)
    assert result.reassessment_id is not None
    decision = DecideTransition(
        reassessment_id=result.reassessment_id, decided_by=PHYSICIAN, accept=True
    )
    commands.apply_decide(state, decision, now)


def _change_team_and_plan(state: JourneyState, now: datetime) -> None:
    roles = {m: r for m, r in TEAM_ROLES.items() if m != "rc-fox"} | {
        NEW_COACH: Role.RECOVERY_COACH
    }
    change = ChangeCareTeam(changed_by=SUPERVISOR, care_team=team(roles=roles), reason="rota")
    episode.apply_change_care_team(state, change, now)
    goal = Goal(goal_id="G1", description="Attend groups", target_date=date(2026, 3, 1))
    plan = RevisePlan(author=PRIMARY, reason="initial plan", goals=[goal])
    episode.apply_revise_plan(state, plan, now)
