"""``journeys list --due``: its values, and ``--overdue`` as its short form."""

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overdue", "--due", "today"], "--overdue means --due past_due"),
        (["--due", "someday"], "someday"),
        (["--due", "TODAY"], "TODAY"),
    ],
)
def test_a_due_filter_it_cannot_mean_is_refused_before_anything_runs(
    args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["list", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
