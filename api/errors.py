"""One mapping from errors to answers, for the API and the dashboard alike.

The API answers JSON: 404 unknown journey (or one outside the caller's scope: the same answer),
409 refused or duplicate, 422 invalid (never echoing the value sent), 403 (with a code) for a
command the account or its care-team role may not send, 503 with ``Retry-After`` for a journey
that cannot answer a read while it moves to another worker. A dashboard page
(``/`` and ``/ui/...``) answers the same errors as pages: the login page for no session, a
403 page for a refusal of who sent it, and back to the journey with the reason otherwise.
"""

from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from models.errors import RejectionCode
from service.access import AccessDeniedError
from service.journeys import (
    CommandRejectedError,
    JourneyError,
    JourneyExistsError,
    JourneyNotFoundError,
    JourneyUnavailableError,
)

# When to ask again for a journey that is moving to another worker (503).
RETRY_UNAVAILABLE_S = "5"

# How a dashboard page answers an error (None: as the API does).
PageAnswer = Callable[[Request, Exception], Response | None]


def is_page(request: Request) -> bool:
    """Whether the request is for a dashboard page or form (not the JSON API)."""
    path = request.url.path
    return path == "/" or path.startswith("/ui/")


def refused_for_actor(exc: Exception) -> bool:
    """A refusal of who sent the command (403), not of the journey's state (409)."""
    if isinstance(exc, AccessDeniedError):
        return True
    return isinstance(exc, CommandRejectedError) and exc.code is RejectionCode.NOT_AUTHORIZED


def invalid(exc: ValidationError | RequestValidationError) -> JSONResponse:
    """422 naming each invalid field; never the value sent (it may be large, or client data)."""
    errors = [
        {"loc": list(e["loc"]), "msg": str(e["msg"])[:200], "type": e["type"]}
        for e in exc.errors()[:20]
    ]
    return JSONResponse({"detail": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT)


def _json(exc: Exception) -> JSONResponse:
    if isinstance(exc, JourneyNotFoundError):
        # The same answer as for a journey outside the caller's scope (``api.deps``).
        return JSONResponse({"detail": "journey not found"}, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, AccessDeniedError | CommandRejectedError):
        code = status.HTTP_403_FORBIDDEN if refused_for_actor(exc) else status.HTTP_409_CONFLICT
        return JSONResponse({"detail": exc.message, "code": exc.code.value}, code)
    if isinstance(exc, JourneyExistsError):
        return JSONResponse({"detail": str(exc), "code": "journey_exists"}, 409)
    if isinstance(exc, JourneyUnavailableError):
        return JSONResponse(
            {"detail": str(exc), "code": "journey_unavailable"},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": RETRY_UNAVAILABLE_S},
        )
    if not isinstance(exc, ValidationError | RequestValidationError):
        raise exc  # not an answer the API gives: a server error
    return invalid(exc)


def install(app: FastAPI, page: PageAnswer | None = None) -> None:
    """Register the handlers; ``page`` answers for dashboard pages where it returns one."""

    async def answer(request: Request, exc: Exception) -> Response:
        if page is not None and is_page(request):
            shown = page(request, exc)
            if shown is not None:
                return shown
        if isinstance(exc, HTTPException):
            return await http_exception_handler(request, exc)
        return _json(exc)

    handled: tuple[type[Exception], ...] = (
        JourneyNotFoundError, CommandRejectedError, AccessDeniedError, JourneyExistsError,
        JourneyUnavailableError, ValidationError, RequestValidationError, HTTPException,
    )  # fmt: skip
    for kind in handled:
        app.add_exception_handler(kind, answer)
    if page is not None:
        # Anything else a form can raise that says what was wrong (a bad value, a journey
        # that cannot be reached): back to the page with the first line of it.
        app.add_exception_handler(JourneyError, answer)
        app.add_exception_handler(ValueError, answer)
