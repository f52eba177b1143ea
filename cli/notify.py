"""``journeys staff email``, ``journeys webhook`` and ``journeys deliveries``: external channels."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli import render
from cli.errors import fail, run
from cli.values import email_value, staff_id_value
from models.delivery import DeliveryStatus, GenericType
from runtime.settings import get_settings

if TYPE_CHECKING:
    from delivery.store import DeliveryStore

webhooks = typer.Typer(help="Outbound webhook endpoints.", no_args_is_help=True)
deliveries = typer.Typer(help="External deliveries and the dead-letter list.", no_args_is_help=True)


@asynccontextmanager
async def _store() -> AsyncIterator["DeliveryStore"]:
    # Imported here so the rest of the CLI starts without SQLAlchemy.
    from delivery.sealing import SecretBox
    from delivery.store import DeliveryStore, UnknownTargetError
    from readmodel.migrate import open_read_model

    settings = get_settings()
    async with open_read_model(settings.effective_database_url) as sessions:
        try:
            yield DeliveryStore(sessions, SecretBox.from_settings(settings))
        except UnknownTargetError as exc:
            raise fail(str(exc)) from None


async def _check_endpoint(url: str) -> None:
    """Refuse (one line, exit 1) a URL deliveries may not reach: see delivery/addresses.py."""
    from delivery.addresses import EndpointPolicy, RefusedEndpointError

    try:
        await EndpointPolicy.from_settings(get_settings()).target(url)
    except RefusedEndpointError as exc:
        raise fail(f"webhook refused: {exc}") from None


@run
async def staff_email(
    staff_id: Annotated[str, typer.Argument(help="Staff id.")],
    email: Annotated[str | None, typer.Option(help="Address for notification e-mails.")] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop e-mails (the feed stays).")] = False,
    urgent_only: Annotated[
        bool, typer.Option("--urgent-only", help="Only urgent notifications by e-mail.")
    ] = False,
) -> None:
    """Set a staff member's e-mail channel (the in-app feed is always on)."""
    if not off and (email is None or "@" not in email):
        raise typer.BadParameter("give --email ADDRESS, or --off", param_hint="--email")
    staff_id = staff_id_value(staff_id)
    email = email_value(email) if email is not None else None
    async with _store() as store:
        await store.set_email(staff_id, email, enabled=not off, urgent_only=urgent_only)
    state = "off" if off else f"to {email}" + (" (urgent only)" if urgent_only else "")
    render.console.print(f"e-mail for {staff_id}: {state}")


@webhooks.command("add")
@run
async def webhook_add(
    endpoint_id: Annotated[str, typer.Argument(help="A name for the endpoint.")],
    url: Annotated[str, typer.Argument(help="HTTPS URL receiving POSTs (a public address).")],
    event_type: Annotated[
        list[GenericType] | None,
        typer.Option("--type", help="Only these generic event types (repeat); default all."),
    ] = None,
    rate: Annotated[int, typer.Option(min=1, max=6000, help="Deliveries per minute.")] = 60,
) -> None:
    """Register an endpoint (https, public addresses only); prints its signing secret once."""
    await _check_endpoint(url)
    async with _store() as store:
        secret = await store.add_endpoint(endpoint_id, url, event_type or [], rate)
    render.console.print(f"added webhook {endpoint_id}; signing secret, shown only now:")
    print(secret)


@webhooks.command("rotate")
@run
async def webhook_rotate(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint.")],
    retire_old: Annotated[
        bool, typer.Option("--retire-old", help="Finish a rotation: sign with the newest only.")
    ] = False,
) -> None:
    """Start a secret rotation (both secrets sign until --retire-old), or finish it."""
    async with _store() as store:
        secret = await store.rotate_secret(endpoint_id, retire_old=retire_old)
    if secret is None:
        render.console.print(f"{endpoint_id}: old secret retired")
        return
    render.console.print(f"{endpoint_id}: new secret (the old one still signs), shown only now:")
    print(secret)


@webhooks.command("pause")
@run
async def webhook_pause(endpoint_id: Annotated[str, typer.Argument(help="The endpoint.")]) -> None:
    """Stop sending to an endpoint (its new deliveries are skipped)."""
    async with _store() as store:
        await store.set_endpoint_active(endpoint_id, False)
    render.console.print(f"{endpoint_id}: paused")


@webhooks.command("resume")
@run
async def webhook_resume(endpoint_id: Annotated[str, typer.Argument(help="The endpoint.")]) -> None:
    """Send to a paused endpoint again."""
    async with _store() as store:
        await store.set_endpoint_active(endpoint_id, True)
    render.console.print(f"{endpoint_id}: active")


@webhooks.command("list")
@run
async def webhook_list() -> None:
    """Endpoints, without their secrets (any still in plain text are sealed now)."""
    async with _store() as store:
        await store.seal_all()
        rows = await store.endpoints()
    render.table(
        "Webhook endpoints",
        ["endpoint_id", "url", "types", "rate_per_minute", "active", "secrets"],
        [
            {"endpoint_id": r.endpoint_id, "url": r.url, "types": ",".join(r.types) or "all",
             "rate_per_minute": r.rate_per_minute, "active": r.active,
             "secrets": len(r.secrets)}
            for r in rows
        ],
    )  # fmt: skip


@deliveries.command("list")
@run
async def deliveries_list(
    status: Annotated[
        DeliveryStatus | None, typer.Option(help="Only this status (dead: the dead letters).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """External deliveries, newest first."""
    async with _store() as store:
        rows = await store.deliveries(status, limit)
    if as_json:
        render.print_json(rows)
        return
    render.table(
        "Deliveries",
        ["key", "channel", "status", "attempts", "last_error", "replays", "created_at"],
        rows,
    )


@deliveries.command("replay")
@run
async def deliveries_replay(
    key: Annotated[list[str], typer.Argument(help="Keys of dead deliveries (see list).")],
) -> None:
    """Send dead deliveries again (a running worker picks them up); same idempotency keys."""
    async with _store() as store:
        for one in key:
            number = await store.reopen(one)
            render.console.print(f"{one}: replay {number} queued")
