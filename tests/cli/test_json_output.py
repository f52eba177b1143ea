"""``--json`` on every command that changes a journey: the whole CommandResult, for scripts."""

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from cli.commands import report
from cli.main import app
from models.clinical import Recommendation
from models.commands import OPERATIONS, CommandResult
from models.instruments import InstrumentResult, SexAtBirth
from models.journey import Phase

CHANGING = [
    "start", "assess", "decide", "reassess", "event", "measure", "done", "check-in", "team",
    "plan", "sign", "discharge",
]  # fmt: skip
# Hand-written or made from the command table (cli/generic.py).
CHANGING += sorted({op.cli for op in OPERATIONS if op.cli} - set(CHANGING))


@pytest.mark.parametrize("command", CHANGING)
def test_every_command_that_changes_a_journey_offers_json(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--json" in result.output


def test_json_prints_the_whole_result_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    result = CommandResult(
        seq=7,
        message="assessment recorded",
        reassessment_id="J-7KQ2M9XPT4.r1",
        # A long rationale must stay one JSON string, never wrapped at the terminal's width.
        recommendation=Recommendation(
            phase=Phase.WITHDRAWAL_MANAGEMENT,
            loc_code="3.7-WM",
            rationale="withdrawal risk " * 12,
            driving_dimensions=["d1"],
            rule_id="wm-high",
        ),
        instrument=InstrumentResult(
            code="AUDIT-C",
            registry_version="1",
            answers=[1, 1, 1],
            total=3,
            band="positive",
            flags=[],
            cutoff_for=SexAtBirth.UNKNOWN,
        ),
        at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    )
    report(result, "J-7KQ2M9XPT4", as_json=True)
    out = capsys.readouterr().out
    assert json.loads(out) == result.model_dump(mode="json")
    assert CommandResult.model_validate_json(out) == result


def test_without_json_the_result_is_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    report(CommandResult(seq=3, message="event recorded"), "J-7KQ2M9XPT4")
    out = capsys.readouterr().out
    assert "event recorded (J-7KQ2M9XPT4, event 3)" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
