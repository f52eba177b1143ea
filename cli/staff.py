"""``journeys staff``: accounts for the API and the dashboard."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli import render
from cli.errors import fail, run
from cli.values import staff_id_value
from models.staff import StaffRole
from runtime.settings import get_settings

if TYPE_CHECKING:
    from readmodel.access import AccessRepository

app = typer.Typer(help="Staff accounts for the API and the dashboard.", no_args_is_help=True)
StaffId = Annotated[str, typer.Argument(help="Staff id, e.g. th-chen (the care-team id).")]


@asynccontextmanager
async def _accounts() -> AsyncIterator["AccessRepository"]:
    """The accounts on the configured read model; an unknown id is one line and exit 1."""
    # Imported here so the rest of the CLI starts without SQLAlchemy.
    from readmodel.access import (
        AccessRepository,
        StaffExistsError,
        UnknownStaffError,
        session_rules,
    )
    from readmodel.migrate import open_read_model

    settings = get_settings()
    async with open_read_model(settings.effective_database_url) as sessions:
        try:
            yield AccessRepository(sessions, session_rules(settings))
        except (StaffExistsError, UnknownStaffError) as exc:
            raise fail(str(exc)) from None


def _print_token(line: str, token: str) -> None:
    render.console.print(line)
    print(token)


@app.command("add")
@run
async def add(
    staff_id: StaffId, role: Annotated[StaffRole, typer.Option(help="Access role.")]
) -> None:
    """Create an account and print its API token once (only a hash is stored)."""
    staff_id = staff_id_value(staff_id)
    async with _accounts() as accounts:
        token = await accounts.add_staff(staff_id, role)
    _print_token(f"created {staff_id} ({role}); token, shown only now:", token)


@app.command("rotate")
@run
async def rotate(staff_id: StaffId) -> None:
    """Issue a new token (printed once, with a full lifetime); the old one and every session
    of the account stop working."""
    async with _accounts() as accounts:
        token = await accounts.rotate(staff_id)
    _print_token(f"rotated {staff_id}: the old token and its sessions are dead; new token:", token)


@app.command("revoke")
@run
async def revoke(staff_id: StaffId) -> None:
    """End the account's token and every dashboard session (``rotate`` issues a new one)."""
    async with _accounts() as accounts:
        ended = await accounts.revoke(staff_id)
    render.console.print(f"revoked {staff_id}: token dead, {ended} session(s) ended")


@app.command("disable")
@run
async def disable(staff_id: StaffId) -> None:
    """Disable the account: no token, session or login authenticates it any more."""
    async with _accounts() as accounts:
        await accounts.disable(staff_id)
    render.console.print(f"disabled {staff_id}: it cannot authenticate any more")
