"""The SQLite read model holds plan text and webhook secrets: owner-only from its first run."""

import logging
import stat
from pathlib import Path

import pytest

from readmodel.migrate import open_read_model


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_first_run_creates_the_directory_0700_and_the_database_files_0600(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    database = data / "journeys.db"
    async with open_read_model(f"sqlite+aiosqlite:///{database}") as sessions:
        async with sessions() as session:
            await session.connection()  # WAL files exist while a connection is open
        files = [p for p in data.iterdir() if p.name.startswith("journeys.db")]
        assert {p.name for p in files} >= {"journeys.db", "journeys.db.migrate-lock"}
        assert _mode(data) == 0o700
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


async def test_an_existing_database_readable_by_others_is_tightened_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "journeys.db"
    url = f"sqlite+aiosqlite:///{database}"
    async with open_read_model(url):
        pass
    database.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        async with open_read_model(url):
            pass
    assert _mode(database) == 0o600
    assert [r.getMessage() for r in caplog.records if "journeys.db" in r.getMessage()] == [
        f"permissions of {database} were 0644; now 0600 (owner only)"
    ]
