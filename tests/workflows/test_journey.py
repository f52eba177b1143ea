"""ClientJourneyWorkflow on the time-skipping server: months of care in seconds."""

from collections import Counter
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from models.clinical import ReassessmentStatus, ReassessmentTrigger
from models.commands import CompleteTask, DecideTransition, Discharge, ReportEvent
from models.errors import RejectionCode
from models.journey import DischargeReason, EventKind, Phase, Priority
from models.policy import ClinicalEventKind
from models.state import JourneyState
from models.work import TaskKind, TaskStatus
from readmodel.queries import JourneyQueries
from service.journeys import CommandRejectedError
from service.live import live_view
from tests.builders import PRIMARY, SUPERVISOR
from tests.workflows.driver import JourneyDriver
from workflows.temporal_policy import journey_workflow_id


async def _driver(env: WorkflowEnvironment, task_queue: str, journey_id: str) -> JourneyDriver:
    return await JourneyDriver.start(env, task_queue, journey_id)


async def _feed_kinds(queries: JourneyQueries, member: str) -> Counter[str]:
    items = await queries.feed(member, limit=500)
    return Counter(str(item.kind) for item in items)


async def test_whole_journey_from_intake_to_completion_over_fifteen_months(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _driver(env, task_queue, "J-WHOLE")
    state = await j.state()
    assert state.phase is Phase.INTAKE
    assert state.active_reassessment is not None
    assert state.active_reassessment.trigger is ReassessmentTrigger.INTAKE

    result = await j.assess(d1=3, d2=2, d5=3, d6=3)
    assert result.recommendation is not None
    assert result.recommendation.loc_code == "3.7-WM"
    await j.accept()
    state = await j.state()
    assert (state.phase, state.loc_code) == (Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")

    # The 3-day review at 3.7-WM opens a reassessment on its own.
    await j.sleep(days=3, minutes=1)
    state = await j.state()
    assert state.active_reassessment is not None
    assert state.active_reassessment.trigger is ReassessmentTrigger.SCHEDULE
    await j.assess_and_accept(d5=3, d6=3)
    assert (await j.state()).loc_code == "3.5"

    # Residential: three weekly reviews with continued stay, then a step down to IOP.
    for _ in range(3):
        await j.sleep(days=7, minutes=1)
        active = (await j.state()).active_reassessment
        assert active is not None
        assert active.trigger is ReassessmentTrigger.SCHEDULE
        await j.assess_and_accept(d5=3, d6=3)
        assert (await j.state()).loc_code == "3.5"
    await j.sleep(days=7, minutes=1)
    await j.assess_and_accept(d4=2, d5=2)
    assert (await j.state()).loc_code == "2.1"

    # IOP reviews every 90 days; the step down to outpatient comes at that review.
    await j.sleep(days=90, minutes=1)
    await j.assess_and_accept(d5=1)
    assert (await j.state()).loc_code == "1"
    await j.sleep(days=90, minutes=1)
    await j.assess_and_accept()
    state = await j.state()
    assert state.phase is Phase.AFTERCARE
    assert state.loc_code is None

    # Aftercare: every check-in made on its day, but the one at day 60 missed.
    days = [offset.days for offset in state.policy.aftercare.check_ins]
    elapsed = 0
    for day in days:
        await j.sleep(days=day - elapsed)
        elapsed = day
        if day == 60:
            continue
        await j.check_in()
    await j.sleep(days=10)

    # The withdrawal checks missed at 3.7-WM (no scale was ever recorded) are still owed
    # (the missed check-in's outreach closed with the next check-in): completion waits for
    # them, then follows their closing.
    state = await j.state()
    assert state.phase is Phase.AFTERCARE
    waiting = live_view(state).completion_waiting_on
    kinds = {t.kind for t in state.tasks if t.task_id in waiting}
    assert kinds == {TaskKind.COLLECT_INSTRUMENT}
    for task_id in waiting:
        await j.service.send("J-WHOLE", CompleteTask(task_id=task_id, completed_by=j.clinician))

    handle = env.client.get_workflow_handle(
        journey_workflow_id("J-WHOLE"), result_type=JourneyState
    )
    final = await handle.result()
    assert final.phase is Phase.COMPLETED
    assert final.ended_at is not None
    assert final.ended_at - final.started_at > timedelta(days=420)

    timeline = await queries.get_timeline("J-WHOLE")
    assert timeline is not None
    assert timeline.summary.phase is Phase.COMPLETED
    route = [(s.phase, s.loc_code) for s in timeline.segments]
    assert route == [
        (Phase.INTAKE, None),
        (Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM"),
        (Phase.TREATMENT, "3.5"),
        (Phase.TREATMENT, "2.1"),
        (Phase.TREATMENT, "1"),
        (Phase.AFTERCARE, None),
        (Phase.COMPLETED, None),
    ]
    triggers = Counter(str(r.trigger) for r in timeline.reassessments)
    assert triggers["schedule"] == 7
    assert triggers["intake"] == 1
    missed = [t for t in timeline.tasks if t.kind is TaskKind.OUTREACH]
    assert len(missed) == 1

    case_manager = await _feed_kinds(queries, "cm-diaz")
    assert case_manager["check_in_missed"] == 1
    assert case_manager["phase_changed"] == 3
    assert case_manager["journey_completed"] == 1
    supervisor = await _feed_kinds(queries, SUPERVISOR)
    assert supervisor["journey_completed"] == 1
    assert supervisor["reassessment_overdue"] == 0


async def test_overdue_reassessment_climbs_the_ladder_each_rung_once(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _driver(env, task_queue, "J-OVERDUE")  # intake assessment due in 72 h
    await j.sleep(hours=73)
    state = await j.state()
    assert state.active_reassessment is not None
    assert not state.active_reassessment.escalated  # only the owner has been told
    primary = await _feed_kinds(queries, PRIMARY)
    assert primary["reassessment_overdue"] == 1
    assert (await _feed_kinds(queries, SUPERVISOR))["reassessment_overdue"] == 0

    await j.sleep(hours=24)
    assert (await j.state()).active_reassessment.escalated  # type: ignore[union-attr]
    assert (await _feed_kinds(queries, SUPERVISOR))["reassessment_overdue"] == 1
    await j.sleep(days=20)
    # No clinical director on this team: the top rung goes to the escalation role.
    assert (await _feed_kinds(queries, SUPERVISOR))["reassessment_overdue"] == 2
    assert (await _feed_kinds(queries, PRIMARY))["reassessment_overdue"] == 1
    nurse = await _feed_kinds(queries, "rn-baker")
    assert nurse["reassessment_overdue"] == 0


async def test_relapse_in_aftercare_leads_to_re_entry(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _driver(env, task_queue, "J-RELAPSE")
    await j.assess_and_accept(d5=1)
    await j.sleep(days=90, minutes=1)
    await j.assess_and_accept()
    assert (await j.state()).phase is Phase.AFTERCARE

    result = await j.service.send(
        "J-RELAPSE", ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by="cm-diaz")
    )
    assert result.reassessment_id is not None
    state = await j.state()
    active = state.active_reassessment
    assert active is not None
    assert active.trigger is ReassessmentTrigger.EVENT
    assert active.priority is Priority.URGENT
    assert state.urgent

    rec = await j.assess(d1=3, d5=3)
    assert rec.recommendation is not None
    assert rec.recommendation.loc_code == "3.2-WM"
    await j.accept()
    state = await j.state()
    assert (state.phase, state.loc_code) == (Phase.WITHDRAWAL_MANAGEMENT, "3.2-WM")
    assert state.aftercare is None
    assert not state.urgent
    physician = await _feed_kinds(queries, "dr-ames")
    assert physician["clinical_event_reported"] == 1


async def test_discharge_against_advice_ends_the_journey_and_cancels_work(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _driver(env, task_queue, "J-AMA")
    await j.assess_and_accept(d5=3, d6=3)
    await j.service.send(
        "J-AMA", Discharge(discharged_by=PRIMARY, reason=DischargeReason.AGAINST_ADVICE)
    )
    handle = env.client.get_workflow_handle(journey_workflow_id("J-AMA"), result_type=JourneyState)
    final = await handle.result()
    assert final.phase is Phase.DISCHARGED
    assert final.discharge_reason is DischargeReason.AGAINST_ADVICE
    assert all(t.status is not TaskStatus.OPEN for t in final.tasks)

    with pytest.raises(CommandRejectedError) as err:
        await j.service.send(
            "J-AMA", ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by=PRIMARY)
        )
    assert err.value.code is RejectionCode.JOURNEY_CLOSED
    timeline = await queries.get_timeline("J-AMA")
    assert timeline is not None
    assert timeline.summary.phase is Phase.DISCHARGED
    assert any(e.kind is EventKind.JOURNEY_DISCHARGED for e in timeline.events)


async def test_every_rejected_command_leaves_state_and_read_model_unchanged(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _driver(env, task_queue, "J-REJECT")
    service = j.service
    open_id = (await j.state()).active_reassessment.reassessment_id  # type: ignore[union-attr]

    async def expect(code: RejectionCode, call: object) -> None:
        before = (await j.state()).model_dump()
        events_before = len((await queries.get_timeline("J-REJECT")).events)  # type: ignore[union-attr]
        with pytest.raises(CommandRejectedError) as err:
            await call  # type: ignore[misc]
        assert err.value.code is code
        assert (await j.state()).model_dump() == before
        assert len((await queries.get_timeline("J-REJECT")).events) == events_before  # type: ignore[union-attr]

    decide = DecideTransition(reassessment_id=open_id, decided_by=PRIMARY, accept=True)
    await expect(RejectionCode.ASSESSMENT_MISSING, service.send("J-REJECT", decide))
    await expect(RejectionCode.NOT_IN_AFTERCARE, j.check_in())
    await j.assess(d5=3, d6=3)
    override = DecideTransition(
        reassessment_id=open_id,
        decided_by=PRIMARY,
        accept=False,
        phase=Phase.TREATMENT,
        loc_code="2.1",
    )
    await expect(RejectionCode.VARIANCE_REASON_REQUIRED, service.send("J-REJECT", override))
    to_aftercare = override.model_copy(
        update={"phase": Phase.AFTERCARE, "loc_code": None, "variance_reason": "client wish"}
    )
    await expect(RejectionCode.TRANSITION_NOT_ALLOWED, service.send("J-REJECT", to_aftercare))
    bad_loc = override.model_copy(update={"loc_code": "3.7-WM", "variance_reason": "x"})
    await expect(RejectionCode.UNKNOWN_LOC, service.send("J-REJECT", bad_loc))
    unknown = decide.model_copy(update={"reassessment_id": "J-REJECT.R99"})
    await expect(RejectionCode.UNKNOWN_REASSESSMENT, service.send("J-REJECT", unknown))

    # An override with a reason is accepted and recorded as a variance.
    with_reason = override.model_copy(update={"variance_reason": "client prefers IOP; stable"})
    await service.send("J-REJECT", with_reason)
    timeline = await queries.get_timeline("J-REJECT")
    assert timeline is not None
    decided = [r for r in timeline.reassessments if r.status is ReassessmentStatus.COMPLETED]
    assert decided[0].variance_reason == "client prefers IOP; stable"
    await expect(RejectionCode.REASSESSMENT_CLOSED, service.send("J-REJECT", decide))
