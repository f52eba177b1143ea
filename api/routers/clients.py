"""Client records: add, read, edit, exact-match search and each client's journeys.

Operations, supervisors and admins see every client; a clinician sees a client once one of
the client's journeys has them on its care team. A client the caller may not see answers 404
as a missing one does. Every request is audited (``Audited``) with the client's opaque id and
the criteria searched by, never a value from the record.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from pydantic import TypeAdapter, ValidationError

from api.bodies import body_spec, install_schemas, read_body
from api.deps import Audit, Audited, Services
from api.responses import error_responses
from models.client import ClientCreated, ClientId, ClientRecord, ClientView
from models.views import JourneyListItem
from readmodel.clients import ClientSearch
from service.ids import new_client_id

router = APIRouter(prefix="/clients", tags=["clients"])
CLIENT_IDS: TypeAdapter[str] = TypeAdapter(ClientId)
CLIENT_ERRORS = error_responses(401, 404)
SearchText = Annotated[str | None, Query(min_length=1, max_length=200)]


class ClientHidden(HTTPException):
    """A client the caller may not see answers as one that does not exist."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_404_NOT_FOUND, "client not found")


async def visible_client(services: Services, audit: Audit, client_id: str) -> ClientView:
    """The record when it exists and the caller may see it; 404 otherwise (the audit
    detail keeps why)."""
    store = services.clients
    try:
        CLIENT_IDS.validate_python(client_id)
    except ValidationError:
        shown = "".join(c if c.isascii() and c.isalnum() else "?" for c in client_id[:16])
        audit.detail = f"client id of {len(client_id)} characters: {shown}"
        raise ClientHidden from None
    audit.detail = f"client {client_id}"
    if not await store.can_see(audit.staff, client_id):
        audit.detail += "; not on a care team of the client's journeys"
        raise ClientHidden
    view = await store.get(client_id)
    if view is None:
        raise ClientHidden
    return view


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401),
    openapi_extra=body_spec(ClientRecord.__name__),
)
async def add_client(request: Request, services: Services, audit: Audited) -> ClientCreated:
    """Add a client record; the service makes its opaque id."""
    record = await read_body(request, ClientRecord)
    client_id = new_client_id()
    audit.detail = f"client {client_id}"
    await services.clients.add(client_id, record)
    return ClientCreated(client_id=client_id)


@router.get("", responses=error_responses(401))
async def find_clients(
    services: Services,
    audit: Audited,
    name: SearchText = None,
    dob: date | None = None,
    mrn: SearchText = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ClientView]:
    """Clients matching every criterion given exactly: ``name`` (given and family name, or
    preferred and family; case and spacing ignored), ``dob`` (YYYY-MM-DD), ``mrn`` (an
    external identifier's value). No partial matches; only clients the caller may see."""
    search = ClientSearch(name=name, dob=dob, mrn=mrn)
    given = [k for k, v in (("name", name), ("dob", dob), ("mrn", mrn)) if v is not None]
    if not given:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "name, dob or mrn: give at least one"
        )
    found = await services.clients.visible(audit.staff, await services.clients.find(search, limit))
    audit.detail = f"search by {', '.join(given)}; {len(found)} found: " + " ".join(
        c.client_id for c in found
    )
    return found


@router.get("/{client_id}", responses=CLIENT_ERRORS)
async def get_client(client_id: str, services: Services, audit: Audited) -> ClientView:
    """The client's record."""
    return await visible_client(services, audit, client_id)


@router.put(
    "/{client_id}",
    responses=CLIENT_ERRORS,
    openapi_extra=body_spec(ClientRecord.__name__),
)
async def edit_client(
    client_id: str, request: Request, services: Services, audit: Audited
) -> ClientView:
    """Replace the client's record."""
    await visible_client(services, audit, client_id)
    record = await read_body(request, ClientRecord)
    view = await services.clients.update(client_id, record)
    if view is None:
        raise ClientHidden
    return view


@router.get("/{client_id}/journeys", responses=CLIENT_ERRORS)
async def client_journeys(
    client_id: str, services: Services, audit: Audited
) -> list[JourneyListItem]:
    """Every journey (admission) of the client, newest first."""
    await visible_client(services, audit, client_id)
    return await services.clients.journeys(client_id)


def install(app: FastAPI) -> None:
    """Add the routes and the record's schema (its body is read as JSON, ``read_body``)."""
    app.include_router(router)
    install_schemas(app, {ClientRecord.__name__: (ClientRecord, [])})
