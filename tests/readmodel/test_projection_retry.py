"""A batch for a sequence already stored replaces what that sequence wrote.

A workflow task retried after its worker died (between the projection and the task's
completion) computes its batch again with a later time but the same sequence. The read model
must then hold the retried batch, the one in the history: only an older sequence is refused.
Notifications keep their keys and ids (no duplicate feed rows, nothing new to deliver).
"""

from datetime import timedelta

from sqlalchemy import select

from readmodel.tables import EventRow, JourneyRow, NotificationRow, SegmentRow
from tests.builders import T0
from tests.factories import journey_batches
from tests.readmodel.support import Sessions, apply_all, clear, snapshot

# The workflow-task timeout: how much later a retried task's clock reads.
RETRY_DELAY = timedelta(seconds=10)


async def _notifications(sessions: Sessions) -> dict[str, tuple[int, object]]:
    async with sessions() as session:
        rows = (await session.scalars(select(NotificationRow))).all()
    return {r.idempotency_key: (r.id, r.created_at) for r in rows}


async def test_the_same_sequence_again_with_later_times_replaces_the_first(
    sessions: Sessions,
) -> None:
    first = journey_batches("J-RETRY", T0)
    retried = journey_batches("J-RETRY", T0 + RETRY_DELAY)
    decision = first[1]  # intake decided: 3.7-WM, a new segment, a review due
    again = retried[1]
    assert again.summary.seq == decision.summary.seq
    assert again.summary.next_review_due != decision.summary.next_review_due

    await apply_all(sessions, [first[0], decision])
    before = await _notifications(sessions)
    assert await apply_all(sessions, [again]) == 0  # nothing new to notify or deliver

    async with sessions() as session:
        journey = await session.get(JourneyRow, "J-RETRY")
        segments = (await session.scalars(select(SegmentRow).order_by(SegmentRow.index))).all()
        events = (await session.scalars(select(EventRow).order_by(EventRow.seq))).all()
    assert journey is not None
    assert journey.next_review_due == again.summary.next_review_due
    assert journey.updated_at == again.summary.updated_at
    assert [s.effective_at for s in segments][-1] == again.segments[-1].effective_at
    retried_times = {e.seq: e.occurred_at for e in again.events}
    assert {e.seq: e.occurred_at for e in events if e.seq in retried_times} == retried_times

    after = await _notifications(sessions)
    assert set(after) == set(before)  # the same keys: no duplicate feed rows
    assert {k: i for k, (i, _) in after.items()} == {k: i for k, (i, _) in before.items()}
    times = {e.seq: e.occurred_at for e in again.events}
    async with sessions() as session:
        rows = (await session.scalars(select(NotificationRow))).all()
    assert all(r.created_at == times[r.seq] for r in rows if r.seq in times)


async def test_a_retried_batch_leaves_what_the_retry_alone_would_have(
    sessions: Sessions,
) -> None:
    first = journey_batches("J-RETRY", T0)
    retried = journey_batches("J-RETRY", T0 + RETRY_DELAY)
    await apply_all(sessions, [first[0], retried[1]])
    expected = await snapshot(sessions)
    # Again, with the first attempt of the decision written before the retry.
    await clear(sessions)
    await apply_all(sessions, [first[0], first[1], retried[1]])
    assert await snapshot(sessions) == expected


async def test_an_older_sequence_is_still_refused_after_a_retry(sessions: Sessions) -> None:
    first = journey_batches("J-RETRY", T0)
    retried = journey_batches("J-RETRY", T0 + RETRY_DELAY)
    await apply_all(sessions, [first[0], first[1], retried[1], first[2]])
    expected = await snapshot(sessions)
    # A late repeat of the first attempt's decision (older than the stored plan batch).
    await apply_all(sessions, [first[1], retried[1]])
    assert await snapshot(sessions) == expected
