"""Terminal output: rich tables for people, JSON for programs."""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

console = Console()


def print_json(value: Any) -> None:
    """Print models (or plain data) as JSON on stdout."""
    console.print_json(json.dumps(_plain(value), default=str))


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def table(title: str, columns: Sequence[str], rows: Iterable[BaseModel | dict[str, Any]]) -> None:
    """A table of the named columns; missing values show as a dash."""
    out = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        # Ids must stay whole: fold them rather than cut them with an ellipsis.
        out.add_column(column.replace("_", " "), overflow="fold")
    count = 0
    for row in rows:
        data = row.model_dump() if isinstance(row, BaseModel) else row
        out.add_row(*(_cell(data.get(c)) for c in columns))
        count += 1
    if count:
        console.print(out)
    else:
        console.print(f"[dim]{title}: none[/dim]")


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def fields(title: str, pairs: dict[str, Any]) -> None:
    """A two-column key/value block."""
    out = Table(title=title, title_justify="left", show_header=False)
    out.add_column(style="bold")
    out.add_column()
    for key, value in pairs.items():
        out.add_row(key, _cell(value))
    console.print(out)
