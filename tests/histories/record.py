"""Record the history replayed by tests/workflows/test_replay.py.

Run ``.venv/bin/python -m tests.histories.record NAME`` after a deliberate, versioned change to
the workflow's commands (a ``workflow.patched`` marker): it writes ``NAME.json`` beside the
histories recorded before, which stay; the replay test then guards them all against
non-determinism.
"""

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from models.commands import (
    CompleteTask,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordInstrument,
    ReportEvent,
    WorkDisposition,
)
from models.journey import DischargeReason
from models.policy import ClinicalEventKind
from models.state import JourneyState
from models.work import TaskKind
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from runtime.search_attributes import ALL_KEYS
from tests.builders import PRIMARY, ratings
from tests.conftest import encrypted_converter
from tests.workflows.driver import JourneyDriver
from worker import create_worker
from workflows.temporal_policy import journey_workflow_id

HERE = Path(__file__).parent
JOURNEY = "J-HISTORY"


async def _assess_and_accept(j: JourneyDriver, **overrides: int) -> None:
    """Assess and decide the open reassessment as callers do now: the journey fills in the
    reassessment, the assessment's kind and its id (histories before carry them)."""
    assessment = RecordAssessment(dimensions=ratings(**overrides), assessed_by=j.clinician)
    await j.service.send(JOURNEY, assessment)
    await j.service.send(JOURNEY, DecideTransition(decided_by=j.decider, accept=True))


async def main() -> str:
    """Drive a short journey with every kind of step; returns its history as JSON."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=encrypted_converter(),
        search_attributes=list(ALL_KEYS),
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/history.db"
        await migrate(url)
        engine = create_engine(url)
        queue = f"history-{uuid.uuid4().hex[:8]}"
        async with create_worker(env.client, queue, sessionmaker(engine)):
            j = await JourneyDriver.start(env, queue, JOURNEY)
            await _assess_and_accept(j, d1=3, d2=2)
            # A command that leaves the next deadline where it was.
            await j.service.send(
                JOURNEY, RecordInstrument(code="GAD-7", answers=[1] * 7, recorded_by=PRIMARY)
            )
            await j.service.send(
                JOURNEY, ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by=PRIMARY)
            )
            await _assess_and_accept(j, d5=3, d6=3)
            # Safety work handed over at discharge keeps the run going until it is done.
            # Twice: the second firing tightens the open follow-up (bounded open work).
            for _ in range(2):
                await j.service.send(
                    JOURNEY,
                    RecordInstrument(code="PHQ-9", answers=[0] * 8 + [1], recorded_by=PRIMARY),
                )
            follow_up = next(
                t.task_id for t in (await j.state()).tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP
            )
            await j.service.send(
                JOURNEY,
                Discharge(
                    discharged_by=PRIMARY,
                    reason=DischargeReason.TRANSFERRED,
                    dispositions=[WorkDisposition(item_id=follow_up, hand_to="rn-baker")],
                ),
            )
            await j.service.send(JOURNEY, CompleteTask(task_id=follow_up, completed_by="rn-baker"))
            handle = env.client.get_workflow_handle(
                journey_workflow_id(JOURNEY), result_type=JourneyState
            )
            await handle.result()
            history = await handle.fetch_history()
        await engine.dispose()
    await env.shutdown()
    return history.to_json()


if __name__ == "__main__":
    if len(sys.argv) != 2 or (HERE / f"{sys.argv[1]}.json").exists():
        sys.exit("usage: python -m tests.histories.record NAME (a name not recorded yet)")
    out = HERE / f"{sys.argv[1]}.json"
    out.write_text(asyncio.run(main()))
    print(f"wrote {out}")
