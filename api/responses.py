"""The error answers routes give, declared once so the OpenAPI schema lists them all.

The bodies are what ``api.errors`` and ``api.deps`` send: ``{"detail": ...}`` always, and a
``code`` where the refusal has one (403 from the journey's policy or the account's authority,
409 from the journey's state or a duplicate id, 503 from a journey moving to another worker).
"""

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Why the request was not done."""

    detail: str = Field(description="One line saying why, e.g. 'journey_closed: ...'.")
    code: str | None = Field(
        default=None,
        description="A stable reason code where there is one (e.g. not_authorized, "
        "journey_closed, journey_exists); absent for 401 and 404.",
    )


_WHY = {
    401: "No valid API token (or dashboard session).",
    403: "The account, or its care-team role under the journey's policy, may not do this; or "
    "the journey is not one of the caller's care teams.",
    404: "No journey with this id.",
    409: "The journey refused the command for its state (nothing changed), or the id is taken.",
    503: "The journey cannot answer just now: it is moving to another worker (code "
    "journey_unavailable; ask again after Retry-After seconds). Nothing changed.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router that can answer with these error codes."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


# Every command on one journey: authenticated, scoped to the care team, refusable by the
# journey, and about a journey that may not exist.
COMMAND_ERRORS = error_responses(401, 403, 404, 409, 503)
# Reading one journey: everything a command can answer but a refusal.
JOURNEY_READ_ERRORS = error_responses(401, 403, 404, 503)
