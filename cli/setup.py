"""``journeys setup``: prepare a Temporal namespace for the journeys (idempotent)."""

import typer

from cli import render
from cli.errors import run
from runtime.settings import get_settings

app = typer.Typer()


@app.command()
@run
async def setup() -> None:
    """Register the journeys' search attributes in the namespace (TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE); safe to run again. Needs no codec key: nothing it sends is a payload."""
    # Imported here so the rest of the CLI starts without them (README: CLI start-up).
    from runtime.client import connect
    from runtime.search_attributes import ALL_KEYS, register

    settings = get_settings()
    client = await connect(settings, operator_only=True)
    added = await register(client)
    namespace = settings.temporal_namespace
    for key in ALL_KEYS:
        done = "registered" if key.name in added else "already registered"
        render.console.print(f"{done:<18}  {key.name} in namespace {namespace}", highlight=False)
    render.console.print(
        f"namespace {namespace} is ready ({len(added)} added, {len(ALL_KEYS) - len(added)} kept)"
    )
