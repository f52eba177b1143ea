"""The ``journeys`` command: one entry point, commands from each module."""

import typer

from cli import check, commands, demo, staff, up, views

app = typer.Typer(
    name="journeys",
    help="Recovery Journeys: durable, individualized treatment journeys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (up, commands, views, demo, check):
    app.registered_commands += module.app.registered_commands


app.add_typer(staff.app, name="staff")


def main() -> None:
    """Console-script entry point."""
    app()
