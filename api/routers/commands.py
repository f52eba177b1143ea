"""Staff commands on one journey, one route per line of the command table (``OPERATIONS``).

The body is the command model itself without its actor, who is always the authenticated
staff member. Clinical commands need a clinician or supervisor account (service.access)
before the journey is asked; the journey then checks the actor's care-team role against its
policy.
"""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from api.bodies import (
    IDEMPOTENCY_PARAMETER,
    body_spec,
    idempotency_key,
    install_schemas,
    read_body,
)
from api.deps import Audit, Audited, Services
from api.responses import COMMAND_ERRORS
from api.services import ApiServices
from clinical import dispositions
from models.commands import (
    OPERATIONS,
    CommandResult,
    Discharge,
    OpenJourney,
    Operation,
    StaffCommand,
)
from service.access import authorize

router = APIRouter(prefix="/journeys/{journey_id}", tags=["journey commands"])


def _request_name(op: Operation) -> str:
    return f"{op.command.__name__}Request"


async def send_command(
    services: ApiServices,
    audit: Audit,
    journey_id: str,
    cmd: StaffCommand,
    idempotency_key: str | None = None,
) -> CommandResult:
    """Authorize the account for the command, keep what the audit needs, and send it."""
    if isinstance(cmd, Discharge):
        audit.detail = dispositions.describe(cmd)
    await authorize(services.journeys, audit.staff.role, journey_id, cmd)
    return await services.journeys.send(journey_id, cmd, idempotency_key)


def _endpoint(op: Operation) -> Callable[..., Awaitable[CommandResult]]:
    in_path = op.path_fields

    async def endpoint(
        journey_id: str, request: Request, services: Services, audit: Audited
    ) -> CommandResult:
        key = idempotency_key(request)
        actor = {op.command.ACTOR: audit.staff.staff_id}
        cmd = await read_body(request, op.command, actor, in_path)
        return await send_command(services, audit, journey_id, cmd, key)

    endpoint.__name__ = op.name
    endpoint.__doc__ = op.command.__doc__
    return endpoint


def _path_parameters(op: Operation) -> list[dict[str, object]]:
    return [{"name": f, "in": "path", "required": True, "schema": {"type": "string"}}
            for f in op.path_fields]  # fmt: skip


for _op in OPERATIONS:
    if _op.method is None or _op.path is None:
        continue
    _extra = body_spec(_request_name(_op), required=False)
    _extra["parameters"] = [*_path_parameters(_op), IDEMPOTENCY_PARAMETER]
    router.add_api_route(
        _op.path,
        _endpoint(_op),
        methods=[_op.method],
        operation_id=_op.name,
        openapi_extra=_extra,
    )


def install(app: FastAPI) -> None:
    """The command routes and their request schemas in the OpenAPI document."""
    # Declared once for every command route: the schema lists each error it can answer.
    app.include_router(router, responses=COMMAND_ERRORS)
    bodies: dict[str, tuple[type[BaseModel], list[str]]] = {
        _request_name(op): (op.command, [op.command.ACTOR, *op.path_fields])
        for op in OPERATIONS
        if op.path is not None
    }
    install_schemas(app, {**bodies, OpenJourney.__name__: (OpenJourney, [])})
