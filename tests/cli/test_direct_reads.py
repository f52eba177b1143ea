"""Reads in the CLI's direct mode (show, progress, list, feed) leave an audit entry each."""

import getpass
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.direct import DirectBackend
from cli.main import app
from readmodel.queries import JourneyQueries
from runtime.settings import Settings, get_settings
from service.journeys import JourneyError, JourneyNotFoundError, JourneyService
from tests.builders import start_command
from tests.portpick import free_port
from tests.stack import api_services


async def test_every_direct_read_is_audited_with_its_reader(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    journey = f"J-{uuid.uuid4().hex[:10].upper()}"
    async with api_services(dev_env, tmp_path) as services:
        await services.journeys.start(start_command(journey))
        direct = DirectBackend(
            Settings(_env_file=None), services.journeys, services.queries, reader="sv-gray"
        )
        await direct.show(journey)
        await direct.progress(journey)
        await direct.list_journeys(None, None, None, "th-chen", 50, 0)
        await direct.feed("th-chen", False, 50)
        with pytest.raises(JourneyNotFoundError):
            await direct.show("J-NOSUCH")
        entries = await services.access.audit_log()
    assert [(e.actor, e.action, e.journey_id, e.outcome) for e in reversed(entries)] == [
        ("sv-gray", "journeys.show", journey, "ok"),
        ("sv-gray", "journeys.progress", journey, "ok"),
        ("sv-gray", "journeys.list", None, "ok"),
        ("sv-gray", "journeys.feed", None, "ok"),
        ("sv-gray", "journeys.show", "J-NOSUCH", "not_found"),
    ]
    details = [e.detail or "" for e in reversed(entries)]
    assert all(d.startswith(f"direct mode; os user {getpass.getuser()}") for d in details)
    assert details[2].endswith("; member th-chen")
    assert details[3].endswith("; feed of th-chen")


async def test_a_direct_read_without_a_reader_is_refused_and_shows_nothing(
    queries: JourneyQueries,
) -> None:
    direct = DirectBackend(Settings(_env_file=None), cast(JourneyService, None), queries)
    with pytest.raises(JourneyError, match="--by"):
        await direct.feed("th-chen", False, 50)


READS = [["show", "J-X"], ["progress", "J-X"], ["list"], ["feed", "th-chen"]]


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Direct mode against a Temporal address nobody listens on and an empty data directory."""
    monkeypatch.setenv("JOURNEYS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    for name in ("JOURNEYS_DATABASE_URL", "JOURNEYS_API_URL", "JOURNEYS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("args", READS)
def test_a_direct_read_without_by_is_a_usage_error(nowhere: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "--by" in result.output
    assert "required without --api" in " ".join(result.output.split())
    assert not (nowhere / "journeys.db").exists()


@pytest.mark.parametrize("args", READS)
def test_a_direct_read_by_an_id_no_staff_could_have_is_refused(
    nowhere: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(app, [*args, "--by", "th chen\r\nx"])
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: --by: staff id")
    assert not (nowhere / "journeys.db").exists()
