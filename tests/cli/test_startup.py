"""The CLI starts without Temporal, SQLAlchemy, FastAPI, uvicorn or httpx: commands import
what they use."""

import subprocess
import sys

import pytest

HEAVY = ("temporalio", "sqlalchemy", "alembic", "fastapi", "uvicorn", "starlette", "httpx", "yaml")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["assess", "--help"],
        ["assess", "J-X", "--ratings", "d1=5", "--by", "x"],
        ["decide", "J-X", "--by", "x"],
        ["measure", "J-X", "PHQ-9", "--answers", "0,x", "--by", "x"],
    ],
)
def test_help_and_bad_values_load_no_heavy_module(args: list[str]) -> None:
    # A fresh interpreter: this process has imported everything already.
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        f"CliRunner().invoke(app, {args!r})\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
