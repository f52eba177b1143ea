"""Property: any arrival order, with any repeats, leaves the tables of the in-order run."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import journey_batches
from tests.readmodel.support import Sessions, apply_all, clear, snapshot

BATCHES = journey_batches("J-PROP")
INDEXES = list(range(len(BATCHES)))
# Every batch at least once, in any order, some of them again (retries, replays).
ARRIVALS = st.lists(st.sampled_from(INDEXES), max_size=len(BATCHES)).flatmap(
    lambda repeats: st.permutations(INDEXES + repeats)
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
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
