"""Each member's feed: newest first whatever the arrival order, stable pages, read marks."""

from datetime import UTC, datetime, timedelta

from models.journey import EventKind
from readmodel.queries import JourneyQueries
from tests.builders import PRIMARY, SUPERVISOR, T0
from tests.factories import batch, event, summary
from tests.readmodel.support import Sessions, apply_all

HOUR = timedelta(hours=1)


async def _load(sessions: Sessions) -> None:
    """Five notifications per member, arriving out of time order, two of them simultaneous."""
    at = {"J-B": T0 + 2 * HOUR, "J-A": T0 + HOUR, "J-C": T0 + 3 * HOUR}
    for journey_id, when in at.items():
        await apply_all(sessions, [batch(summary(journey_id, 1, updated_at=when))])
    simultaneous = [
        event(1, at=T0 + 3 * HOUR),
        event(2, at=T0 + 3 * HOUR, kind=EventKind.PLAN_REVISED),
    ]
    await apply_all(
        sessions, [batch(summary("J-D", 2, updated_at=T0 + 3 * HOUR), events=simultaneous)]
    )


async def test_feed_is_newest_first_whatever_the_arrival_order(sessions: Sessions) -> None:
    await _load(sessions)
    feed = await JourneyQueries(sessions).feed(PRIMARY)
    assert [(f.journey_id, f.seq) for f in feed] == [
        ("J-D", 2),
        ("J-D", 1),
        ("J-C", 1),
        ("J-B", 1),
        ("J-A", 1),
    ]
    assert {f.recipient for f in feed} == {PRIMARY}


async def test_cursor_pages_cover_the_feed_once(sessions: Sessions) -> None:
    await _load(sessions)
    q = JourneyQueries(sessions)
    pages, before = [], None
    while page := await q.feed(PRIMARY, limit=2, before=before):
        pages.append(page)
        before = page[-1].id
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [f.id for p in pages for f in p] == [f.id for f in await q.feed(PRIMARY)]
    # A cursor naming someone else's notification pages nothing.
    theirs = (await q.feed(SUPERVISOR))[0].id
    assert await q.feed(PRIMARY, before=theirs) == []


async def test_kind_filter(sessions: Sessions) -> None:
    await _load(sessions)
    items = await JourneyQueries(sessions).feed(PRIMARY, kind=EventKind.PLAN_REVISED.value)
    assert [(f.journey_id, f.seq) for f in items] == [("J-D", 2)]


async def test_mark_read_changes_only_the_members_own_unread_items(sessions: Sessions) -> None:
    await _load(sessions)
    q = JourneyQueries(sessions)
    mine = await q.feed(PRIMARY)
    theirs = await q.feed(SUPERVISOR)
    at = T0 + 5 * HOUR
    assert await q.mark_read(PRIMARY, [mine[0].id, mine[1].id], at) == 2
    assert await q.mark_read(PRIMARY, [mine[0].id], at) == 0
    assert await q.mark_read(PRIMARY, [theirs[0].id], at) == 0
    unread = await q.feed(PRIMARY, unread_only=True)
    assert [f.id for f in unread] == [f.id for f in mine[2:]]
    assert {f.read_at for f in await q.feed(PRIMARY)} == {at, None}
    assert all(f.read_at is None for f in await q.feed(SUPERVISOR))
    # Without a time, now.
    before = datetime.now(UTC)
    assert await q.mark_read(PRIMARY, [mine[2].id]) == 1
    marked = next(f for f in await q.feed(PRIMARY) if f.id == mine[2].id)
    assert marked.read_at is not None
    assert marked.read_at >= before - timedelta(seconds=1)


async def test_feed_after_follows_arrival_order(sessions: Sessions) -> None:
    await _load(sessions)
    q = JourneyQueries(sessions)
    arrivals = await q.feed_after(PRIMARY, 0)
    assert [f.journey_id for f in arrivals] == ["J-B", "J-A", "J-C", "J-D", "J-D"]
    tail = await q.feed_after(PRIMARY, arrivals[2].id)
    assert [f.id for f in tail] == [f.id for f in arrivals[3:]]
