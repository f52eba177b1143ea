"""``journeys consent add|list|revoke`` and ``journeys disclosures`` (42 CFR Part 2).

Direct mode goes to the read model, each call audited under ``--by`` by ids only (the client's
and the consent's, never the recipient or the terms); over ``--api`` the API does it for the
token's owner. A client that does not exist is ``error: client not found``, exit 1.
"""

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.markup import escape

from cli import render
from cli.clients import ClientArg, DirectClients, _shown, opened
from cli.commands import AsJson, By
from cli.errors import EXIT_REJECTED, fail, invalid, run
from models.consent import Consent, ConsentTerms, DataClass, Disclosure, Purpose, RecipientKind

app = typer.Typer(
    help="Consents to disclose a client's records (42 CFR Part 2).", no_args_is_help=True
)
ConsentArg = Annotated[str, typer.Argument(help="Consent id, e.g. CONS-Q4ZK8N2WXR7M.")]
E = TypeVar("E", bound=StrEnum)


class Consents(Protocol):
    """Where consents and the accounting of disclosures are kept."""

    async def add(self, client_id: str, terms: ConsentTerms) -> Consent: ...
    async def consents(self, client_id: str) -> list[Consent]: ...
    async def revoke(self, client_id: str, consent_id: str) -> Consent: ...
    async def disclosures(self, client_id: str) -> list[Disclosure]: ...


class DirectConsents:
    """The read model's consent store for an existing client; every call is one audit entry
    naming ``--by`` (with the client's records' audit, ``DirectClients``)."""

    def __init__(self, sessions: Any, by: str) -> None:
        from readmodel.consents import ConsentStore

        self._clients = DirectClients(sessions, by)
        self._store = ConsentStore(sessions)
        self._sessions = sessions
        self._by = by

    @contextlib.asynccontextmanager
    async def _audited(self, action: str, client_id: str) -> AsyncIterator[list[str]]:
        """The audited block, for a client that exists (``LookupError`` otherwise)."""
        async with self._clients._audited(action, f"client {_shown(client_id)}") as notes:
            if not await self._clients._store.exists(client_id):
                raise LookupError("client not found")
            yield notes

    async def add(self, client_id: str, terms: ConsentTerms) -> Consent:
        async with self._audited("consent.add", client_id) as notes:
            consent = await self._store.add(client_id, terms, self._by)
            notes.append(f"consent {consent.consent_id}")
            return consent

    async def consents(self, client_id: str) -> list[Consent]:
        async with self._audited("consent.list", client_id) as notes:
            found = await self._store.consents(client_id)
            notes.append(f"{len(found)} consents")
            return found

    async def revoke(self, client_id: str, consent_id: str) -> Consent:
        from readmodel.consents import UnknownConsentError

        async with self._audited("consent.revoke", client_id) as notes:
            notes.append(f"consent {_shown(consent_id)}")
            try:
                return await self._store.revoke(client_id, consent_id, self._by)
            except UnknownConsentError:
                raise LookupError("consent not found") from None

    async def disclosures(self, client_id: str) -> list[Disclosure]:
        async with self._audited("disclosure.list", client_id) as notes:
            found = await self._store.disclosures(client_id)
            notes.append(f"{len(found)} disclosures")
            return found


class RemoteConsents:
    """The API's ``/clients/{id}/consents`` and ``/clients/{id}/disclosures`` routes."""

    def __init__(self, api: Any) -> None:
        self._api = api

    async def add(self, client_id: str, terms: ConsentTerms) -> Consent:
        path = f"/clients/{client_id}/consents"
        answer = await self._api._change("POST", path, terms.model_dump(mode="json"))
        return Consent.model_validate_json(json.dumps(answer))

    async def consents(self, client_id: str) -> list[Consent]:
        found = await self._api._call("GET", f"/clients/{client_id}/consents")
        return [Consent.model_validate_json(json.dumps(c)) for c in found]

    async def revoke(self, client_id: str, consent_id: str) -> Consent:
        path = f"/clients/{client_id}/consents/{consent_id}/revoke"
        return Consent.model_validate_json(json.dumps(await self._api._change("POST", path, {})))

    async def disclosures(self, client_id: str) -> list[Disclosure]:
        found = await self._api._call("GET", f"/clients/{client_id}/disclosures")
        return [Disclosure.model_validate_json(json.dumps(d)) for d in found]


def _consents(by: str | None) -> contextlib.AbstractAsyncContextManager[Consents]:
    """Over ``--api`` when given, else the read model with ``--by`` audited."""
    over_api: Callable[[Any], Consents] = RemoteConsents
    direct: Callable[[Any, str], Consents] = DirectConsents
    return opened(by, over_api, direct)


def _choice(kind: type[E], value: str, option: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise invalid(option, f"give one of {', '.join(kind)}") from None


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(option, "give YYYY-MM-DD") from None


def _terms(options: dict[str, Any]) -> ConsentTerms:
    """The consent's terms from the options, each bad value named by its option."""
    purpose = _choice(Purpose, options["purpose"], "--purpose")
    if purpose is Purpose.OTHER and not options["purpose_detail"]:
        raise invalid("--purpose-detail", "name the purpose when --purpose is other")
    data = [_choice(DataClass, d, "--data") for d in options["data"]]
    if len(set(data)) != len(data):
        raise invalid("--data", "give each class once")
    effective = _day(options["effective_from"], "--from")
    until = options["until"]
    expires = None if until is None else _day(until, "--until")
    if expires is not None and expires < effective:
        raise invalid("--until", "before --from")
    try:
        signed = datetime.fromisoformat(options["signed_at"])
    except ValueError:
        raise invalid(
            "--signed-at", "give an ISO date and time, e.g. 2026-12-01T10:30+00:00"
        ) from None
    if signed.tzinfo is None:
        raise invalid("--signed-at", "give the time zone, e.g. 2026-12-01T10:30+00:00")
    return ConsentTerms(
        recipient=options["recipient"],
        recipient_kind=_choice(RecipientKind, options["recipient_kind"], "--recipient-kind"),
        purpose=purpose,
        purpose_detail=options["purpose_detail"],
        data=data,
        effective_from=effective,
        expires_on=expires,
        signed_at=signed,
    )


def _row(consent: Consent) -> dict[str, Any]:
    """One consent as the table shows it (free text escaped: it is not markup)."""
    detail = f" ({escape(consent.purpose_detail)})" if consent.purpose_detail else ""
    revoked = consent.revoked_at
    return {
        "id": consent.consent_id,
        "recipient": f"{escape(consent.recipient)} ({consent.recipient_kind.value})",
        "purpose": consent.purpose.value + detail,
        "data": ", ".join(d.value for d in consent.data),
        "effective": consent.effective_from,
        "expires": consent.expires_on,
        "revoked": f"{_utc(revoked)} by {consent.revoked_by}" if revoked else None,
    }


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"


def _disclosed(d: Disclosure) -> dict[str, Any]:
    """One disclosure as the accounting shows it."""
    return {
        "when": d.disclosed_at,
        "to": escape(d.recipient),
        "why": d.purpose,
        "what": f"{escape(d.what)} ({', '.join(c.value for c in d.data)}; {escape(d.channel)})",
        "consent": d.consent_id,
        "by": d.disclosed_by,
    }


Recipient = Annotated[
    str, typer.Option("--recipient", help="Who may receive: a person or an organisation.")
]
RecipientKindOpt = Annotated[
    str, typer.Option("--recipient-kind", help=f"One of {', '.join(RecipientKind)}.")
]
PurposeOpt = Annotated[str, typer.Option("--purpose", help=f"One of {', '.join(Purpose)}.")]
PurposeDetail = Annotated[
    str | None,
    typer.Option("--purpose-detail", help="The purpose in the consent's words (for other)."),
]
Data = Annotated[
    list[str],
    typer.Option("--data", help=f"What may be disclosed (repeat): {', '.join(DataClass)}."),
]
From = Annotated[str, typer.Option("--from", help="In effect from, YYYY-MM-DD.")]
Until = Annotated[str | None, typer.Option("--until", help="Expires after, YYYY-MM-DD.")]
SignedAt = Annotated[
    str, typer.Option("--signed-at", help="When the client signed, ISO date and time with zone.")
]


@app.command("add")
@run
async def add(
    client: ClientArg,
    recipient: Recipient,
    recipient_kind: RecipientKindOpt,
    purpose: PurposeOpt,
    data: Data,
    effective_from: From,
    signed_at: SignedAt,
    purpose_detail: PurposeDetail = None,
    until: Until = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Record a consent the client signed; prints the consent id."""
    terms = _terms(locals())
    async with _consents(by) as consents:
        consent = await consents.add(client, terms)
    if as_json:
        render.print_json(consent)
    else:
        render.console.print(consent.consent_id, highlight=False)


@app.command("list")
@run
async def list_(client: ClientArg, by: By = None, as_json: AsJson = False) -> None:
    """The client's consents, newest first (revoked and expired ones included)."""
    async with _consents(by) as consents:
        found = await consents.consents(client)
    if as_json:
        render.print_json(found)
    else:
        columns = ["id", "recipient", "purpose", "data", "effective", "expires", "revoked"]
        render.table(f"Consents of {_shown(client)}", columns, [_row(c) for c in found])


@app.command("revoke")
@run
async def revoke(
    client: ClientArg, consent: ConsentArg, by: By = None, as_json: AsJson = False
) -> None:
    """Revoke a consent: no disclosure under it from now on (again: no change)."""
    async with _consents(by) as consents:
        revoked = await consents.revoke(client, consent)
    if as_json:
        render.print_json(revoked)
    else:
        when = f" at {_utc(revoked.revoked_at)}" if revoked.revoked_at else ""
        render.console.print(f"{revoked.consent_id} revoked{when}", highlight=False)


@run
async def disclosures(client: ClientArg, by: By = None, as_json: AsJson = False) -> None:
    """The accounting of disclosures of the client's records: when, to whom, why, what, under
    which consent and by whom, newest first."""
    async with _consents(by) as consents:
        found = await consents.disclosures(client)
    if as_json:
        render.print_json(found)
    else:
        columns = ["when", "to", "why", "what", "consent", "by"]
        render.table(f"Disclosures of {_shown(client)}", columns, [_disclosed(d) for d in found])


class Refused(Exception):
    """The export was refused: no active consent covers it (the reason says why)."""


async def _export_direct(
    consents: "DirectConsents", client_id: str, recipient: str, purpose: Purpose
) -> tuple[dict[str, Any], str]:
    from clinical.policy_loader import load_policy
    from delivery.store import DeliveryStore
    from readmodel.consents import DisclosureRefusedError
    from readmodel.queries import JourneyQueries
    from runtime.settings import get_settings
    from service.disclosure import RecordSources, export_everything

    clients = consents._clients._store
    async with consents._clients._audited("client.export", f"client {_shown(client_id)}") as notes:
        view = await clients.get(client_id)
        if view is None:
            raise LookupError("client not found")
        sessions = consents._sessions
        sources = RecordSources(
            clients=clients, consents=consents._store, queries=JourneyQueries(sessions),
            deliveries=DeliveryStore(sessions),
            registry=load_policy(get_settings().policy_path).instruments,
        )  # fmt: skip
        try:
            body, disclosed = await export_everything(
                sources, client_id, view.record, recipient, purpose, consents._by
            )
        except DisclosureRefusedError as exc:
            notes.append("no consent")
            raise Refused(str(exc)) from None
        notes.append(f"disclosure {disclosed.disclosure_id}")
        return body, disclosed.disclosure_id


async def _export_remote(
    consents: "RemoteConsents", client_id: str, recipient: str, purpose: Purpose
) -> tuple[dict[str, Any], str]:
    path = f"/fhir/Patient/{client_id}/$everything"
    params = {"recipient": recipient, "purpose": purpose.value}
    response = await consents._api._http.get(path, params=params)
    if response.status_code == 403 and response.json().get("code") == "no_consent":
        raise Refused(str(response.json()["detail"]))
    if response.status_code == 404:
        raise LookupError("client not found")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body, "(logged by the API)"


@run
async def export(
    client: ClientArg,
    fhir: Annotated[Path, typer.Option("--fhir", help="Write the FHIR R4B Bundle (JSON) here.")],
    recipient: Annotated[str, typer.Option(help="Who receives it, as the consent names them.")],
    purpose: Annotated[
        str, typer.Option(help="treatment, payment, health_care_operations, other.")
    ],
    by: By = None,
) -> None:
    """Disclose a client's record as a FHIR R4B Bundle to a recipient, only under an active
    consent covering them (42 CFR Part 2); the disclosure is logged in the accounting. The file
    holds client data: it is written readable by its owner only."""
    why = _choice(Purpose, purpose, "--purpose")
    if len(recipient.strip()) == 0 or len(recipient) > 500:
        raise invalid("--recipient", "1-500 characters")
    try:
        async with _consents(by) as consents:
            if isinstance(consents, DirectConsents):
                body, disclosure = await _export_direct(consents, client, recipient, why)
            else:
                assert isinstance(consents, RemoteConsents)
                body, disclosure = await _export_remote(consents, client, recipient, why)
    except Refused as exc:
        raise fail(f"refused (no_consent): {exc}", EXIT_REJECTED) from None
    _write_private(fhir, json.dumps(body, indent=1))
    count = len(body.get("entry", []))
    render.console.print(
        f"disclosed {count} resources to {escape(recipient)} ({why.value}); "
        f"disclosure {disclosure}; written to {escape(str(fhir))}", highlight=False,
    )  # fmt: skip


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (it holds client data)."""
    import os

    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
