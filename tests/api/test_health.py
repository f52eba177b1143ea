"""``GET /health`` tells the truth: a read model that cannot be written is down, and the answer
says how far behind the projections and the deliveries are, without client data or ids."""

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from models.delivery import DeliveryStatus
from readmodel.tables import DeliveryRow
from tests.api.conftest import ApiStack
from tests.factories import batch, event, summary
from tests.readmodel.support import apply_all

# Far below SQLite's own busy timeout (30 s): the check must give up on its own, well before.
BOUND_S = 20


def _database_file(api: ApiStack) -> str:
    engine = api.services.queries.sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    path = engine.url.database
    assert path
    return path


async def test_health(api: ApiStack) -> None:
    async with api.client(None) as http:
        answer = await http.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["temporal"], body["read_model"]) == ("ok", True, True)
    assert (body["read_model_reads"], body["read_model_writes"]) == (True, True)


async def test_a_read_model_that_cannot_be_written_is_down(api: ApiStack) -> None:
    # Another process holds SQLite's write lock (a long transaction, a stuck writer): reads
    # still answer under WAL, but no projection and no command can get through.
    holder = sqlite3.connect(_database_file(api), timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        async with asyncio.timeout(BOUND_S), api.client(None) as http:
            answer = await http.get("/health")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "degraded"
    assert (body["temporal"], body["read_model"]) == (True, False)
    assert (body["read_model_reads"], body["read_model_writes"]) == (True, False)
    async with api.client(None) as http:
        again = await http.get("/health")
    assert again.status_code == 200
    assert again.json()["read_model"] is True


async def test_health_reports_projection_and_delivery_lag_without_ids(api: ApiStack) -> None:
    now = datetime.now(UTC)
    newest = now - timedelta(minutes=5)
    await apply_all(
        api.services.queries.sessions,
        [batch(summary("J-HEALTH-1", 2, updated_at=newest), events=[event(2, at=newest)])],
    )
    waiting = now - timedelta(hours=1)
    async with api.services.queries.sessions.begin() as session:
        for n, status in enumerate([DeliveryStatus.PENDING, DeliveryStatus.PENDING,
                                    DeliveryStatus.SENT]):  # fmt: skip
            created = waiting + timedelta(minutes=10 * n)
            session.add(
                DeliveryRow(
                    key=f"J-HEALTH-1:2:ehr-{n}:webhook", channel="webhook", target=f"ehr-{n}",
                    journey_id="J-HEALTH-1", seq=2, kind="phase_changed", priority="routine",
                    occurred_at=newest, due_at=None, status=status.value, started=True,
                    attempts=1, last_error=None, replays=0, created_at=created, sent_at=None,
                    dead_at=None,
                )
            )  # fmt: skip
    async with api.client(None) as http:
        answer = await http.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "status", "temporal", "read_model", "read_model_reads", "read_model_writes",
        "newest_event_age_s", "pending_deliveries", "oldest_pending_delivery_age_s",
    }  # fmt: skip
    assert body["status"] == "ok"
    # The newest journey event in the read model is five minutes old (or newer, if another
    # test of this module wrote one since); the oldest pending delivery an hour.
    assert 0 <= body["newest_event_age_s"] <= 5 * 60 + BOUND_S
    assert body["pending_deliveries"] == 2
    assert 60 * 60 <= body["oldest_pending_delivery_age_s"] <= 60 * 60 + BOUND_S
    # Figures only: no journey, delivery or staff id, no event kind.
    for text in ("J-HEALTH", "ehr-", "phase_changed", "th-chen"):
        assert text not in answer.text
