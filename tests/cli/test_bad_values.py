"""Bad values print one line and exit 1; usage errors keep click's exit 2; refusals exit 3."""

import pytest
import typer
from typer.testing import CliRunner

from cli.errors import run
from cli.main import app
from models.errors import RejectionCode
from service.journeys import CommandRejectedError

BAD_VALUES = [
    (["assess", "J-X", "--ratings", "d1=5", "--by", "x"], "--ratings: d1: Input should be less"),
    (["assess", "J-X", "--ratings", "d1=-1", "--by", "x"], "--ratings: d1: Input should be"),
    (["assess", "J-X", "--ratings", "d1", "--by", "x"], "--ratings: 'd1': expected DIMENSION="),
    (["assess", "J-X", "--ratings", ",", "--by", "x"], "--ratings: no ratings given"),
    (["decide", "J-X", "--by", "x"], "--accept/--phase: give one"),
    (["decide", "J-X", "--accept", "--phase", "intake", "--by", "x"], "--accept/--phase"),
    (["measure", "J-X", "PHQ-9", "--answers", "0,x", "--by", "x"], "--answers: '0,x': expected"),
    (["measure", "J-X", "PHQ-9", "--answers", ",", "--by", "x"], "--answers"),
    (["start", "--member", "a:wizard:primary", "--by", "x"], "--member: 'wizard' is not a role"),
    (["start", "--member", "a", "--by", "x"], "--member: 'a': expected ID:ROLE"),
    (["start", "--member", "a:nurse:lead", "--by", "x"], "--member: 'a:nurse:lead'"),
    (["plan", "J-X", "--goal", "g1", "--reason", "r", "--by", "x"], "--goal: 'g1': expected"),
    (["plan", "J-X", "--goal", "g1|someday|x", "--reason", "r", "--by", "x"], "--goal: 'someday'"),
    (
        ["plan", "J-X", "--goal", "g1|2027-01-01|x", "--achieved", "g9", "--reason", "r"],
        "--achieved: 'g9' is not one of the --goal ids",
    ),
    (
        ["discharge", "J-X", "--reason", "other", "--close", "item", "--by", "x"],
        "--close: 'item': expected ITEM=VALUE",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_VALUES)
def test_a_bad_value_prints_one_line_and_exits_1(args: list[str], message: str) -> None:
    # Checked before anything is contacted: no Temporal or database runs here.
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert message in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["assess", "J-X", "--by", "x"],  # missing required option
        ["start", "--bogus"],  # unknown option
        ["decide", "J-X", "--phase", "nowhere", "--by", "x"],  # not one of the choices
        ["assess", "J-X", "--ratings", "d1=1"],  # --by is required without --api
    ],
)
def test_a_usage_error_keeps_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, env={"JOURNEYS_API_URL": ""})
    assert result.exit_code == 2, result.output


def _wrapped(error: BaseException) -> typer.Typer:
    tiny = typer.Typer()

    @tiny.command()
    @run
    async def go() -> None:
        raise error

    return tiny


@pytest.mark.parametrize("code", [0, 1, 2, 4, 130])
def test_an_exit_raised_inside_a_command_keeps_its_code(code: int) -> None:
    result = CliRunner().invoke(_wrapped(typer.Exit(code)), [])
    assert result.exit_code == code
    assert "error" not in result.output


def test_invalid_answers_from_the_journey_is_an_invalid_value_not_a_refusal() -> None:
    error = CommandRejectedError(RejectionCode.INVALID_ANSWERS, "answers: PHQ-9 has 9 items")
    result = CliRunner().invoke(_wrapped(error), [])
    assert result.exit_code == 1
    assert result.output.strip() == "error: rejected (invalid_answers): answers: PHQ-9 has 9 items"


@pytest.mark.parametrize(
    "code", [c for c in RejectionCode if c is not RejectionCode.INVALID_ANSWERS]
)
def test_every_other_refusal_exits_3(code: RejectionCode) -> None:
    result = CliRunner().invoke(_wrapped(CommandRejectedError(code, "no")), [])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
