"""The ``journeys`` command: one entry point, commands from each module."""

import sys
import traceback
from typing import Annotated

import typer

from cli import (
    check,
    clients,
    commands,
    consents,
    demo,
    generic,
    notify,
    policy,
    setup,
    staff,
    up,
    views,
)
from cli.context import remote
from cli.errors import flush_and_exit
from models.commands import OPERATIONS

app = typer.Typer(
    name="journeys",
    help="Recovery Journeys: durable, individualized treatment journeys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (up, setup, commands, views, demo, check):
    app.registered_commands += module.app.registered_commands
# Table lines with a CLI verb that no command above offers get one made from their model.
generic.register(app, OPERATIONS)


@app.callback()
def global_options(
    api: Annotated[
        str | None,
        typer.Option(
            "--api", envvar="JOURNEYS_API_URL", help="Use the HTTP API at this URL (needs --token)."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="JOURNEYS_API_TOKEN", help="Staff API token for --api."),
    ] = None,
) -> None:
    """Recovery Journeys: durable, individualized treatment journeys."""
    if api and not token:
        raise typer.BadParameter(
            "--api needs --token (or JOURNEYS_API_TOKEN)", param_hint="--token"
        )
    remote.url, remote.token = api, token


app.add_typer(staff.app, name="staff")
staff.app.command("email")(notify.staff_email)
app.add_typer(notify.webhooks, name="webhook")
app.add_typer(notify.deliveries, name="deliveries")
app.add_typer(policy.app, name="policy")
app.add_typer(clients.app, name="client")
app.add_typer(consents.app, name="consent")
app.command("disclosures")(consents.disclosures)
app.command("export")(consents.export)


def main() -> None:
    """Console-script entry point.

    Every command leaves through ``os._exit`` after flushing its output: the Temporal SDK can
    abort a process during interpreter finalization (temporalio/sdk-python#300), which would
    turn a successful command into a crash with exit code 134.
    """
    try:
        app()
    except SystemExit as done:
        code = done.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
        flush_and_exit(code if isinstance(code, int) else (0 if code is None else 1))
    except BaseException:
        traceback.print_exc()
        flush_and_exit(1)
    flush_and_exit(0)
