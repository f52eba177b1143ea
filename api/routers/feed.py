"""The caller's own notification feed: paging with a cursor, filters, acknowledge, live stream."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import Audited, Services
from api.schemas import Acknowledged, FeedPage
from models.journey import EventKind

router = APIRouter(prefix="/feed", tags=["feed"])

STREAM_POLL_SECONDS = 1.0
# A stream ends after this long; browsers' EventSource reconnects on its own.
STREAM_MAX_SECONDS = 300.0


@router.get("")
async def feed(
    services: Services,
    audit: Audited,
    unread: bool = False,
    kind: EventKind | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="cursor")] = None,
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
    notification_id: Annotated[int, Path(ge=1, le=2**62)],
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
    request: Request, services: Services, audit: Audited, after: int = 0
) -> StreamingResponse:
    """Server-sent events: each new notification of the caller as it arrives."""
    member = audit.staff.staff_id

    async def events() -> AsyncIterator[str]:
        last = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_MAX_SECONDS
        yield ": connected\n\n"
        while loop.time() < deadline and not await request.is_disconnected():
            for item in await services.queries.feed_after(member, last):
                last = item.id
                data = json.dumps(item.model_dump(mode="json"))
                yield f"id: {item.id}\nevent: notification\ndata: {data}\n\n"
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream")
