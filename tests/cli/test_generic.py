"""CLI verbs made from the command table: options from the command model, sent and reported
like the hand-written commands, bad values in one line with exit 1."""

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from enum import StrEnum

import pytest
import typer
from pydantic import Field, PositiveInt
from typer.main import get_command_name
from typer.testing import CliRunner

from cli import generic
from cli.backend import Backend
from cli.main import app as main_app
from models.base import OpaqueId, ShortText
from models.commands import OPERATIONS, CommandResult, Operation, StaffCommand


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class PaintFence(StaffCommand):
    """Paint the fence (for these tests only).

    Every kind of field a generated command can take.
    """

    ACTOR = "painted_by"

    painted_by: OpaqueId
    text: ShortText
    coats: PositiveInt = Field(default=1, le=5)
    colour: Colour
    trims: list[Colour] = Field(default_factory=list, max_length=2)
    glossy: bool = False
    primed: bool | None = None
    note: ShortText | None = Field(default=None, description="Anything worth knowing.")
    shade: Colour | None = None


class AddNote(StaffCommand):
    """Add a note to the journey."""

    ACTOR = "written_by"

    text: ShortText
    written_by: OpaqueId


PAINT = Operation("paint_fence", PaintFence, "POST", "/fence", "paint")
NOTE = Operation("add_note", AddNote, "POST", "/notes", "note")
RESULT = CommandResult(seq=4, message="fence painted")


class FakeBackend:
    """Keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, StaffCommand]] = []

    async def send(self, journey: str, cmd: StaffCommand) -> CommandResult:
        self.sent.append((journey, cmd))
        return RESULT


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


def _app(backend: FakeBackend, *operations: Operation) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def group() -> None:
        """Test commands."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[FakeBackend]:
        yield backend

    def open_backend() -> AbstractAsyncContextManager[Backend]:
        return opened()  # type: ignore[return-value]

    assert generic.register(app, operations, open_backend) == [op.cli for op in operations]
    return app


def _invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"JOURNEYS_API_URL": ""}, terminal_width=200)
    return result.exit_code, result.output


def test_a_table_line_becomes_a_command_that_sends_its_model(backend: FakeBackend) -> None:
    app = _app(backend, PAINT)
    code, out = _invoke(
        app, "paint", "J-1", "--text", " white ", "--colour", "red", "--trims", "blue",
        "--trims", "red", "--glossy", "--no-primed", "--shade", "blue", "--coats", "2",
        "--by", "th-chen",
    )  # fmt: skip
    assert code == 0, out
    assert backend.sent == [
        (
            "J-1",
            PaintFence(
                painted_by="th-chen", text="white", coats=2, colour=Colour.RED,
                trims=[Colour.BLUE, Colour.RED], glossy=True, primed=False, shade=Colour.BLUE,
            ),
        )
    ]  # fmt: skip
    assert "fence painted (J-1, event 4)" in out


def test_options_not_given_leave_the_models_defaults(backend: FakeBackend) -> None:
    code, out = _invoke(_app(backend, PAINT), "paint", "J-1", "--text", "t", "--colour", "blue",
                        "--by", "x")  # fmt: skip
    assert code == 0, out
    assert backend.sent == [("J-1", PaintFence(painted_by="x", text="t", colour=Colour.BLUE))]


def test_a_note_command_from_its_table_line(backend: FakeBackend) -> None:
    app = _app(backend, NOTE)
    code, out = _invoke(app, "note", "J-1", "--text", "called the client", "--by", "cm-diaz")
    assert code == 0, out
    assert backend.sent == [("J-1", AddNote(text="called the client", written_by="cm-diaz"))]
    code, out = _invoke(app, "note", "J-1", "--text", "t", "--by", "x", "--json")
    assert code == 0, out
    assert json.loads(out) == RESULT.model_dump(mode="json")


def test_help_is_the_models_doc_and_one_option_per_field(backend: FakeBackend) -> None:
    code, out = _invoke(_app(backend, PAINT), "paint", "--help")
    assert code == 0, out
    assert "Paint the fence (for these tests only)." in out
    for option in ("{journey}", "--text", "--coats", "--colour", "--trims", "--glossy", "--note",
                   "--shade", "--by", "--json", "Anything worth knowing."):  # fmt: skip
        assert option in out
    assert "--painted-by" not in out
    assert "red" in out
    assert "blue" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--coats", "9"], "error: --coats: Input should be less than or equal to 5"),
        (["--text", "x" * 501], "error: --text: String should have at most 500 characters"),
        (["--trims", "red", "--trims", "red", "--trims", "blue"], "error: --trims: List should"),
        (["--by", "two words"], "error: --by: String should match pattern"),
    ],
)
def test_a_bad_value_prints_one_line_and_exits_1(
    backend: FakeBackend, args: list[str], message: str
) -> None:
    base = {"--text": "t", "--colour": "red", "--by": "x"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    rest = [part for key, value in base.items() if key not in given for part in (key, value)]
    code, out = _invoke(_app(backend, PAINT), "paint", "J-1", *args, *rest)
    assert code == 1, out
    assert len(out.strip().splitlines()) == 1, out
    assert out.startswith(message), out
    assert backend.sent == []


@pytest.mark.parametrize(
    "args",
    [
        ["--colour", "red", "--by", "x"],  # a required option missing
        ["--text", "t", "--colour", "green", "--by", "x"],  # not one of the choices
        ["--text", "t", "--colour", "red"],  # --by is required without --api
    ],
)
def test_a_usage_error_keeps_exit_2(backend: FakeBackend, args: list[str]) -> None:
    code, out = _invoke(_app(backend, PAINT), "paint", "J-1", *args)
    assert code == 2, out
    assert backend.sent == []


def test_a_verb_with_a_hand_written_command_is_left_alone(backend: FakeBackend) -> None:
    app = typer.Typer()

    @app.command("paint")
    def hand_written() -> None:
        """By hand."""

    assert generic.register(app, [PAINT, NOTE]) == ["note"]
    assert next(info.callback for info in app.registered_commands) is hand_written


def test_a_field_no_option_can_carry_is_refused_by_name() -> None:
    class Measure(StaffCommand):
        """Not for the CLI as it is."""

        ACTOR = "by_whom"
        by_whom: OpaqueId
        scores: dict[str, int]

    with pytest.raises(generic.UnsupportedFieldError, match=r"Measure\.scores"):
        generic.register(typer.Typer(), [Operation("measure", Measure, "POST", "/m", "m")])


def test_every_table_verb_is_a_journeys_command_made_once() -> None:
    names = {
        info.name or get_command_name(info.callback.__name__)
        for info in main_app.registered_commands
        if info.callback is not None
    }
    assert {op.cli for op in OPERATIONS if op.cli} <= names
    # Made when the CLI is built; building again adds nothing.
    assert generic.register(main_app, OPERATIONS) == []
