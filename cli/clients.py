"""``journeys client``: client records (add, show, find, edit).

Direct mode goes to the read model, each call audited under ``--by`` (required, as for the
direct reads of journeys); over ``--api`` the API does it for the token's owner. Records are
printed only to the terminal that asked; the audit log keeps the client's id, never the record.
"""

import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from cli import render
from cli.commands import AsJson, By, actor
from cli.context import remote
from cli.errors import fail, run
from cli.values import staff_id_value
from models.client import ClientRecord, ClientView
from models.instruments import SexAtBirth
from models.views import JourneyListItem
from runtime.settings import get_settings

if TYPE_CHECKING:
    from readmodel.clients import ClientSearch

app = typer.Typer(
    help="Client records (PHI: kept encrypted, outside Temporal).", no_args_is_help=True
)
T = TypeVar("T")
ClientArg = Annotated[str, typer.Argument(help="Client id, e.g. C-Q4ZK8N2WXR.")]
Text = Annotated[str | None, typer.Option()]


class Clients(Protocol):
    """Where client records are read and written."""

    async def add(self, record: ClientRecord) -> str: ...
    async def show(self, client_id: str) -> tuple[ClientView, list[JourneyListItem]]: ...
    async def find(self, search: "ClientSearch") -> list[ClientView]: ...
    async def edit(self, client_id: str, record: ClientRecord) -> ClientView: ...


class DirectClients:
    """The read model's client store; every call is one audit entry naming ``--by``."""

    def __init__(self, sessions: Any, by: str) -> None:
        from readmodel.access import AccessRepository
        from readmodel.clients import ClientKeys, ClientStore

        self._store = ClientStore(sessions, ClientKeys.from_settings(get_settings()))
        self._access = AccessRepository(sessions)
        self._by = by

    @contextlib.asynccontextmanager
    async def _audited(self, action: str, about: str) -> AsyncIterator[list[str]]:
        from cli.direct import _os_user

        notes: list[str] = []
        outcome = "ok"
        try:
            yield notes
        except Exception as exc:
            outcome = "not_found" if isinstance(exc, LookupError) else type(exc).__name__[:32]
            raise
        finally:
            detail = "; ".join(["direct mode", f"os user {_os_user()}", about, *notes])
            with contextlib.suppress(Exception):
                await self._access.record(self._by, action, None, outcome, detail)

    async def add(self, record: ClientRecord) -> str:
        from service.ids import new_client_id

        client_id = new_client_id()
        async with self._audited("client.add", f"client {client_id}"):
            await self._store.add(client_id, record)
        return client_id

    async def show(self, client_id: str) -> tuple[ClientView, list[JourneyListItem]]:
        async with self._audited("client.show", f"client {_shown(client_id)}"):
            view = await self._store.get(client_id)
            if view is None:
                raise LookupError("client not found")
            return view, await self._store.journeys(client_id)

    async def find(self, search: "ClientSearch") -> list[ClientView]:
        given = [k for k, v in vars(search).items() if v is not None]
        async with self._audited("client.find", f"search by {', '.join(given)}") as notes:
            found = await self._store.find(search)
            notes.append(f"{len(found)} found: " + " ".join(c.client_id for c in found))
            return found

    async def edit(self, client_id: str, record: ClientRecord) -> ClientView:
        async with self._audited("client.edit", f"client {_shown(client_id)}"):
            view = await self._store.update(client_id, record)
            if view is None:
                raise LookupError("client not found")
            return view


class RemoteClients:
    """The API's ``/clients`` routes, as the token's owner."""

    def __init__(self, api: Any) -> None:
        self._api = api

    async def add(self, record: ClientRecord) -> str:
        created = await self._api._change("POST", "/clients", record.model_dump(mode="json"))
        return str(created["client_id"])

    async def show(self, client_id: str) -> tuple[ClientView, list[JourneyListItem]]:
        view = ClientView.model_validate_json(
            json.dumps(await self._api._call("GET", f"/clients/{client_id}"))
        )
        journeys = await self._api._call("GET", f"/clients/{client_id}/journeys")
        return view, [JourneyListItem.model_validate(j) for j in journeys]

    async def find(self, search: "ClientSearch") -> list[ClientView]:
        params = {k: str(v) for k, v in vars(search).items() if v is not None}
        found = await self._api._call("GET", "/clients", params=params)
        return [ClientView.model_validate_json(json.dumps(c)) for c in found]

    async def edit(self, client_id: str, record: ClientRecord) -> ClientView:
        body = record.model_dump(mode="json")
        answer = await self._api._change("PUT", f"/clients/{client_id}", body)
        return ClientView.model_validate_json(json.dumps(answer))


@contextlib.asynccontextmanager
async def opened(
    by: str | None, over_api: Callable[[Any], T], direct: Callable[[Any, str], T]
) -> AsyncIterator[T]:
    """``over_api(api)`` over ``--api`` when given, else ``direct(sessions, reader)`` on the read
    model with the ``--by`` staff id as the reader; what is missing is one line, exit 1."""
    from service.journeys import JourneyError, JourneyNotFoundError

    try:
        if remote.url:
            from cli.remote import RemoteBackend

            api = RemoteBackend(remote.url, remote.token or "")
            try:
                yield over_api(api)
            finally:
                await api.close()
            return
        reader = staff_id_value(actor(by), "--by")
        from readmodel.migrate import open_read_model

        async with open_read_model(get_settings().effective_database_url) as sessions:
            yield direct(sessions, reader)
    except (LookupError, JourneyNotFoundError) as exc:
        # A client's consent is the one other thing looked up by id (cli/consents.py).
        missing = "consent" if str(exc) == "consent not found" else "client"
        raise fail(f"{missing} not found") from None
    except JourneyError as exc:
        raise fail(str(exc)) from None


def _clients(by: str | None) -> contextlib.AbstractAsyncContextManager[Clients]:
    """Over ``--api`` when given, else the read model with ``--by`` audited."""
    over_api: Callable[[Any], Clients] = RemoteClients
    direct: Callable[[Any, str], Clients] = DirectClients
    return opened(by, over_api, direct)


def _shown(client_id: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c == "-" else "?" for c in client_id[:16])


def _record(base: dict[str, Any], **options: Any) -> ClientRecord:
    """``base`` (a record as JSON data) with the options given laid over it."""
    data = dict(base)
    name = dict(data.get("legal_name") or {})
    for option, key in (("given", "given"), ("family", "family")):
        if options[option] is not None:
            name[key] = options[option]
    if name:
        data["legal_name"] = name
    simple = {
        "preferred": "preferred_name",
        "pronouns": "pronouns",
        "dob": "date_of_birth",
        "sex_at_birth": "sex_at_birth",
        "gender_identity": "gender_identity",
        "language": "preferred_language",
        "interpreter": "interpreter_needed",
        "phone": "phone",
        "email": "email",
    }
    for option, key in simple.items():
        value = options[option]
        if value is not None:
            data[key] = str(value) if isinstance(value, date | SexAtBirth) else value
    if options["identifier"]:
        identifiers = []
        for item in options["identifier"]:
            system, sep, value = item.rpartition("|")
            if not sep or not system or not value:
                raise fail(f"--identifier: give SYSTEM|VALUE, e.g. ehr-mrn|{'0' * 6}")
            identifiers.append({"system": system, "value": value})
        data["identifiers"] = identifiers
    return ClientRecord.model_validate_json(json.dumps(data))


def _from_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"--file: not a readable JSON record ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise fail("--file: a record is a JSON object")
    return data


def _print_view(view: ClientView, journeys: list[JourneyListItem] | None = None) -> None:
    r = view.record
    lines = [
        f"{view.client_id}  {r.legal_name.given} {r.legal_name.family}"
        + (f" ({r.preferred_name})" if r.preferred_name else ""),
        f"  born {r.date_of_birth}, sex at birth {r.sex_at_birth}, language "
        f"{r.preferred_language}{' (interpreter)' if r.interpreter_needed else ''}",
    ]
    lines += [f"  {i.system}: {i.value}" for i in r.identifiers]
    if r.payer is not None:
        lines.append(f"  payer {r.payer.name}, member {r.payer.member_id}")
    if r.court.court_ordered:
        lines.append("  court-ordered")
    for j in journeys or []:
        ended = f", ended {j.ended_at:%Y-%m-%d}" if j.ended_at else ""
        lines.append(f"  journey {j.journey_id}: {j.phase} since {j.started_at:%Y-%m-%d}{ended}")
    render.console.print("\n".join(lines), highlight=False, markup=False)


FileOpt = Annotated[Path | None, typer.Option("--file", help="The whole record as JSON.")]
Identifiers = Annotated[
    list[str] | None,
    typer.Option("--identifier", help="SYSTEM|VALUE, e.g. ehr-mrn|00123 (repeat)."),
]
Dob = Annotated[str | None, typer.Option("--dob", help="Date of birth, YYYY-MM-DD.")]
Sex = Annotated[SexAtBirth | None, typer.Option("--sex-at-birth")]
Interpreter = Annotated[bool | None, typer.Option("--interpreter/--no-interpreter")]


@app.command("add")
@run
async def add(
    given: Text = None,
    family: Text = None,
    dob: Dob = None,
    preferred: Text = None,
    pronouns: Text = None,
    sex_at_birth: Sex = None,
    gender_identity: Text = None,
    language: Text = None,
    interpreter: Interpreter = None,
    identifier: Identifiers = None,
    phone: Text = None,
    email: Text = None,
    file: FileOpt = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Add a client (options, or --file with the whole record); prints the new client id."""
    record = _record(_from_file(file), **_options(locals()))
    async with _clients(by) as clients:
        client_id = await clients.add(record)
    if as_json:
        render.print_json({"client_id": client_id})
    else:
        render.console.print(client_id, highlight=False)


OPTION_NAMES = (
    "given",
    "family",
    "dob",
    "preferred",
    "pronouns",
    "sex_at_birth",
    "gender_identity",
    "language",
    "interpreter",
    "identifier",
    "phone",
    "email",
)


def _options(values: dict[str, Any]) -> dict[str, Any]:
    names = OPTION_NAMES
    return {name: values[name] for name in names}


@app.command("show")
@run
async def show(client: ClientArg, by: By = None, as_json: AsJson = False) -> None:
    """The client's record and journeys."""
    async with _clients(by) as clients:
        view, journeys = await clients.show(client)
    if as_json:
        render.print_json({"client": view, "journeys": journeys})
    else:
        _print_view(view, journeys)


@app.command("find")
@run
async def find(
    name: Annotated[
        str | None, typer.Option(help="Given and family name (exact; case and spacing ignored).")
    ] = None,
    dob: Dob = None,
    mrn: Annotated[str | None, typer.Option(help="An external identifier's value (exact).")] = None,
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Clients matching every criterion given, exactly (no partial matches)."""
    from readmodel.clients import ClientSearch

    if name is None and dob is None and mrn is None:
        raise fail("give --name, --dob or --mrn")
    try:
        born = date.fromisoformat(dob) if dob is not None else None
    except ValueError:
        raise fail("--dob: give YYYY-MM-DD") from None
    async with _clients(by) as clients:
        found = await clients.find(ClientSearch(name=name, dob=born, mrn=mrn))
    if as_json:
        render.print_json(found)
    elif not found:
        render.console.print("no client matches")
    for view in [] if as_json else found:
        _print_view(view)


async def edit(client: ClientArg, **options: Any) -> None:
    """Change the fields given (--file replaces the whole record, options then apply)."""
    by, as_json, file = options.pop("by"), options.pop("as_json"), options.pop("file")
    async with _clients(by) as clients:
        base = _from_file(file)
        if not base:
            current, _ = await clients.show(client)
            base = current.record.model_dump(mode="json")
        view = await clients.edit(client, _record(base, **options))
    if as_json:
        render.print_json(view)
    else:
        _print_view(view)


# The same options as add, after the client's id.
_add = inspect.signature(add)
edit.__signature__ = _add.replace(  # type: ignore[attr-defined]
    parameters=[inspect.signature(edit).parameters["client"], *_add.parameters.values()]
)
app.command("edit")(run(edit))
