"""``journeys staff``: add, then revoke, rotate and disable an account on the read model."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from readmodel.access import AccessRepository
from readmodel.db import create_engine, sessionmaker
from runtime.settings import get_settings


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'journeys.db'}"
    monkeypatch.setenv("JOURNEYS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _staff(*args: str) -> str:
    done = CliRunner().invoke(app, ["staff", *args])
    assert done.exit_code == 0, done.output
    return done.output


def _token(output: str) -> str:
    return output.strip().splitlines()[-1]


def _authenticates(url: str, token: str) -> bool:
    return asyncio.run(_check(url, token))


async def _check(url: str, token: str) -> bool:
    engine = create_engine(url)
    try:
        return await AccessRepository(sessionmaker(engine)).authenticate(token) is not None
    finally:
        await engine.dispose()


def test_rotate_prints_a_new_token_once_and_the_old_one_dies(database: str) -> None:
    old = _token(_staff("add", "th-cli", "--role", "clinician"))
    rotated = _staff("rotate", "th-cli")
    new = _token(rotated)
    assert new != old
    assert rotated.count(new) == 1
    assert not _authenticates(database, old)
    assert _authenticates(database, new)


def test_revoke_ends_every_token_of_the_account(database: str) -> None:
    token = _token(_staff("add", "th-rev", "--role", "clinician"))
    assert "revoked" in _staff("revoke", "th-rev")
    assert not _authenticates(database, token)


def test_a_disabled_account_cannot_authenticate(database: str) -> None:
    token = _token(_staff("add", "th-off", "--role", "clinician"))
    assert "disabled" in _staff("disable", "th-off")
    assert not _authenticates(database, token)
    assert not _authenticates(database, _token(_staff("rotate", "th-off")))


def test_an_unknown_account_is_one_line_and_exit_1(database: str) -> None:
    for verb in ("revoke", "rotate", "disable"):
        done = CliRunner().invoke(app, ["staff", verb, "nobody"])
        assert done.exit_code == 1
        assert "no staff account nobody" in done.output
