"""A worker killed between a projection and its workflow task's completion: once the retried
task has run, every journey's read model equals its live state (the history).

The dying worker (``tests/integration/dying_worker.py``) is the real worker that kills itself
right after it logged ``readmodel.projected`` for a decision. The decision's workflow task never
completes; a new worker runs it again after the workflow-task timeout, with a clock about 10 s
later and the same sequence. The command then finishes, and the read model must hold what that
retried task decided: review due time, segment, reassessment, event and notification times.
"""

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence

import pytest
from pydantic import BaseModel

from models.journey import EventKind
from models.state import JourneyState
from models.views import Timeline
from readmodel import rows
from readmodel.db import create_engine, sessionmaker
from readmodel.queries import JourneyQueries
from runtime.client import connect
from runtime.settings import Settings
from service.journeys import JourneyService
from tests.integration.test_cli_journey import BIN, ROOT, TEAM, Worker, as_json, journeys, stack
from workflows.projection import build_batch

__all__ = ["stack"]  # the module-scoped dev server fixture

RATINGS = "d1=3,d2=2,d3=1,d4=1,d5=3,d6=3"  # recommends 3.7-WM


def _assessed(env: dict[str, str]) -> str:
    """A new journey whose intake assessment waits for a decision."""
    journey = journeys(env, "start", *TEAM, "--by", "ops-1").stdout.strip()
    journeys(env, "assess", journey, "--ratings", RATINGS, "--by", "th-chen")
    return journey


def test_a_worker_killed_after_projecting_a_decision_leaves_the_history_in_the_read_model(
    stack: dict[str, str],
) -> None:
    env = stack
    worker = Worker(env)
    worker.start()
    try:
        control = _assessed(env)
        journeys(env, "decide", control, "--accept", "--by", "dr-ames")
        crashed = _assessed(env)
        worker.kill()
        dying = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.dying_worker"],
            env={**env, "JOURNEYS_TEST_DIE_AFTER_PROJECTING": EventKind.REASSESSMENT_COMPLETED},
            cwd=ROOT,
        )
        deciding = subprocess.Popen(
            [str(BIN / "journeys"), "decide", crashed, "--accept", "--by", "dr-ames"],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            # It dies by its own hand once the decision is in the read model.
            assert dying.wait(timeout=120) == -signal.SIGKILL
        finally:
            dying.kill()
        worker.start()
        out, err = deciding.communicate(timeout=120)
        assert deciding.returncode == 0, err
        assert "withdrawal_management" in out
        listed = [
            row["journey_id"] for row in as_json(journeys(env, "list", "--by", "ops-1", "--json"))
        ]
        assert sorted(listed) == sorted([control, crashed])
        differences = asyncio.run(_differences_of(env, listed))
    finally:
        worker.kill()
    assert sorted(differences) == sorted([control, crashed])
    for journey_id, found in differences.items():
        assert not found, "\n".join([journey_id, *found])


async def _differences_of(env: dict[str, str], journey_ids: list[str]) -> dict[str, list[str]]:
    """For each journey, where its read model differs from its live state."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings()
    client = await connect(settings)
    engine = create_engine(settings.effective_database_url)
    try:
        service = JourneyService(client, settings.task_queue)
        queries = JourneyQueries(sessionmaker(engine))
        out = {}
        for journey_id in journey_ids:
            timeline = await queries.get_timeline(journey_id)
            assert timeline is not None
            out[journey_id] = differences(await service.state(journey_id), timeline)
        return out
    finally:
        await engine.dispose()


def differences(state: JourneyState, timeline: Timeline) -> list[str]:
    """Where the read model says something other than the live state.

    Rows are compared with what a full projection of the state writes (the times of the
    journey's own events are in the rows: segment starts, decisions, due times); events are
    compared with the segments and reassessments they record, notifications with their events.
    """
    batch = build_batch(state)
    out = _rows_differ("journey", [rows.journey_row(batch)], [timeline.summary], "journey_id")
    # A full projection's summary has no events to take its time from: the events say it.
    out = [d for d in out if "updated_at" not in d and "last_seq" not in d]
    if timeline.summary.last_seq != state.seq:
        out.append(f"journey: last_seq {timeline.summary.last_seq} != {state.seq}")
    out += _rows_differ("segment", rows.segment_rows(batch), timeline.segments, "index")
    out += _rows_differ(
        "reassessment", rows.reassessment_rows(batch), timeline.reassessments, "reassessment_id"
    )
    out += _rows_differ("task", rows.task_rows(batch), timeline.tasks, "task_id")
    out += _events_differ(state, timeline)
    return out


def _rows_differ(
    name: str, expected: Sequence[Mapping[str, object]], stored: Sequence[BaseModel], key: str
) -> list[str]:
    have = {getattr(view, key): view.model_dump() for view in stored}
    out = []
    for row in expected:
        view = have.get(row[key])
        if view is None:
            out.append(f"{name} {row[key]}: missing")
            continue
        out += [
            f"{name} {row[key]}: {column} {view[column]!r} != {value!r}"
            for column, value in row.items()
            if column in view and view[column] != value
        ]
    return out


def _events_differ(state: JourneyState, timeline: Timeline) -> list[str]:
    out = []
    decided = {r.reassessment_id: r.closed_at for r in state.reassessments if r.decision}
    for e in timeline.events:
        decision = decided.get(str(e.refs.get("reassessment_id")))
        if e.kind is EventKind.REASSESSMENT_COMPLETED and e.occurred_at != decision:
            out.append(f"event {e.seq}: at {e.occurred_at} != {decision}")
    moves = {e.occurred_at for e in timeline.events if e.kind is EventKind.LOC_CHANGED}
    starts = {s.effective_at for s in state.segments if s.loc_code is not None}
    if moves != starts:
        out.append(f"level-of-care events at {sorted(moves)} != segments from {sorted(starts)}")
    at = {e.seq: e.occurred_at for e in timeline.events}
    out += [
        f"notification {n.id}: at {n.created_at} != event {n.seq} at {at.get(n.seq)}"
        for n in timeline.notifications
        if n.created_at != at.get(n.seq)
    ]
    repeated = Counter((n.seq, n.recipient) for n in timeline.notifications)
    out += [f"notification {key} stored {n} times" for key, n in repeated.items() if n > 1]
    return out
