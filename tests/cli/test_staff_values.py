"""``journeys staff add`` and ``staff email`` refuse ids and addresses that could not be a staff
member's: one line, exit 1, nothing stored."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from runtime.settings import get_settings

BAD_IDS = ["", "a\r\nb", "x y", "a" * 65, "th-chen\x00", "ünsal", "-x"]
BAD_EMAILS = [
    "th-chen@example.org\r\nBcc: all@example.org",
    "th-chen@example.org\n",
    "a@b@example.org",
    "th chen@example.org",
    "th-chen@",
    "@example.org",
    "th-chen@example",
    "th-chen@exa mple.org",
    "th-chen@-example.org",
    "<th-chen@example.org>",
    "a,b@example.org",
    "x" * 65 + "@example.org",
    "x@" + "a" * 250 + ".org",
]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings pointed at an empty data directory."""
    monkeypatch.setenv("JOURNEYS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JOURNEYS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _staff(data: Path) -> list[tuple[str, str | None]]:
    if not (data / "journeys.db").exists():
        return []
    with sqlite3.connect(data / "journeys.db") as db:
        rows = db.execute("SELECT staff_id, email FROM staff ORDER BY staff_id").fetchall()
    return [(str(s), e) for s, e in rows]


def _one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("staff_id", BAD_IDS)
def test_staff_add_refuses_an_id_that_is_not_an_opaque_id(data_dir: Path, staff_id: str) -> None:
    line = _one_line_error(["staff", "add", "--role", "clinician", "--", staff_id])
    assert "staff id" in line
    assert _staff(data_dir) == []


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_staff_email_refuses_an_address_that_is_not_one(data_dir: Path, email: str) -> None:
    added = CliRunner().invoke(app, ["staff", "add", "th-chen", "--role", "clinician"])
    assert added.exit_code == 0, added.output
    line = _one_line_error(["staff", "email", "th-chen", "--email", email])
    assert "--email" in line
    assert _staff(data_dir) == [("th-chen", None)]


def test_a_valid_id_and_address_are_stored(data_dir: Path) -> None:
    added = CliRunner().invoke(app, ["staff", "add", "th-chen.2", "--role", "clinician"])
    assert added.exit_code == 0, added.output
    mailed = CliRunner().invoke(
        app, ["staff", "email", "th-chen.2", "--email", "Th.Chen+care@clinic-1.example.org"]
    )
    assert mailed.exit_code == 0, mailed.output
    assert _staff(data_dir) == [("th-chen.2", "Th.Chen+care@clinic-1.example.org")]


def test_staff_email_refuses_an_id_that_is_not_an_opaque_id(data_dir: Path) -> None:
    line = _one_line_error(["staff", "email", "a\r\nb", "--email", "x@example.org"])
    assert "staff id" in line
