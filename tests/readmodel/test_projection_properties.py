"""Property: any arrival order, with any repeats, leaves the tables of the in-order run."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import journey_batches
from tests.readmodel.support import Sessions, apply_all, clear, snapshot

EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
BATCHES = journey_batches("J-PROP")
INDEXES = list(range(len(BATCHES)))
# Every batch at least once, in any order, some of them again (retries, replays).
ARRIVALS = st.lists(st.sampled_from(INDEXES), max_size=len(BATCHES)).flatmap(
    lambda repeats: st.permutations(INDEXES + repeats)
)


@EXAMPLES
@given(arrivals=ARRIVALS)
async def test_any_arrival_order_gives_the_in_order_tables(
    sessions: Sessions, arrivals: list[int]
) -> None:
    await clear(sessions)
    in_order_notified = await apply_all(sessions, BATCHES)
    expected = await snapshot(sessions)
    await clear(sessions)
    notified = await apply_all(sessions, [BATCHES[i] for i in arrivals])
    assert await snapshot(sessions) == expected
    assert notified == in_order_notified


CHANGES = journey_batches("J-PROP", changes_only=True)
# The workflow sends a run's batches one after the other, each only once the one before is
# written; what can still arrive late is a stale repeat of an earlier batch (a local activity
# whose worker lost the workflow task, then finished).
LATE_REPEATS = st.lists(
    st.lists(st.integers(min_value=0, max_value=len(CHANGES) - 1), max_size=3),
    min_size=len(CHANGES),
    max_size=len(CHANGES),
)


def test_change_batches_leave_out_what_did_not_change() -> None:
    full = journey_batches("J-PROP")
    assert [b.summary for b in CHANGES] == [b.summary for b in full]
    assert [b.events for b in CHANGES] == [b.events for b in full]
    first, *rest = CHANGES
    assert first == full[0]
    # Later batches carry fewer rows; the care team is rewritten only by the batch changing it.
    assert sum(len(b.tasks) + len(b.reassessments) + len(b.segments) for b in rest) < sum(
        len(b.tasks) + len(b.reassessments) + len(b.segments) for b in full[1:]
    )
    assert [b.care_team_changed for b in CHANGES] == [True, False, True, False, False, False, False]
    assert all(b.plan is None for i, b in enumerate(CHANGES) if i != 2)


@EXAMPLES
@given(late=LATE_REPEATS)
async def test_change_batches_in_order_with_late_repeats_give_the_full_tables(
    sessions: Sessions, late: list[list[int]]
) -> None:
    await clear(sessions)
    full_notified = await apply_all(sessions, BATCHES)
    # Rows without a sequence of their own are stamped with the batch that last wrote them:
    # the last batch when every batch carries them, the one that changed them otherwise.
    expected = await snapshot(sessions, leave_out=("updated_seq",))
    await clear(sessions)
    arrivals = [
        batch
        for n, batch in enumerate(CHANGES)
        for batch in [batch, *(CHANGES[i] for i in late[n] if i <= n)]
    ]
    notified = await apply_all(sessions, arrivals)
    assert await snapshot(sessions, leave_out=("updated_seq",)) == expected
    assert notified == full_notified
