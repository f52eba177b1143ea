"""Client records on SQLite and PostgreSQL: sealed at rest, found only by exact match through
keyed blind indexes, still readable and found after a key rotation, scoped to care teams."""

import json
import os
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from models.client import ClientRecord
from models.staff import StaffRole
from models.views import StaffAccount
from readmodel.clients import ClientKeys, ClientSearch, ClientStore
from readmodel.tables import JourneyRow, MemberRow
from tests.readmodel.support import Sessions

OLD = {"old": os.urandom(32)}
RECORD = {
    "legal_name": {"given": "Marisol", "family": "Quintanilla-Reyes"},
    "preferred_name": "Sol",
    "pronouns": "she/her",
    "date_of_birth": "1987-03-14",
    "sex_at_birth": "female",
    "preferred_language": "es-MX",
    "interpreter_needed": True,
    "identifiers": [{"system": "urn:ehr:mrn", "value": "MRN-558812"}],
    "phone": "+1 303 555 0199",
    "email": "sol.q@example.org",
    "address": {"lines": ["4471 Tamarack Lane"], "city": "Boulder", "postal_code": "80301"},
    "emergency_contact": {"name": "Ignacio Reyes", "relationship": "brother",
                          "phone": "3035550142"},
    "payer": {"name": "Front Range Health Plan", "member_id": "FRH7730021", "approved_loc": "3.5",
              "authorization_start": "2026-11-01", "authorization_end": "2026-12-15"},
    "court": {"court_ordered": True, "reporting_requirements": "Monthly attendance to Judge X"},
}  # fmt: skip
SECRETS = [
    "Marisol", "Quintanilla", "1987-03-14", "MRN-558812", "555 0199", "Tamarack", "FRH7730021",
    "Ignacio", "sol.q@example.org", "Front Range",
]  # fmt: skip


def record(**changes: object) -> ClientRecord:
    """The test record (read as JSON, as the API reads it) with ``changes``."""
    return ClientRecord.model_validate_json(json.dumps({**RECORD, **changes}))


def store(sessions: Sessions, keys: dict[str, bytes], active: str) -> ClientStore:
    return ClientStore(sessions, ClientKeys.of(keys, active))


async def raw_bytes(sessions: Sessions) -> bytes:
    """Every value of the client tables as the database holds them."""
    async with sessions() as session:
        rows = [
            *(await session.execute(text("SELECT * FROM clients"))).all(),
            *(await session.execute(text("SELECT * FROM client_index"))).all(),
        ]
    return repr(rows).encode()


async def test_the_database_holds_no_identifier_in_plain_text(sessions: Sessions) -> None:
    clients = store(sessions, OLD, "old")
    added = await clients.add("C-AAAAAAAAAA", record())
    raw = await raw_bytes(sessions)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
        assert secret.lower().encode() not in raw.lower(), secret
    assert added.record == record()
    got = await clients.get("C-AAAAAAAAAA")
    assert got is not None
    assert got.record == record()


async def test_search_is_exact_by_name_dob_and_mrn(sessions: Sessions) -> None:
    clients = store(sessions, OLD, "old")
    await clients.add("C-AAAAAAAAAA", record())
    other = {"given": "Marisol", "family": "Quintana"}
    await clients.add("C-BBBBBBBBBB", record(legal_name=other, identifiers=[]))

    async def ids(**criteria: object) -> list[str]:
        return [c.client_id for c in await clients.find(ClientSearch(**criteria))]  # type: ignore[arg-type]

    assert await ids(name="marisol  QUINTANILLA-reyes") == ["C-AAAAAAAAAA"]
    assert await ids(name="Sol Quintanilla-Reyes") == ["C-AAAAAAAAAA"]  # preferred name
    assert await ids(name="Marisol") == []  # no partial match
    assert await ids(name="Marisol Quintanill") == []
    assert await ids(dob=date(1987, 3, 14)) == ["C-AAAAAAAAAA", "C-BBBBBBBBBB"]
    assert await ids(dob=date(1987, 3, 14), name="Marisol Quintana") == ["C-BBBBBBBBBB"]
    assert await ids(mrn="MRN-558812") == ["C-AAAAAAAAAA"]
    assert await ids(mrn="MRN-55881") == []
    with pytest.raises(ValueError, match="at least one"):
        await clients.find(ClientSearch())


async def test_after_a_key_rotation_old_records_open_and_are_found(sessions: Sessions) -> None:
    await store(sessions, OLD, "old").add("C-AAAAAAAAAA", record())
    rotated = store(sessions, {**OLD, "new": os.urandom(32)}, "new")
    got = await rotated.get("C-AAAAAAAAAA")
    assert got is not None
    assert got.record == record()
    assert [c.client_id for c in await rotated.find(ClientSearch(mrn="MRN-558812"))] == [
        "C-AAAAAAAAAA"
    ]
    # An edit re-seals and re-indexes under the new key; both searches still find it.
    await rotated.update("C-AAAAAAAAAA", record(phone="3035550100"))
    raw = await raw_bytes(sessions)
    assert b"sealed:old:" not in raw
    assert b"sealed:new:" in raw
    assert b"'old:" not in raw
    found = await rotated.find(
        ClientSearch(name="Marisol Quintanilla-Reyes", dob=date(1987, 3, 14))
    )
    assert [c.record.phone for c in found] == ["3035550100"]
    # A ring without the key a record names cannot open it.
    with pytest.raises(Exception, match="unknown key"):
        await store(sessions, {"other": os.urandom(32)}, "other").get("C-AAAAAAAAAA")


async def test_a_clinician_sees_only_clients_of_their_care_teams(sessions: Sessions) -> None:
    clients = store(sessions, OLD, "old")
    await clients.add("C-AAAAAAAAAA", record())
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        for journey in ("J-FIRST00001", "J-SECOND0002"):
            session.add(
                JourneyRow(
                    journey_id=journey, phase="intake", loc_code=None, discharge_reason=None,
                    policy_version="p@1", primary_clinician="th-chen", next_review_due=None,
                    reassessment_due=None, urgent=False, client_id="C-AAAAAAAAAA",
                    started_at=now, updated_at=now, ended_at=None, last_seq=1,
                )
            )  # fmt: skip
        session.add(MemberRow(journey_id="J-SECOND0002", member_id="th-chen", role="therapist",
                              primary=True))  # fmt: skip
    chen = StaffAccount(staff_id="th-chen", role=StaffRole.CLINICIAN)
    other = StaffAccount(staff_id="th-other", role=StaffRole.CLINICIAN)
    ops = StaffAccount(staff_id="ops-1", role=StaffRole.OPERATIONS)
    assert await clients.can_see(chen, "C-AAAAAAAAAA")
    assert not await clients.can_see(other, "C-AAAAAAAAAA")
    assert await clients.can_see(ops, "C-AAAAAAAAAA")
    journeys = await clients.journeys("C-AAAAAAAAAA")
    assert {j.journey_id for j in journeys} == {"J-FIRST00001", "J-SECOND0002"}
    assert {j.client_id for j in journeys} == {"C-AAAAAAAAAA"}


def test_every_text_and_list_of_the_record_is_bounded() -> None:
    from tests.clinical.test_validator_properties import _unbounded

    schema = ClientRecord.model_json_schema()
    assert _unbounded(schema, schema.get("$defs", {}), "ClientRecord", set()) == []
