"""configure_logging: one JSON line per record on stderr, whatever logger wrote it."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from runtime.codec import CodecKeyError
from runtime.log import configure_logging
from runtime.refused import REFUSED_MESSAGE
from runtime.settings import Settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_structlog_and_stdlib_records_become_json_lines(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings.model_validate({"log_format": "json", "log_level": "INFO"}))
    structlog.get_logger("journeys.test").info("journey.started", journey_id="J-1")
    logging.getLogger("uvicorn.error").warning("listening %s", "127.0.0.1:8000")
    logging.getLogger("journeys.test").debug("below the level")

    out, err = capfd.readouterr()
    assert out == ""  # stdout stays free for command output
    first, second = _lines(err)
    assert first["event"] == "journey.started"
    assert first["journey_id"] == "J-1"
    assert first["level"] == "info"
    assert first["logger"] == "journeys.test"
    assert str(first["timestamp"]).endswith("Z")
    assert second["event"] == "listening 127.0.0.1:8000"
    assert second["level"] == "warning"


def test_sql_statements_are_never_logged(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json", log_level="debug"))
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT INTO journeys VALUES (?)")
    logging.getLogger("journeys.test").debug("kept")

    _, err = capfd.readouterr()
    assert [line["event"] for line in _lines(err)] == ["kept"]


def test_extra_fields_of_stdlib_records_are_kept(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json"))
    logging.getLogger("temporalio.worker").warning("task failed", extra={"task_queue": "q"})

    _, err = capfd.readouterr()
    (line,) = _lines(err)
    assert line["task_queue"] == "q"


def test_forced_console_output_into_a_pipe_has_no_colour_codes(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="console"))
    structlog.get_logger("journeys.test").warning("journey.stalled", seq=3)

    _, err = capfd.readouterr()
    assert "journey.stalled" in err
    assert "seq=3" in err
    assert "\x1b[" not in err


def _sdk_failure() -> ValueError:
    """An error raised in workflow code whose message carries clinical text."""
    answer = "reports relapse on fentanyl"
    try:
        raise ValueError(f"input_value={answer!r}")
    except ValueError as exc:
        return exc


def test_the_sdks_logged_errors_keep_their_trace_but_not_their_messages(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json", log_level="info"))
    error = _sdk_failure()
    logging.getLogger("temporalio.worker._workflow_instance").warning(
        "Failed activation on workflow ClientJourneyWorkflow", exc_info=error
    )
    logging.getLogger("temporalio.worker._workflow").error(
        "Failed handling activation", exc_info=CodecKeyError(REFUSED_MESSAGE)
    )

    _, err = capfd.readouterr()
    assert "fentanyl" not in err
    sdk, refused = _lines(err)
    assert sdk["event"] == "Failed activation on workflow ClientJourneyWorkflow"
    assert "ValueError" in str(sdk["exception"])
    assert "_sdk_failure" in str(sdk["exception"])
    # Our own refusals say nothing about the payload: their message is kept.
    assert REFUSED_MESSAGE in str(refused["exception"])
