"""Plan reviews, milestones and aftercare re-entry through the real workflow and read model."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from models.clinical import ReassessmentTrigger
from models.commands import (
    DecideTransition,
    RecordCheckIn,
    RecordInstrument,
    RequestReassessment,
    RevisePlan,
    SignPlan,
)
from models.journey import EventKind, Phase
from models.plan import Goal, GoalStatus, RecoverySupport, Signer
from models.progress import MilestoneKind
from models.work import TaskKind, TaskStatus
from readmodel.feed import FeedQueries
from readmodel.queries import JourneyQueries
from tests.builders import PRIMARY, SUPERVISOR
from tests.workflows.driver import JourneyDriver


def _plan(status: GoalStatus = GoalStatus.ACTIVE) -> RevisePlan:
    goal = Goal(goal_id="g1", description="no alcohol use", target_date=date(2027, 3, 1),
                status=status)  # fmt: skip
    return RevisePlan(
        author=PRIMARY,
        reason="initial plan",
        goals=[goal],
        recovery_supports=[RecoverySupport.MUTUAL_HELP_MEETINGS],
    )


async def _kinds(feed: FeedQueries, member: str, journey_id: str) -> list[EventKind]:
    items = await feed.feed(member, limit=500)
    return [i.kind for i in reversed(items) if i.journey_id == journey_id]


async def test_plan_review_is_reminded_then_overdue_until_both_sign(
    env: WorkflowEnvironment,
    task_queue: str,
    queries: JourneyQueries,
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    feed = FeedQueries(sqlite_sessions)
    j = await JourneyDriver.start(env, task_queue, "J-PLANDUE")
    await j.assess_and_accept(d5=3, d6=3)  # 3.5: initial plan due in 48 h
    review = (await j.state()).plan_review
    assert review is not None
    assert review.initial

    await j.service.send(j.journey_id, _plan())
    await j.service.send(
        j.journey_id, SignPlan(version=1, signer=Signer.CLINICIAN, signed_by=PRIMARY)
    )
    await j.sleep(hours=73)  # due at 48 h; the supervisor's rung a day later

    primary = await _kinds(feed, PRIMARY, j.journey_id)
    assert primary.count(EventKind.PLAN_REVIEW_DUE) == 1
    assert primary.count(EventKind.PLAN_REVIEW_OVERDUE) == 1
    supervisor = await _kinds(feed, SUPERVISOR, j.journey_id)
    assert EventKind.PLAN_REVIEW_DUE not in supervisor
    assert supervisor.count(EventKind.PLAN_REVIEW_OVERDUE) == 1
    timeline = await queries.get_timeline(j.journey_id)
    assert timeline is not None
    (task,) = [t for t in timeline.tasks if t.kind is TaskKind.PLAN_REVIEW]
    assert task.status is TaskStatus.OPEN

    await j.service.send(j.journey_id, SignPlan(version=1, signer=Signer.CLIENT, signed_by=PRIMARY))
    progress = await j.service.progress(j.journey_id, await env.get_current_time())
    assert progress.plan_signed
    assert progress.plan_review is not None
    assert not progress.plan_review.initial
    assert progress.recovery_supports_planned == [RecoverySupport.MUTUAL_HELP_MEETINGS]
    timeline = await queries.get_timeline(j.journey_id)
    assert timeline is not None
    statuses = sorted(t.status for t in timeline.tasks if t.kind is TaskKind.PLAN_REVIEW)
    assert statuses == [TaskStatus.DONE, TaskStatus.OPEN]


async def test_milestones_reach_the_team_and_aftercare_use_leads_back_into_treatment(
    env: WorkflowEnvironment, task_queue: str, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed = FeedQueries(sqlite_sessions)
    j = await JourneyDriver.start(env, task_queue, "J-MILESTONE")
    await j.assess_and_accept(d4=2)  # 2.1 intensive outpatient
    for answers in ([2, 2, 2, 2, 2, 2, 2, 2, 0], [1, 1, 1, 1, 1, 1, 0, 0, 0]):  # 16 -> 6
        await j.service.send(
            j.journey_id, RecordInstrument(code="PHQ-9", answers=answers, recorded_by=PRIMARY)
        )
    await j.service.send(j.journey_id, _plan(GoalStatus.ACHIEVED))
    await j.sleep(days=31)

    progress = await j.service.progress(j.journey_id, await env.get_current_time())
    kinds = [m.kind for m in progress.milestones]
    assert kinds == [
        MilestoneKind.RESPONSE,
        MilestoneKind.GOAL_ACHIEVED,
        MilestoneKind.DAYS_IN_RECOVERY,
    ]
    assert progress.days_in_recovery == 31
    assert progress.trends[0].response is True
    assert progress.trends[0].remission is False
    peer = await _kinds(feed, "ps-evans", j.journey_id)
    assert peer.count(EventKind.MILESTONE_REACHED) == 3

    # Into aftercare, then a check-in reporting use: a relapse, a reassessment, re-entry.
    # The scheduled review opens at 90 days; the clinician asks for one now.
    await j.service.send(
        j.journey_id, RequestReassessment(requested_by=PRIMARY, reason="step down")
    )
    await j.assess()
    await j.accept()  # all dimensions 0 in treatment: aftercare
    assert (await j.state()).phase is Phase.AFTERCARE
    await j.sleep(days=6)
    result = await j.service.send(
        j.journey_id,
        RecordCheckIn(
            recorded_by=PRIMARY,
            supports_attended=[RecoverySupport.PEER_SUPPORT],
            substance_use=True,
        ),
    )
    assert result.reassessment_id is not None
    state = await j.state()
    assert state.active_reassessment is not None
    assert state.active_reassessment.trigger is ReassessmentTrigger.EVENT
    await j.assess(d4=2)
    await j.service.send(
        j.journey_id,
        DecideTransition(reassessment_id=result.reassessment_id, decided_by=PRIMARY, accept=True),
    )
    state = await j.state()
    assert (state.phase, state.loc_code) == (Phase.TREATMENT, "2.1")
    progress = await j.service.progress(j.journey_id, await env.get_current_time())
    assert progress.days_in_recovery == 0
    assert progress.next_recovery_milestone_days == 30
