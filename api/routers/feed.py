"""The caller's own notification feed: paging with a cursor, filters, acknowledge, live stream."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import Audited, Services
from api.schemas import Acknowledged, FeedPage
from models.journey import EventKind

router = APIRouter(prefix="/feed", tags=["feed"])

MAX_ID = 2**62
STREAM_POLL_SECONDS = 1.0
# A stream ends after this long; browsers' EventSource reconnects on its own, after
# STREAM_RETRY_MS, sending the id of the last event it received.
STREAM_MAX_SECONDS = 300.0
STREAM_RETRY_MS = 2000
# A comment after this long without an event, so proxies and browsers keep a quiet stream.
STREAM_KEEPALIVE_SECONDS = 15.0
STREAM_PAGE = 50


@router.get("")
async def feed(
    services: Services,
    audit: Audited,
    unread: bool = False,
    kind: EventKind | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FeedPage:
    """The caller's notifications, newest first."""
    items = await services.queries.feed(
        audit.staff.staff_id,
        unread_only=unread,
        limit=limit,
        before=before,
        kind=kind.value if kind else None,
    )
    cursor = items[-1].id if len(items) == limit else None
    return FeedPage(items=items, next_cursor=cursor)


@router.post("/{notification_id}/ack")
async def acknowledge(
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    services: Services,
    audit: Audited,
) -> Acknowledged:
    """Mark one of the caller's notifications read (someone else's changes nothing)."""
    changed = await services.queries.mark_read(
        audit.staff.staff_id, [notification_id], datetime.now(UTC)
    )
    return Acknowledged(acknowledged=changed)


@router.get("/stream", response_class=StreamingResponse)
async def stream(
    request: Request,
    services: Services,
    audit: Audited,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="cursor: the newest id held")] = 0,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="sent by a reconnecting EventSource"),
    ] = None,
) -> StreamingResponse:
    """Server-sent events: each new notification of the caller as it arrives.

    Every notification is an event whose ``id:`` is its id; a reconnecting browser sends the
    last one as ``Last-Event-ID`` and the stream resumes after it (the ``after`` cursor of the
    first connection counts only without it). Comments keep a quiet stream alive.
    """
    member = audit.staff.staff_id
    resume = resume_after(after, last_event_id)

    async def events() -> AsyncIterator[str]:
        last = resume
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_MAX_SECONDS
        quiet_since = loop.time()
        yield f"retry: {STREAM_RETRY_MS}\n: connected\n\n"
        while loop.time() < deadline and not await request.is_disconnected():
            items = await services.queries.feed_after(member, last, limit=STREAM_PAGE)
            for item in items:
                last = item.id
                data = json.dumps(item.model_dump(mode="json"))
                yield f"id: {item.id}\nevent: notification\ndata: {data}\n\n"
            if items:
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= STREAM_KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet_since = loop.time()
            if len(items) < STREAM_PAGE:  # a full page: more may be waiting
                await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream")


def resume_after(after: int, last_event_id: str | None) -> int:
    """Where a stream starts: after ``Last-Event-ID`` when it is an id, else after the cursor."""
    value = (last_event_id or "").strip()
    if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return after
