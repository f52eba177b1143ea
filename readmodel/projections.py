"""Apply a projection batch: upserts guarded by the event sequence, idempotent notifications.

Retries, replays and batches arriving out of order never duplicate a row or move one backwards:
rows carrying state are replaced by a batch of the same or a newer sequence and never by an older
one. Rows recording something that happened (events, plan versions, notifications) are written by
the batch that carries them and replaced only by a batch that is the journey's newest: a workflow
task retried after its worker died (between this write and the task's completion) computes the
same sequence again at a later time, and the history holds the retry, so the read model must too.
Notifications keep their key and id (a replaced one is neither a new feed row nor a new delivery).
"""

import asyncio
import functools
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Table,
    Update,
    bindparam,
    delete,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from models.state import ProjectionBatch
from readmodel import rows
from readmodel.db import create_sync_engine, insert_for
from readmodel.rows import NotificationValues, Row
from readmodel.tables import (
    Base,
    EventRow,
    JourneyRow,
    MemberRow,
    NotificationRow,
    PlanVersionRow,
    ReassessmentRow,
    SegmentRow,
    TaskRow,
)

# The advisory lock that orders feed notifications (a key of its own: the migration lock is
# readmodel.migrate.PG_LOCK_KEY).
FEED_ORDER_LOCK = 0x6A6F75726E_0001


class ProjectionWriter:
    """Writes batches, one transaction each.

    On SQLite every batch runs whole on one writer thread with a plain sqlite3 connection: one
    hand-off per batch instead of one per statement, and writers of this process queue in order
    instead of sleeping in SQLite's busy handler (SQLite takes one writer at a time anyway).
    On PostgreSQL batches run concurrently on the async engine's pool.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        # A database in memory lives in its connection: only the async engine can reach it.
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self._sync = create_sync_engine(engine.url)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="readmodel-writer")
            # The thread and its connections go when the writer does (with its worker).
            weakref.finalize(self, _release, self._thread, self._sync)

    async def apply(self, batch: ProjectionBatch) -> int:
        """Write one batch; returns how many feed notifications were new."""
        if self._sync is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._apply_sync, batch)
        async with self._engine.begin() as conn:
            return await conn.run_sync(apply_batch, batch)

    def _apply_sync(self, batch: ProjectionBatch) -> int:
        assert self._sync is not None
        with self._sync.begin() as conn:
            return apply_batch(conn, batch)


def _release(thread: ThreadPoolExecutor, engine: Engine) -> None:
    thread.shutdown(wait=False)
    engine.dispose()


def apply_batch(conn: Connection, batch: ProjectionBatch) -> int:
    """Write one batch inside the caller's transaction.

    Args:
        conn: a connection in a transaction; the caller commits.
        batch: the journey's changes as of ``batch.summary.seq``.

    Returns:
        How many feed notifications were new.
    """
    # The journey row goes first. On PostgreSQL its row lock then orders concurrent batches
    # of one journey; on SQLite the first statement takes the write lock, so the
    # transaction never has to upgrade a read lock (which fails at once under WAL).
    # Written when no newer sequence is stored: the journey's newest batch, or that batch again.
    newest = bool(_upsert(conn, JourneyRow, [rows.journey_row(batch)], "last_seq", same=True))
    if newest and batch.care_team_changed:
        _replace_members(conn, batch)
    # A row of the same sequence is rewritten only by the newest batch (a task keeps the
    # sequence of its last change, which an older batch can carry too).
    _upsert(conn, SegmentRow, rows.segment_rows(batch), "updated_seq", same=newest)
    _upsert(conn, ReassessmentRow, rows.reassessment_rows(batch), "updated_seq", same=newest)
    _upsert(conn, TaskRow, rows.task_rows(batch), "updated_seq", same=newest)
    write = _replace if newest else _insert_absent
    write(conn, EventRow, rows.event_rows(batch))
    write(conn, PlanVersionRow, rows.plan_rows(batch))
    notifications = rows.notification_rows(batch)
    if notifications:
        _take_feed_order(conn)
    new = _insert_absent(conn, NotificationRow, notifications, ("idempotency_key",))
    if newest and new < len(notifications):
        _refresh_notifications(conn, notifications)
    return new


def _take_feed_order(conn: Connection) -> None:
    """Make feed notifications commit in the order of their ids (PostgreSQL).

    The dispatcher and the live feed read notifications after the last id they saw. With
    batches committing concurrently, one holding a lower id could commit after a higher id was
    read and never be seen: its e-mail and webhook never sent. A transaction-scoped advisory
    lock, taken before the ids are drawn and held to the commit, puts the notifying part of
    each batch in a row. SQLite has one writer at a time already.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_ORDER_LOCK})


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _upsert(
    conn: Connection, model: type[Base], values: Sequence[Row], seq: str, *, same: bool
) -> int:
    """Insert, or update where the incoming sequence is newer (or, with ``same``, equal).

    Returns:
        How many rows were inserted or updated.
    """
    if not values:
        return 0
    guard = Guard.SAME_OR_NEWER if same else Guard.NEWER
    stmt = _upsert_statement(conn.dialect.name, _table(model), tuple(values[0]), seq, guard)
    return len(conn.execute(stmt, values).all())


def _replace(conn: Connection, model: type[Base], values: Sequence[Row]) -> int:
    """Insert, or overwrite the row stored under the same key; returns how many were written."""
    if not values:
        return 0
    stmt = _upsert_statement(conn.dialect.name, _table(model), tuple(values[0]), "", Guard.NONE)
    return len(conn.execute(stmt, values).all())


def _refresh_notifications(conn: Connection, values: Sequence[NotificationValues]) -> None:
    """Rewrite stored notifications from their retried event; id, key and read mark stay."""
    table = _table(NotificationRow)
    conn.execute(_refresh_statement(table), [{**v, "key": v["idempotency_key"]} for v in values])


def _insert_absent(
    conn: Connection, model: type[Base], values: Sequence[Row], keys: tuple[str, ...] = ()
) -> int:
    """Insert rows whose key is not stored yet; returns how many were new."""
    if not values:
        return 0
    return len(
        conn.execute(_insert_statement(conn.dialect.name, _table(model), keys), values).all()
    )


# Statements are built once per table and column set, and rows go as parameters: a statement
# whose shape never changes is compiled once too (building and compiling a fresh multi-row
# VALUES per batch cost most of a projection).


class Guard(Enum):
    """Which stored rows an upsert may overwrite, by their sequence column."""

    NEWER = "newer"  # only rows of an older sequence
    SAME_OR_NEWER = "same_or_newer"  # rows of an older or the same sequence
    NONE = "none"  # any row under the same key


@functools.cache
def _upsert_statement(
    dialect: str, table: Table, columns: tuple[str, ...], seq: str, guard: Guard
) -> Insert:
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert_for(dialect, table)
    where: ColumnElement[bool] | None = None
    if guard is Guard.NEWER:
        where = table.c[seq] < stmt.excluded[seq]
    elif guard is Guard.SAME_OR_NEWER:
        where = table.c[seq] <= stmt.excluded[seq]
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in columns if name not in keys},
        where=where,
    )
    # RETURNING yields only the rows written (rowcount is unreliable for upserts).
    return stmt.returning(*table.primary_key.columns, sort_by_parameter_order=True)


@functools.cache
def _refresh_statement(table: Table) -> Update:
    # What the event says (its time, kind, priority, summary) and the recipient's role.
    columns = ("kind", "priority", "summary", "created_at", "role")
    return (
        update(table)
        .where(table.c.idempotency_key == bindparam("key"))
        .values({name: bindparam(name) for name in columns})
    )


@functools.cache
def _insert_statement(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    conflict = list(keys) or [c.name for c in table.primary_key.columns]
    stmt = insert_for(dialect, table).on_conflict_do_nothing(index_elements=conflict)
    return stmt.returning(*[table.c[k] for k in conflict])


def _replace_members(conn: Connection, batch: ProjectionBatch) -> None:
    """Make the stored care team exactly the batch's (called only when the batch is newest)."""
    journey_id = batch.summary.journey_id
    conn.execute(delete(MemberRow).where(MemberRow.journey_id == journey_id))
    conn.execute(_table(MemberRow).insert(), rows.member_rows(batch))
