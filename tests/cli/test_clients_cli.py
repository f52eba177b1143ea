"""``journeys client add|show|find|edit`` in direct mode, each call audited under --by (over
--api: ``tests/api/test_clients_api.py``)."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.direct import DirectBackend
from cli.main import app
from models.client import ClientRecord
from models.commands import OpenJourney
from readmodel.access import AccessRepository
from readmodel.db import create_engine, sessionmaker
from runtime.settings import Settings, get_settings
from service.journeys import JourneyError
from tests.builders import start_command
from tests.stack import api_services

NAME = ["--given", "Wilhelmina", "--family", "Achterberg", "--dob", "1991-02-05"]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'journeys.db'}"
    monkeypatch.setenv("JOURNEYS_DATABASE_URL", url)
    monkeypatch.setenv("JOURNEYS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def journeys(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.output


def test_add_find_show_and_edit_in_direct_mode_each_audited(database: str) -> None:
    code, out = journeys("client", "add", *NAME, "--identifier", "urn:ehr:mrn|MRN-31337",
                         "--by", "ops-1", "--json")  # fmt: skip
    assert code == 0, out
    client_id = json.loads(out)["client_id"]
    code, out = journeys("client", "find", "--name", "wilhelmina achterberg", "--by", "ops-1")
    assert code == 0, out
    assert client_id in out
    code, out = journeys("client", "find", "--name", "Wilhelmina", "--by", "ops-1")
    assert "no client matches" in out
    code, out = journeys("client", "edit", client_id, "--phone", "3035550111", "--by", "ops-1",
                         "--json")  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["record"]["phone"] == "3035550111"
    assert json.loads(out)["record"]["identifiers"][0]["value"] == "MRN-31337"
    code, out = journeys("client", "show", client_id, "--by", "ops-1")
    assert code == 0, out
    assert "Wilhelmina Achterberg" in out
    assert "MRN-31337" in out
    code, out = journeys("client", "find", "--mrn", "MRN-31337", "--by", "ops-1", "--json")
    assert [c["client_id"] for c in json.loads(out)] == [client_id]

    entries = asyncio.run(audit(database))
    assert [(e.actor, e.action, e.outcome) for e in reversed(entries)] == [
        ("ops-1", "client.add", "ok"),
        ("ops-1", "client.find", "ok"),
        ("ops-1", "client.find", "ok"),
        ("ops-1", "client.show", "ok"),  # edit reads the record it changes
        ("ops-1", "client.edit", "ok"),
        ("ops-1", "client.show", "ok"),
        ("ops-1", "client.find", "ok"),
    ]
    details = " ".join(e.detail or "" for e in entries)
    assert client_id in details
    for secret in ("Wilhelmina", "Achterberg", "1991-02-05", "MRN-31337", "3035550111"):
        assert secret not in details


async def audit(url: str) -> list:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        return await AccessRepository(sessionmaker(engine)).audit_log()
    finally:
        await engine.dispose()


def test_bad_values_and_unknown_clients_are_one_line_and_exit_1(database: str) -> None:
    code, out = journeys("client", "add", *NAME, "--phone", "ring me", "--by", "ops-1")
    assert code == 1
    assert out.strip().startswith("error: phone:")
    assert "ring me" not in out
    code, out = journeys("client", "show", "C-NOSUCH2345", "--by", "ops-1")
    assert (code, out.strip()) == (1, "error: client not found")
    code, out = journeys("client", "add", *NAME, "--identifier", "no-bar", "--by", "ops-1")
    assert code == 1
    code, _ = journeys("client", "show", "C-NOSUCH2345")
    assert code == 2  # --by is required without --api


async def test_start_with_a_client_links_it_and_an_unknown_client_starts_nothing(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with api_services(dev_env, tmp_path) as services:
        record = ClientRecord.model_validate_json(
            json.dumps({"legal_name": {"given": "Odile", "family": "Varga"},
                        "date_of_birth": "1975-06-01"})
        )  # fmt: skip
        await services.clients.add("C-CLIENT2345", record)
        direct = DirectBackend(
            Settings(_env_file=None), services.journeys, services.queries, reader="ops-1"
        )
        team = start_command("J-UNUSED").care_team
        with pytest.raises(JourneyError, match="--client: no such client"):
            await direct.start(OpenJourney(care_team=team, client_id="C-NOSUCH2345"), "th-chen")
        journey = await direct.start(
            OpenJourney(care_team=team, client_id="C-CLIENT2345"), "th-chen"
        )
        for _ in range(100):
            linked = await services.clients.journeys("C-CLIENT2345")
            if linked:
                break
            await asyncio.sleep(0.05)
        assert [j.journey_id for j in linked] == [journey]
        assert (await services.journeys.state(journey)).client_id == "C-CLIENT2345"
