"""Staff accounts keep only token hashes; the audit log refuses changes in the database."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.staff import StaffRole
from readmodel.access import AccessRepository, StaffExistsError, hash_token
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
