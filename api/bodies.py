"""Request bodies are the domain's own models, validated as JSON (strictly, as the journey
decodes them), with the fields the server fills in left out of what a caller may send.

FastAPI validates a body model as Python data, where a strict model refuses an ISO date or an
enum's value given as a string; these bodies are read as JSON instead, and the OpenAPI schema
still names each one (``install_schemas``).
"""

import json
import re
from collections.abc import Callable, Collection
from functools import cache
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
REF = "#/components/schemas/{model}"


def _invalid(errors: list[Any]) -> RequestValidationError:
    return RequestValidationError(errors)


async def read_body(
    request: Request,
    model: type[M],
    server: dict[str, str] | None = None,
    path: Collection[str] = (),
) -> M:
    """``model`` from the request's JSON body plus the fields the server fills in.

    ``server`` (the actor, a policy) may not come from the caller; ``path`` fields come from
    the URL. An empty body is an empty object (every field defaulted or refused by name).

    Raises:
        RequestValidationError: 422 naming each bad field (``body`` or ``path``).
    """
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise _invalid([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                         "input": {}}]) from None  # fmt: skip
    if not isinstance(data, dict):
        raise _invalid([{"type": "model_type", "loc": ("body",),
                         "msg": "Input should be an object", "input": {}}])  # fmt: skip
    taken = [k for k in data if k in (server or {}) or k in path]
    if taken:
        extra = "Extra inputs are not permitted"
        raise _invalid(
            [{"type": "extra_forbidden", "loc": ("body", k), "msg": extra, "input": {}}
             for k in taken]
        )  # fmt: skip
    values = {**data, **{k: request.path_params[k] for k in path}, **(server or {})}
    try:
        return model.model_validate_json(json.dumps(values))
    except ValidationError as exc:
        raise _invalid([_located(e, path) for e in exc.errors(include_url=False)]) from None


def _located(error: Any, path: Collection[str]) -> dict[str, Any]:
    """The error with ``path`` or ``body`` in front of its location, as FastAPI reports it."""
    loc = tuple(error["loc"])
    return {**error, "loc": ("path" if loc and loc[0] in path else "body", *loc)}


def request_schema(model: type[BaseModel], leave_out: Collection[str]) -> dict[str, Any]:
    """The model's JSON schema without the fields the caller does not send."""
    schema = dict(model.model_json_schema(ref_template=REF))
    schema.pop("$defs", None)
    schema["properties"] = {
        k: v for k, v in schema.get("properties", {}).items() if k not in leave_out
    }
    required = [k for k in schema.get("required", []) if k not in leave_out]
    schema["required"] = required
    if not required:
        schema.pop("required")
    schema["title"] = f"{model.__name__}Request"
    return schema


@cache
def _defs(model: type[BaseModel]) -> dict[str, Any]:
    defs: dict[str, Any] = model.model_json_schema(ref_template=REF).get("$defs", {})
    return defs


def body_spec(name: str, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON body by its component schema name."""
    content = {"application/json": {"schema": {"$ref": REF.format(model=name)}}}
    return {"requestBody": {"required": required, "content": content}}


def install_schemas(
    app: FastAPI, bodies: dict[str, tuple[type[BaseModel], Collection[str]]]
) -> None:
    """Add the request bodies (by name: model and fields left out) to the OpenAPI components."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, (model, leave_out) in bodies.items():
            components[name] = request_schema(model, leave_out)
            for def_name, definition in _defs(model).items():
                components.setdefault(def_name, definition)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (1-64 characters: letters, digits, ``.``, ``_``,
    ``:``, ``-``), or None when it has none.

    Raises:
        RequestValidationError: 422 for a key that is not one.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        why = "1-64 letters, digits, '.', '_', ':' or '-'"
        where = ("header", IDEMPOTENCY_HEADER)
        raise _invalid([{"type": "string_pattern_mismatch", "loc": where, "msg": why, "input": {}}])
    return key


IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "Retry-safe: a request repeated with the same key (same account, same "
    "operation) returns the first answer and changes nothing more.",
    "schema": {"type": "string", "maxLength": 64, "pattern": _KEY.pattern},
}
