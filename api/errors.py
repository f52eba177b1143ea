"""Domain errors as HTTP answers: 404 unknown journey, 409 refused or duplicate, 422 invalid,
403 (with a code) for a command the account or its care-team role may not send."""

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from models.errors import RejectionCode
from service.access import AccessDeniedError
from service.journeys import CommandRejectedError, JourneyExistsError, JourneyNotFoundError


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(JourneyNotFoundError)
    async def not_found(_: Request, exc: JourneyNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(CommandRejectedError)
    async def rejected(_: Request, exc: CommandRejectedError) -> JSONResponse:
        body = {"detail": exc.message, "code": exc.code.value}
        # Refused for who sent it, not for the journey's state: asking again will not help.
        forbidden = exc.code is RejectionCode.NOT_AUTHORIZED
        return JSONResponse(
            body, status.HTTP_403_FORBIDDEN if forbidden else status.HTTP_409_CONFLICT
        )

    @app.exception_handler(AccessDeniedError)
    async def denied(_: Request, exc: AccessDeniedError) -> JSONResponse:
        body = {"detail": exc.message, "code": exc.code.value}
        return JSONResponse(body, status.HTTP_403_FORBIDDEN)

    @app.exception_handler(JourneyExistsError)
    async def exists(_: Request, exc: JourneyExistsError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "code": "journey_exists"}, status.HTTP_409_CONFLICT
        )

    @app.exception_handler(ValidationError)
    async def invalid(_: Request, exc: ValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT)
