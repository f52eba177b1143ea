"""Staff accounts keep only token hashes; the audit log refuses changes in the database."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.staff import StaffRole
from readmodel.access import AccessRepository, StaffExistsError, hash_token
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import alembic_config, migrate
from tests.readmodel.support import Sessions


async def test_audit_log_is_append_only_in_the_database(sessions: Sessions) -> None:
    access = AccessRepository(sessions)
    await access.record("th-chen", "GET /journeys/{journey_id}", "J-1", "ok")
    for statement in ("UPDATE audit_log SET outcome = 'edited'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(text(statement))
    entries = await access.audit_log()
    assert [(e.actor, e.outcome) for e in entries] == [("th-chen", "ok")]


async def test_an_audit_entry_keeps_its_detail_cut_to_the_column(sessions: Sessions) -> None:
    access = AccessRepository(sessions)
    await access.record("sv-gray", "policy.migrate", "J-1", "ok", detail="x" * 600)
    await access.record("sv-gray", "policy.migrate", "J-2", "ok")
    entries = await access.audit_log()
    assert [(e.journey_id, e.detail) for e in entries] == [("J-2", None), ("J-1", "x" * 500)]


async def test_staff_tokens_are_stored_hashed(sessions: Sessions) -> None:
    access = AccessRepository(sessions)
    token = await access.add_staff("sv-gray", StaffRole.SUPERVISOR)
    async with sessions() as session:
        stored = (await session.execute(text("SELECT token_hash FROM staff"))).scalar_one()
    assert token not in stored
    assert stored == hash_token(token)
    staff = await access.authenticate(token)
    assert staff is not None
    assert (staff.staff_id, staff.role) == ("sv-gray", "supervisor")
    assert await access.authenticate(token + "x") is None
    with pytest.raises(StaffExistsError):
        await access.add_staff("sv-gray", StaffRole.ADMIN)


async def test_a_token_issued_before_expiry_existed_works_for_the_grace_period(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'legacy.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0005")
    engine = create_engine(url)
    token = "legacy-token-of-an-account-from-before-0006"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO staff (staff_id, role, token_hash, created_at, active,"
                " email_enabled, email_urgent_only)"
                " VALUES ('th-old', 'clinician', :hash, :at, true, false, false)"
            ),
            {"hash": hash_token(token), "at": datetime(2025, 1, 1)},
        )
    await migrate(url)
    upgraded = datetime.now(UTC)
    sessions = sessionmaker(engine)
    try:
        assert await AccessRepository(sessions).authenticate(token) is not None
        grace = upgraded + timedelta(days=90)
        later = AccessRepository(sessions, clock=lambda: grace - timedelta(minutes=5))
        assert await later.authenticate(token) is not None
        expired = AccessRepository(sessions, clock=lambda: grace + timedelta(minutes=5))
        assert await expired.authenticate(token) is None
    finally:
        await engine.dispose()
