"""Consents and the accounting of disclosures over the API: recorded and revoked by staff who
may see the client, refused (404, as a missing client) to anyone else, audited by id only."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.api.conftest import ApiStack, open_as

RECORD = {"legal_name": {"given": "Maria", "family": "Alvarez"}, "date_of_birth": "1988-04-12"}
TODAY = datetime.now(UTC).date()
TERMS = {
    "recipient": "Riverside Primary Care", "recipient_kind": "organisation",
    "purpose": "treatment", "data": ["episodes", "instrument_scores"],
    "effective_from": str(TODAY), "expires_on": str(TODAY + timedelta(days=365)),
    "signed_at": datetime.now(UTC).isoformat(),
}  # fmt: skip


async def _client(api: ApiStack, journey: str) -> str:
    async with api.client("ops-1") as http:
        created = await http.post("/clients", json=RECORD)
    assert created.status_code == 201, created.text
    client = str(created.json()["client_id"])
    await open_as(api, journey, "ops-1", client_id=client)
    # The care team sees the client once the journey's start reaches the read model.
    async with api.client("th-chen") as http:
        for _ in range(100):
            if (await http.get(f"/clients/{client}")).status_code == 200:
                break
            await asyncio.sleep(0.1)
    return client


async def test_a_consent_is_recorded_listed_and_revoked(api: ApiStack) -> None:
    client = await _client(api, "J-CONSENT-1")
    async with api.client("th-chen") as http:
        recorded = await http.post(f"/clients/{client}/consents", json=TERMS)
        assert recorded.status_code == 201, recorded.text
        consent = recorded.json()
        assert (consent["recorded_by"], consent["revoked_at"]) == ("th-chen", None)
        listed = (await http.get(f"/clients/{client}/consents")).json()
        assert [c["consent_id"] for c in listed] == [consent["consent_id"]]
        revoked = await http.post(f"/clients/{client}/consents/{consent['consent_id']}/revoke")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_by"] == "th-chen"
        unknown = await http.post(f"/clients/{client}/consents/CONS-NOSUCH/revoke")
        assert unknown.status_code == 404
        assert (await http.get(f"/clients/{client}/disclosures")).json() == []
    entries = await api.services.access.audit_log(limit=20)
    mine = [e for e in entries if e.actor == "th-chen" and "consents" in e.action]
    assert mine
    assert all("Alvarez" not in (e.detail or "") for e in entries)


async def test_bad_terms_are_refused_and_nothing_is_recorded(api: ApiStack) -> None:
    client = await _client(api, "J-CONSENT-2")
    async with api.client("th-chen") as http:
        for bad in (
            {**TERMS, "purpose": "other"},  # other needs purpose_detail
            {**TERMS, "data": []},
            {**TERMS, "recipient": "x" * 501},
            {**TERMS, "expires_on": str(TODAY - timedelta(days=10))},
            {**TERMS, "recorded_by": "someone-else"},
        ):
            refused = await http.post(f"/clients/{client}/consents", json=bad)
            assert refused.status_code == 422, bad
            assert "x" * 100 not in refused.text
        assert (await http.get(f"/clients/{client}/consents")).json() == []


async def test_a_client_outside_ones_teams_answers_as_a_missing_one(api: ApiStack) -> None:
    client = await _client(api, "J-CONSENT-3")
    async with api.client("th-other") as http:
        hidden = await http.post(f"/clients/{client}/consents", json=TERMS)
        missing = await http.post("/clients/C-NOSUCHCLNT/consents", json=TERMS)
        accounting = await http.get(f"/clients/{client}/disclosures")
    assert hidden.status_code == missing.status_code == accounting.status_code == 404
    assert hidden.json() == missing.json()
