"""The codec endpoint: Temporal's codec-server protocol for operations and admins only, CORS
for the configured Temporal UI origin only, strict bodies, every call audited without contents."""

import base64
import json
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import SESSION_COOKIE
from api.routers.codec import MAX_BODY_BYTES, MAX_PAYLOADS
from api.services import ApiServices
from models.views import AuditEntry
from runtime.codec import EncryptionCodec
from runtime.settings import Settings
from tests.api.conftest import ApiStack, open_as
from tests.api.forms import browser, login
from workflows.temporal_policy import journey_workflow_id

UI = "http://127.0.0.1:18233"
ELSEWHERE = "http://127.0.0.1:9999"
SECRET = "codec-test-secret-value"


@dataclass
class Codec:
    """The API with the service's codec and a configured Temporal UI origin."""

    app: FastAPI
    services: ApiServices
    tokens: dict[str, str]
    codec: EncryptionCodec

    def client(self, staff: str | None, **headers: str) -> httpx.AsyncClient:
        """A client acting as ``staff`` (None: no credentials)."""
        if staff is not None:
            headers["Authorization"] = f"Bearer {self.tokens[staff]}"
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)


@pytest.fixture(scope="module")
def codec_api(api: ApiStack, dev_env: WorkflowEnvironment) -> Codec:
    """The API stack's services with the dev server client's (encrypting) codec."""
    codec = dev_env.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    services = replace(api.services, codec=codec, temporal_ui_origin=UI)
    return Codec(create_app(services), services, api.tokens, codec)


def _json(payloads: list[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def _plain(text: str = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def _sealed(codec_api: Codec, text: str = SECRET) -> dict[str, Any]:
    return _json(await codec_api.codec.encode([_plain(text)]))


async def _entries(services: ApiServices, actor: str, action: str) -> list[AuditEntry]:
    log = await services.access.audit_log(limit=1000)
    return [e for e in log if e.actor == actor and e.action == action]


async def test_an_api_without_a_codec_answers_503_and_decodes_nothing(codec_api: Codec) -> None:
    body = await _sealed(codec_api)
    bare = create_app(replace(codec_api.services, codec=None))
    headers = {"Authorization": f"Bearer {codec_api.tokens['admin-1']}"}
    transport = httpx.ASGITransport(app=bare)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", headers=headers
    ) as http:
        answer = await http.post("/codec/decode", json=body)
    assert answer.status_code == 503
    assert answer.json() == {"detail": "this API has no payload codec"}
    assert SECRET not in answer.text


@pytest.mark.parametrize("staff", ["th-chen", "sv-gray"])
async def test_clinicians_and_supervisors_are_refused_and_nothing_is_decoded(
    codec_api: Codec, staff: str
) -> None:
    body = await _sealed(codec_api)
    async with codec_api.client(staff) as http:
        decoded = await http.post("/codec/decode", json=body)
        encoded = await http.post("/codec/encode", json=_json([_plain()]))
    assert decoded.status_code == 403
    assert encoded.status_code == 403
    assert SECRET not in decoded.text
    assert "payloads" not in decoded.json()
    refused = await _entries(codec_api.services, staff, "POST /codec/decode")
    assert refused
    assert refused[0].outcome == "forbidden"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Cookie": f"{SESSION_COOKIE}=forged"}],
)
async def test_no_credentials_a_bad_token_or_a_forged_session_are_401(
    codec_api: Codec, headers: dict[str, str]
) -> None:
    body = await _sealed(codec_api)
    async with codec_api.client(None, **headers) as http:
        answer = await http.post("/codec/decode", json=body)
    assert answer.status_code == 401
    assert SECRET not in answer.text


async def test_operations_decode_but_only_admins_encode(codec_api: Codec) -> None:
    async with codec_api.client("ops-1") as http:
        decoded = await http.post("/codec/decode", json=await _sealed(codec_api))
        encoded = await http.post("/codec/encode", json=_json([_plain()]))
    assert decoded.status_code == 200
    [payload] = decoded.json()["payloads"]
    assert json.loads(base64.b64decode(payload["data"])) == SECRET
    assert encoded.status_code == 403
    assert "admins only" in encoded.json()["detail"]


async def test_encode_then_decode_round_trips_through_the_services_codec(
    codec_api: Codec,
) -> None:
    originals = [_plain("first"), _plain("second"), Payload(metadata={"encoding": b"binary/null"})]
    async with codec_api.client("admin-1") as http:
        encoded = await http.post("/codec/encode", json=_json(originals))
        assert encoded.status_code == 200
        sealed = encoded.json()
        assert all(
            base64.b64decode(p["metadata"]["encoding"]) == b"binary/encrypted"
            for p in sealed["payloads"]
        )
        assert "first" not in json.dumps(sealed)
        decoded = await http.post("/codec/decode", json=sealed)
    assert decoded.status_code == 200
    assert [_payload(p) for p in decoded.json()["payloads"]] == originals
    # The service's own codec reads what the endpoint encoded (the worker would accept it).
    back = await codec_api.codec.decode([_payload(p) for p in sealed["payloads"]])
    assert list(back) == originals


def _payload(item: dict[str, Any]) -> Payload:
    return Payload(
        metadata={k: base64.b64decode(v) for k, v in item["metadata"].items()},
        data=base64.b64decode(item.get("data", "")),
    )


async def test_a_real_history_decodes_and_plaintext_passes_unchanged(
    codec_api: Codec, dev_env: WorkflowEnvironment
) -> None:
    await open_as(ApiStack(codec_api.app, codec_api.services, codec_api.tokens), "J-CODEC-1")
    # A client without the codec sees the history as the Temporal UI does: ciphertext.
    raw = await Client.connect(dev_env.client.service_client.config.target_host)
    history = await raw.get_workflow_handle(journey_workflow_id("J-CODEC-1")).fetch_history()
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    sealed = list(started.workflow_execution_started_event_attributes.input.payloads)
    assert sealed
    assert b"J-CODEC-1" not in sealed[0].data
    async with codec_api.client("ops-1") as http:
        answer = await http.post("/codec/decode", json=_json([*sealed, _plain("as is")]))
    assert answer.status_code == 200
    first, plain = (_payload(p) for p in answer.json()["payloads"])
    assert first.metadata["encoding"] == b"json/plain"
    assert json.loads(first.data)["start"]["journey_id"] == "J-CODEC-1"
    assert plain == _plain("as is")


async def test_each_decode_is_audited_by_namespace_count_and_key_never_contents(
    codec_api: Codec,
) -> None:
    body = await _sealed(codec_api)
    before = len(await _entries(codec_api.services, "admin-1", "POST /codec/decode"))
    async with codec_api.client("admin-1", **{"X-Namespace": "default"}) as http:
        for _ in range(2):
            assert (await http.post("/codec/decode", json=body)).status_code == 200
    entries = await _entries(codec_api.services, "admin-1", "POST /codec/decode")
    assert len(entries) == before + 2
    newest = entries[0]
    assert newest.outcome == "ok"
    assert newest.detail == "namespace default; 1 payloads; keys test-key-1; origin none"
    for entry in entries:
        assert SECRET not in (entry.detail or "")
        assert body["payloads"][0]["data"][:16] not in (entry.detail or "")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not json", "not JSON"),
        (b"[]", "nothing else"),
        (b'{"payloads": {}}', "expected a list"),
        (b'{"payloads": [], "extra": 1}', "nothing else"),
        (b'{"payloads": [{"data": "!!!"}]}', "payloads[1].data: not base64"),
        (b'{"payloads": [{"data": "YWJjZ"}]}', "payloads[1].data: not base64"),
        (b'{"payloads": [{"metadata": {"encoding": 1}}]}', "metadata.encoding: not base64"),
        (b'{"payloads": [{"metadata": []}]}', "expected an object"),
        (b'{"payloads": [{"data": "", "name": "x"}]}', "expected an object"),
        (b'{"payloads": [' + b"[" * 5000 + b"]" * 5000 + b"]}", "not JSON"),
    ],
)
async def test_malformed_bodies_are_422_with_nothing_decoded(
    codec_api: Codec, content: bytes, why: str
) -> None:
    sealed = (await _sealed(codec_api))["payloads"][0]
    # A good payload first: a bad one after it still refuses the whole call.
    if content.startswith(b'{"payloads": [{'):
        content = content.replace(
            b'{"payloads": [', b'{"payloads": [' + json.dumps(sealed).encode() + b", ", 1
        )
    async with codec_api.client("admin-1") as http:
        answer = await http.post(
            "/codec/decode", content=content, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422
    assert why in answer.json()["detail"]
    assert SECRET not in answer.text


async def test_a_payload_not_sealed_by_our_keys_refuses_the_call(codec_api: Codec) -> None:
    sealed = await _sealed(codec_api)
    tampered = json.loads(json.dumps(sealed))
    data = bytearray(base64.b64decode(tampered["payloads"][0]["data"]))
    data[-1] ^= 1
    tampered["payloads"][0]["data"] = base64.b64encode(bytes(data)).decode()
    foreign = EncryptionCodec({"other-key": b"k" * 32}, "other-key")
    stranger = _json(await foreign.encode([_plain()]))
    async with codec_api.client("admin-1") as http:
        for body, why in ((tampered, "failed authentication"), (stranger, "unknown key")):
            answer = await http.post(
                "/codec/decode", json={"payloads": sealed["payloads"] + body["payloads"]}
            )
            assert answer.status_code == 422
            assert why in answer.json()["detail"]
            assert "payloads[1]" in answer.json()["detail"]
            assert SECRET not in answer.text
    refused = await _entries(codec_api.services, "admin-1", "POST /codec/decode")
    assert refused[0].outcome == "refused"


async def test_oversized_bodies_are_413_and_too_many_payloads_422(codec_api: Codec) -> None:
    padding = "A" * (MAX_BODY_BYTES + 4)
    many: dict[str, Any] = {"payloads": [{}] * (MAX_PAYLOADS + 1)}
    async with codec_api.client("admin-1") as http:
        large = await http.post("/codec/decode", json={"payloads": [{"data": padding}]})
        counted = await http.post("/codec/decode", json=many)
        at_limit = await http.post("/codec/decode", json={"payloads": [{}] * MAX_PAYLOADS})
    assert large.status_code == 413
    assert str(MAX_BODY_BYTES) in large.json()["detail"]
    assert counted.status_code == 422
    assert f"at most {MAX_PAYLOADS}" in counted.json()["detail"]
    assert at_limit.status_code == 200
    assert len(at_limit.json()["payloads"]) == MAX_PAYLOADS


async def test_the_ui_origins_preflight_is_allowed_with_credentials(codec_api: Codec) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with codec_api.client(None) as http:
        allowed = await http.options("/codec/decode", headers=preflight)
        other = await http.options("/codec/decode", headers={**preflight, "Origin": ELSEWHERE})
        # Nothing else of the API is opened to the UI's origin.
        elsewhere = await http.options("/journeys", headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == UI
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert {"content-type", "x-namespace", "authorization"} <= {
        h.strip() for h in allowed_headers.split(",")
    }
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_a_session_from_the_ui_origin_decodes_and_other_origins_are_refused(
    codec_api: Codec,
) -> None:
    body = await _sealed(codec_api)
    async with browser(codec_api.app, "10.0.9.1") as http:
        assert (await login(http, "admin-1", codec_api.tokens["admin-1"])).status_code == 303
        from_ui = await http.post("/codec/decode", json=body, headers={"Origin": UI})
        from_elsewhere = await http.post("/codec/decode", json=body, headers={"Origin": ELSEWHERE})
        # What a plain HTML form on any page can send: no preflight, so refused by its type.
        as_form = await http.post(
            "/codec/encode",
            content=json.dumps(_json([_plain()])),
            headers={"Origin": UI, "Content-Type": "text/plain"},
        )
    assert from_ui.status_code == 200
    assert from_ui.headers["access-control-allow-origin"] == UI
    assert from_ui.headers["access-control-allow-credentials"] == "true"
    assert SECRET in base64.b64decode(from_ui.json()["payloads"][0]["data"]).decode()
    assert from_elsewhere.status_code == 403
    assert "access-control-allow-origin" not in from_elsewhere.headers
    assert SECRET not in from_elsewhere.text
    assert as_form.status_code == 415
    audited = await _entries(codec_api.services, "admin-1", "POST /codec/decode")
    assert audited[0].outcome == "origin"
    assert audited[1].detail is not None
    assert f"origin {UI}" in audited[1].detail


def test_the_ui_origin_defaults_to_the_embedded_ui() -> None:
    assert Settings(_env_file=None).effective_temporal_ui_origin == "http://127.0.0.1:8233"
    ported = Settings(_env_file=None, temporal_ui_port=9100)
    assert ported.effective_temporal_ui_origin == "http://127.0.0.1:9100"
    given = Settings(_env_file=None, temporal_ui_origin="https://temporal.example.org/")
    assert given.effective_temporal_ui_origin == "https://temporal.example.org"
    with pytest.raises(ValueError, match="origin"):
        Settings(_env_file=None, temporal_ui_origin="https://temporal.example.org/ui")
