"""Continue-as-new with a lowered threshold on the dev server: nothing is lost across runs."""

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from models.commands import ReportEvent, RevisePlan
from models.plan import Goal
from models.policy import ClinicalEventKind
from models.state import CURRENT_RULES
from readmodel.queries import JourneyQueries
from runtime.search_attributes import ALL_KEYS
from tests.builders import PRIMARY, T0
from tests.conftest import encrypted_converter
from tests.workflows.driver import JourneyDriver
from worker import create_worker
from workflows.journey import CURRENT_AT_START_2
from workflows.temporal_policy import journey_workflow_id

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
async def low_threshold_env() -> AsyncIterator[WorkflowEnvironment]:
    """An in-memory dev server that suggests continue-as-new after 60 history events."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=encrypted_converter(),
        search_attributes=list(ALL_KEYS),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=60",
        ],
    )
    yield env
    await env.shutdown()


def _goal(n: int) -> Goal:
    return Goal(goal_id=f"g{n}", description=f"goal revision {n}", target_date=T0.date())


async def test_continue_as_new_carries_every_piece_of_state(
    low_threshold_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_sessions: async_sessionmaker[AsyncSession],
    queries: JourneyQueries,
) -> None:
    env = low_threshold_env
    async with create_worker(env.client, task_queue, sqlite_sessions):
        j = await JourneyDriver.start(env, task_queue, "J-CAN")
        await j.assess_and_accept(d5=3, d6=3)
        for n in range(1, 16):
            await j.service.send(
                "J-CAN", RevisePlan(author=PRIMARY, reason=f"revision {n}", goals=[_goal(n)])
            )
        # A burst of concurrent commands lands around a continue-as-new boundary.
        burst = [
            j.service.send(
                "J-CAN", ReportEvent(kind=ClinicalEventKind.MISSED_SESSION, reported_by=PRIMARY)
            )
            for _ in range(12)
        ]
        results = await asyncio.gather(*burst)
        state = await j.state()

    runs = [
        w async for w in env.client.list_workflows(f'WorkflowId = "{journey_workflow_id("J-CAN")}"')
    ]
    assert len(runs) >= 3, "the journey should have continued as new several times"
    assert len({r.seq for r in results}) == 12
    assert state.plan is not None
    assert state.plan.version == 15
    assert state.loc_code == "3.5"
    assert len(state.segments) == 2
    assert state.outbox == []
    assert state.projected_seq == state.seq
    # Every run of a new journey, continued as new or not, keeps the current clinical rules.
    assert state.rules == CURRENT_RULES
    # Three missed sessions open a reassessment; the other nine tighten nothing new.
    assert state.active_reassessment is not None
    timeline = await queries.get_timeline("J-CAN")
    assert timeline is not None
    assert [e.seq for e in timeline.events] == list(range(1, state.seq + 1))
    assert [p.version for p in timeline.plan_versions] == list(range(1, 16))


async def test_search_attributes_carry_only_phase_loc_review_and_urgency(
    low_threshold_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    env = low_threshold_env
    async with create_worker(env.client, task_queue, sqlite_sessions):
        j = await JourneyDriver.start(env, task_queue, "J-SEARCH")
        await j.assess_and_accept(d1=3, d2=2)
        # The one marker gives a new run every run-wide change: the current rules.
        assert (await j.state()).rules == CURRENT_RULES
        await j.service.send(
            "J-SEARCH", ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by=PRIMARY)
        )
        query = (
            'JourneyPhase = "withdrawal_management" AND JourneyLoc = "3.7-WM" '
            "AND JourneyUrgent = true"
        )
        found: list[str] = []
        for _ in range(50):  # visibility is eventually consistent; bounded wait
            found = [w.id async for w in env.client.list_workflows(query)]
            if found:
                break
            await asyncio.sleep(0.1)
        assert found == [journey_workflow_id("J-SEARCH")]
        description = await env.client.get_workflow_handle(found[0]).describe()
    values = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    # BuildIds is Temporal's own; TemporalChangeVersion lists the workflow change markers the
    # run took (our fixed ids); everything else is ours and carries no client data.
    assert set(values) - {"BuildIds"} == {
        "JourneyPhase",
        "JourneyLoc",
        "JourneyNextReview",
        "JourneyUrgent",
        "TemporalChangeVersion",
    }
    # A new run records one marker for every run-wide change (not one per change).
    assert values["TemporalChangeVersion"] == [CURRENT_AT_START_2]
    assert description.id == "journey-J-SEARCH"
