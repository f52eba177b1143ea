"""The live feed (``GET /feed/stream``): resumes after ``Last-Event-ID``, ids every event,
keeps a quiet connection alive.

The test client reads a stream whole, so each stream here is cut short (the module's lifetime
setting, patched); a browser's EventSource reconnects after such an end, sending the id of the
last event it received.
"""

import json

import pytest

from api.routers import feed as stream_module
from tests.api.conftest import ApiStack
from tests.factories import batch, event, summary
from tests.readmodel.support import apply_all


@pytest.fixture
def short_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams that end after a moment, poll often and keep alive while quiet."""
    monkeypatch.setattr(stream_module, "STREAM_MAX_SECONDS", 1.0)
    monkeypatch.setattr(stream_module, "STREAM_POLL_SECONDS", 0.05)
    monkeypatch.setattr(stream_module, "STREAM_KEEPALIVE_SECONDS", 0.2, raising=False)


def _messages(body: str) -> list[dict[str, str]]:
    """The stream's messages, each as its fields (comments under ``:``)."""
    out = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in filter(None, block.split("\n")):
            name, _, value = line.partition(":")
            fields[name] = (fields.get(name, "") + value.strip()) if name else value.strip()
        if fields:
            out.append(fields)
    return out


async def _notified(api: ApiStack, journey_id: str, seqs: range) -> list[int]:
    """Notifications for th-chen at ``seqs``; their ids, oldest first."""
    events = [event(seq, recipients=["th-chen"]) for seq in seqs]
    await apply_all(
        api.services.queries.sessions, [batch(summary(journey_id, seqs[-1]), events=events)]
    )
    async with api.client("th-chen") as http:
        items = (await http.get("/feed", params={"limit": 500})).json()["items"]
    return sorted(i["id"] for i in items if i["journey_id"] == journey_id)


@pytest.mark.usefixtures("short_streams")
async def test_a_reconnecting_stream_resumes_after_its_last_event_id(api: ApiStack) -> None:
    ids = await _notified(api, "J-STREAM-1", range(1, 6))
    async with api.client("th-chen") as http:
        # The page's first cursor stays in the URL; the header says what it already has.
        answer = await http.get(
            "/feed/stream", params={"after": ids[0] - 1}, headers={"Last-Event-ID": str(ids[2])}
        )
    assert answer.status_code == 200
    notifications = [m for m in _messages(answer.text) if m.get("event") == "notification"]
    assert [int(m["id"]) for m in notifications] == ids[3:]
    assert [json.loads(m["data"])["id"] for m in notifications] == ids[3:]


@pytest.mark.usefixtures("short_streams")
async def test_every_event_has_its_id_and_a_quiet_stream_is_kept_alive(api: ApiStack) -> None:
    ids = await _notified(api, "J-STREAM-2", range(1, 4))
    async with api.client("th-chen") as http:
        answer = await http.get("/feed/stream", params={"after": ids[0] - 1})
    messages = _messages(answer.text)
    events = [m for m in messages if "event" in m]
    assert [m["event"] for m in events] == ["notification"] * len(ids)
    assert [int(m["id"]) for m in events] == ids
    # Nothing more to send: comments keep the connection (and the proxies on the way) open.
    assert "keep-alive" in [m.get("") for m in messages]
    # How long the browser waits before reconnecting, said once at the start.
    assert messages[0].get("retry", "").isdigit()


async def test_a_last_event_id_that_is_no_id_falls_back_to_the_cursor(
    api: ApiStack, short_streams: None
) -> None:
    ids = await _notified(api, "J-STREAM-3", range(1, 3))
    async with api.client("th-chen") as http:
        answer = await http.get(
            "/feed/stream", params={"after": ids[0]}, headers={"Last-Event-ID": "x1"}
        )
    notifications = [m for m in _messages(answer.text) if m.get("event") == "notification"]
    assert [int(m["id"]) for m in notifications] == ids[1:]
