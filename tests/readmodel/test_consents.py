"""Consents and disclosures (42 CFR Part 2) on SQLite and PostgreSQL: a disclosure needs an
active consent covering recipient, purpose and data; revocation stops the next one at once;
every disclosure is logged with the notice, and the accounting lists them."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from models.consent import (
    PART2_NOTICE,
    ConsentTerms,
    DataClass,
    Purpose,
    RecipientKind,
)
from readmodel.consents import ConsentStore, DisclosureRefusedError, UnknownConsentError
from tests.readmodel.support import Sessions

TODAY = datetime.now(UTC).date()
CLINIC = "Riverside Primary Care"


def _terms(**changes: object) -> ConsentTerms:
    terms = {
        "recipient": CLINIC, "recipient_kind": RecipientKind.ORGANISATION,
        "purpose": Purpose.TREATMENT, "data": [DataClass.EPISODES, DataClass.INSTRUMENT_SCORES],
        "effective_from": TODAY - timedelta(days=1), "expires_on": TODAY + timedelta(days=30),
        "signed_at": datetime.now(UTC) - timedelta(days=1),
    }  # fmt: skip
    return ConsentTerms.model_validate({**terms, **changes})


async def _refused(store: ConsentStore, **ask: object) -> str:
    with pytest.raises(DisclosureRefusedError) as refused:
        await store.covering(
            "C-1", str(ask.get("recipient", CLINIC)), Purpose(str(ask.get("purpose", "treatment"))),
            list(ask.get("data", [DataClass.EPISODES])),  # type: ignore[call-overload]
        )  # fmt: skip
    return str(refused.value)


async def test_without_a_consent_a_disclosure_is_refused(sessions: Sessions) -> None:
    store = ConsentStore(sessions)
    assert await _refused(store) == "no consent names this recipient"
    assert await store.disclosures("C-1") == []


async def test_a_consent_allows_what_it_names_and_nothing_else(sessions: Sessions) -> None:
    store = ConsentStore(sessions)
    consent = await store.add("C-1", _terms(), "th-chen")
    covering = await store.covering("C-1", " riverside primary care ", Purpose.TREATMENT,
                                    [DataClass.EPISODES])  # fmt: skip
    assert covering.consent_id == consent.consent_id
    assert "purpose payment" in await _refused(store, purpose="payment")
    assert "all of the data" in await _refused(store, data=[DataClass.TREATMENT_PLANS])
    assert await _refused(store, recipient="Another Clinic") == "no consent names this recipient"
    # Another client's consent covers nothing of this one.
    assert await store.consents("C-2") == []


async def test_expired_and_future_consents_cover_nothing(sessions: Sessions) -> None:
    store = ConsentStore(sessions)
    await store.add("C-1", _terms(effective_from=TODAY - timedelta(days=60),
                                  expires_on=TODAY - timedelta(days=1)), "th-chen")  # fmt: skip
    assert await _refused(store) == "the consent for this recipient has expired"
    await store.add("C-1", _terms(effective_from=TODAY + timedelta(days=2), expires_on=None),
                    "th-chen")  # fmt: skip
    assert "not yet in effect" in await _refused(store)


async def test_revocation_stops_the_next_disclosure_at_once(sessions: Sessions) -> None:
    store = ConsentStore(sessions)
    consent = await store.add("C-1", _terms(), "th-chen")
    granted = await store.covering("C-1", CLINIC, Purpose.TREATMENT, [DataClass.EPISODES])
    first = await store.disclose("C-1", granted, [DataClass.EPISODES], "FHIR Bundle, 12 entries",
                                 "fhir_export", "th-chen")  # fmt: skip
    revoked = await store.revoke("C-1", consent.consent_id, "th-chen")
    assert revoked.revoked_at is not None
    # A disclosure checked before the revocation but written after it is stopped too.
    with pytest.raises(DisclosureRefusedError):
        await store.disclose("C-1", granted, [DataClass.EPISODES], "again", "fhir_export",
                             "th-chen")  # fmt: skip
    assert await _refused(store) == "the consent for this recipient was revoked"
    again = await store.revoke("C-1", consent.consent_id, "sv-gray")
    assert (again.revoked_at, again.revoked_by) == (revoked.revoked_at, "th-chen")
    with pytest.raises(UnknownConsentError):
        await store.revoke("C-2", consent.consent_id, "th-chen")
    (logged,) = await store.disclosures("C-1")
    assert logged == first
    assert (logged.consent_id, logged.recipient, logged.purpose) == (
        consent.consent_id, CLINIC, Purpose.TREATMENT,
    )  # fmt: skip
    assert logged.notice == PART2_NOTICE
    assert "42 CFR part 2" in logged.notice


async def test_all_records_covers_every_class(sessions: Sessions) -> None:
    store = ConsentStore(sessions)
    await store.add("C-1", _terms(data=[DataClass.ALL_RECORDS], purpose=Purpose.PAYMENT), "ops-1")
    every: list[DataClass] = [d for d in DataClass if d is not DataClass.ALL_RECORDS]
    assert await store.covering("C-1", CLINIC, Purpose.PAYMENT, every)


def test_terms_are_checked_before_anything_is_stored() -> None:
    cases: list[dict[str, object]] = [
        {"purpose": Purpose.OTHER},  # other needs its words
        {"expires_on": TODAY - timedelta(days=30)},  # before it starts
        {"data": []},
        {"data": [DataClass.EPISODES, DataClass.EPISODES]},
        {"recipient": "x" * 501},
        {"effective_from": "2026-02-30"},
    ]
    for bad in cases:
        with pytest.raises((ValidationError, ValueError)):
            _terms(**bad)
    assert _terms(purpose=Purpose.OTHER, purpose_detail="research registry").purpose_detail
