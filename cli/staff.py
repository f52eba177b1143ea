"""``journeys staff``: accounts for the API and the dashboard."""

from typing import Annotated

import typer

from cli import render
from cli.errors import fail, run
from models.staff import StaffRole
from runtime.settings import get_settings

app = typer.Typer(help="Staff accounts for the API and the dashboard.", no_args_is_help=True)


@app.command("add")
@run
async def add(
    staff_id: Annotated[str, typer.Argument(help="Staff id, e.g. th-chen (the care-team id).")],
    role: Annotated[StaffRole, typer.Option(help="Access role.")],
) -> None:
    """Create an account and print its API token once (only a hash is stored)."""
    # Imported here so the rest of the CLI starts without SQLAlchemy.
    from readmodel.access import AccessRepository, StaffExistsError
    from readmodel.migrate import open_read_model

    async with open_read_model(get_settings().effective_database_url) as sessions:
        try:
            token = await AccessRepository(sessions).add_staff(staff_id, role)
        except StaffExistsError as exc:
            raise fail(str(exc)) from None
    render.console.print(f"created {staff_id} ({role}); token, shown only now:")
    print(token)
