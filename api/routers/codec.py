"""Temporal's codec-server protocol: staff read decrypted histories in the Temporal UI and CLI.

``POST /codec/decode`` and ``POST /codec/encode`` take and answer the JSON form of
``temporal.api.common.v1.Payloads`` (``{"payloads": [{"metadata": {k: base64}, "data":
base64}]}``) through the service's own payload codec. The Temporal UI calls them from its own
origin with the browser's cookies (its "include cross-origin credentials" codec setting); the
``temporal`` CLI calls them with ``--codec-auth "Bearer TOKEN"``.

Who may: decoding shows clinical data, so operations and admin accounts only; encoding makes
ciphertext the worker accepts as genuine (a signal or update sent around the API's checks),
so admins only. Everyone else gets 401 or 403 with nothing decoded. Every call is written to
the audit log (who, the namespace the caller names, how many payloads under which key ids,
from which origin; never a payload's contents): the UI sends no workflow id.

A session cookie is an ambient credential, so a browser's call must come from the configured
Temporal UI origin (or the API's own) and be JSON: a JSON post from any other page needs a
CORS preflight, which only that origin passes (:class:`CodecCors`), and a form post from any
page is refused as the wrong content type before anything is read.
"""

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from google.protobuf import json_format
from pydantic import BaseModel, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from api.deps import Services, Staff
from api.responses import ErrorBody
from models.staff import StaffRole
from models.views import StaffAccount
from runtime.codec import ENCODING, KEY_ID_META, CodecKeyError, RefusingCodec

PREFIX = "/codec"
# A history event's payloads fit easily (Temporal refuses a single payload over 2 MiB).
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PAYLOADS = 1000
DECODERS = frozenset({StaffRole.OPERATIONS, StaffRole.ADMIN})
ENCODERS = frozenset({StaffRole.ADMIN})
# What the Temporal UI and the CLI send: JSON, the namespace, a bearer token.
ALLOWED_HEADERS = "authorization, content-type, x-namespace"
PREFLIGHT_MAX_AGE = "600"
# Standard or URL-safe base64, padding optional (protobuf's JSON form accepts both).
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_PAYLOAD_FIELDS = frozenset({"metadata", "data", "externalPayloads", "external_payloads"})

router = APIRouter(prefix=PREFIX, tags=["codec"])


class CodecPayload(BaseModel):
    """One ``temporal.api.common.v1.Payload`` in its JSON form."""

    metadata: dict[str, str] = Field(default_factory=dict, description="Values in base64.")
    data: str = Field(default="", description="Base64.")


class CodecPayloads(BaseModel):
    """``temporal.api.common.v1.Payloads`` in its JSON form."""

    payloads: list[CodecPayload] = Field(max_length=MAX_PAYLOADS)


_WHY = {
    401: "No valid API token (or dashboard session).",
    403: "Not an account that may (decode: operations and admins; encode: admins), or a "
    "browser page from an origin other than the configured Temporal UI.",
    413: f"The body is over {MAX_BODY_BYTES} bytes.",
    415: "The body is not application/json.",
    422: f"Not Payloads in JSON form, over {MAX_PAYLOADS} payloads, or a payload that is "
    "not ours to decrypt (nothing is decoded).",
    503: "The API has no payload codec.",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": why} for code, why in _WHY.items()
}
BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CodecPayloads.model_json_schema()}},
    }
}


class CodecRefusal(Exception):
    """A call refused before anything was decoded or encoded: its answer and audit outcome."""

    def __init__(self, code: int, outcome: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.outcome = outcome
        self.message = message


Work = Callable[[PayloadCodec, list[Payload]], Awaitable[list[Payload]]]


@router.post(
    "/decode", response_model=CodecPayloads, responses=RESPONSES, openapi_extra=BODY_SCHEMA
)
async def decode(request: Request, services: Services, staff: Staff) -> Response:
    """Decrypt payloads (operations and admins); payloads not encrypted pass unchanged."""
    return await _serve(request, services, staff, DECODERS, _decode)


@router.post(
    "/encode", response_model=CodecPayloads, responses=RESPONSES, openapi_extra=BODY_SCHEMA
)
async def encode(request: Request, services: Services, staff: Staff) -> Response:
    """Encrypt payloads with the active key (admins only)."""
    return await _serve(request, services, staff, ENCODERS, _encode)


@dataclass
class _Call:
    """What the audit entry of one call says: never a payload's contents."""

    namespace: str
    origin: str
    payloads: int = 0
    keys: tuple[str, ...] = ()

    def detail(self) -> str:
        keys = ",".join(self.keys) or "none"
        return (
            f"namespace {self.namespace}; {self.payloads} payloads; keys {keys}; "
            f"origin {self.origin}"
        )


async def _serve(
    request: Request,
    services: Services,
    staff: StaffAccount,
    roles: frozenset[StaffRole],
    work: Work,
) -> Response:
    """Check, read, run and audit one call; a refusal decodes and encodes nothing."""
    headers = request.headers
    call = _Call(_printable(headers.get("x-namespace"), 64), _printable(headers.get("origin"), 100))
    action, outcome = f"POST {request.url.path}"[:64], "ok"
    try:
        _check_origin(request, services.temporal_ui_origin)
        if staff.role not in roles:
            raise CodecRefusal(403, "forbidden", _refused_role(roles))
        codec = _codec(services.codec)
        payloads = _parse(await _read_body(request))
        call.payloads = len(payloads)
        answer = await work(codec, payloads)
        call.keys = _key_ids(answer if work is _encode else payloads)
    except CodecRefusal as refusal:
        outcome = refusal.outcome
        raise HTTPException(refusal.code, refusal.message) from None
    except Exception as exc:
        outcome = type(exc).__name__[:32]
        raise
    finally:
        await services.access.record(staff.staff_id, action, None, outcome, call.detail())
    body = json_format.MessageToJson(Payloads(payloads=answer), indent=None)
    return Response(body, media_type="application/json")


def _refused_role(roles: frozenset[StaffRole]) -> str:
    if roles == ENCODERS:
        return "admins only: encoding makes payloads the journeys accept as genuine"
    return "operations and admins only"


def _check_origin(request: Request, ui_origin: str | None) -> None:
    """A browser's call comes from the configured Temporal UI or the API itself."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser page (the CLI, curl): no ambient cookie is at stake
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin not in {own, ui_origin}:
        raise CodecRefusal(403, "origin", "this origin may not call the codec endpoint")


def _codec(codec: PayloadCodec | None) -> PayloadCodec:
    if codec is None:
        raise CodecRefusal(503, "no_codec", "this API has no payload codec")
    # The worker's codec would stand in for a refused payload; here a refusal is an answer.
    return codec.inner if isinstance(codec, RefusingCodec) else codec


async def _read_body(request: Request) -> bytes:
    """The JSON body, refused by its declared or its actual size before it is all read."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/json":
        raise CodecRefusal(415, "http_415", "send the payloads as application/json")
    too_large = CodecRefusal(413, "http_413", f"the body is over {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def _malformed(message: str) -> CodecRefusal:
    return CodecRefusal(422, "invalid", message)


def _parse(body: bytes) -> list[Payload]:
    """Payloads from their JSON form, strictly: a malformed one refuses the whole call."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _malformed("the body is not JSON") from None
    if not isinstance(data, dict) or set(data) - {"payloads"}:
        raise _malformed('expected {"payloads": [...]} and nothing else')
    items = data.get("payloads", [])
    if not isinstance(items, list):
        raise _malformed("payloads: expected a list")
    if len(items) > MAX_PAYLOADS:
        raise _malformed(f"{len(items)} payloads: at most {MAX_PAYLOADS} per call")
    return [_payload(item, f"payloads[{i}]") for i, item in enumerate(items)]


def _payload(item: object, where: str) -> Payload:
    if not isinstance(item, dict) or set(item) - _PAYLOAD_FIELDS:
        raise _malformed(f"{where}: expected an object with metadata and data")
    if item.get("externalPayloads", item.get("external_payloads")):
        raise _malformed(f"{where}: external payloads are not ours")
    metadata = item.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _malformed(f"{where}.metadata: expected an object")
    return Payload(
        metadata={
            _printable(k, 40): _base64(v, f"{where}.metadata.{_printable(k, 40)}")
            for k, v in metadata.items()
        },
        data=_base64(item.get("data", ""), f"{where}.data"),
    )


def _base64(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _BASE64.fullmatch(value):
        raise _malformed(f"{where}: not base64")
    standard = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except binascii.Error:
        raise _malformed(f"{where}: not base64") from None


async def _decode(codec: PayloadCodec, payloads: list[Payload]) -> list[Payload]:
    """Decrypt the encrypted payloads; a payload in plaintext is already readable as it is."""
    decoded = []
    for index, payload in enumerate(payloads):
        if payload.metadata.get("encoding") != ENCODING:
            decoded.append(payload)
            continue
        try:
            decoded.extend(await codec.decode([payload]))
        except CodecKeyError as exc:
            raise CodecRefusal(422, "refused", f"payloads[{index}]: {exc}") from None
    return decoded


async def _encode(codec: PayloadCodec, payloads: list[Payload]) -> list[Payload]:
    return await codec.encode(payloads)


def _key_ids(payloads: Sequence[Payload]) -> tuple[str, ...]:
    found = {
        p.metadata[KEY_ID_META].decode(errors="replace")
        for p in payloads
        if KEY_ID_META in p.metadata
    }
    return tuple(sorted(_printable(k, 40) for k in found))[:5]


def _printable(value: str | None, limit: int) -> str:
    if value is None:
        return "none"
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in value[:limit])


class CodecCors:
    """ASGI middleware: CORS for the codec endpoint only, and only for the Temporal UI origin.

    The preflight of an allowed origin is answered here (credentials allowed, the headers the
    UI and CLI send); any other origin's preflight gets 403 and no CORS headers, so its page
    never sends the call. Answers to the allowed origin (errors included, so the UI can tell
    a refusal from a network failure) carry its CORS headers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"{PREFIX}/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin == _ui_origin(scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await _preflight(allowed, origin, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer.append("Vary", "Origin")
                if allowed and origin is not None:
                    answer["Access-Control-Allow-Origin"] = origin
                    answer["Access-Control-Allow-Credentials"] = "true"
            await send(message)

        await self.app(scope, receive, with_cors)


def _ui_origin(scope: Scope) -> str | None:
    services = getattr(scope["app"].state, "services", None)
    return getattr(services, "temporal_ui_origin", None)


async def _preflight(allowed: bool, origin: str | None, send: Send) -> None:
    if allowed and origin is not None:
        code, body = 204, b""
        headers = [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", b"POST"),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        ]
    else:
        code, body = 403, b"this origin may not call the codec endpoint"
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
    headers += [(b"vary", b"Origin"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    """Add the codec routes and their CORS middleware."""
    app.include_router(router)
    app.add_middleware(CodecCors)
