"""Past due, due today, due tomorrow at 23:30 and 00:30 of the program's day, every way in.

Work is seeded into the read model at known distances from a pinned clock; the board, the
``due`` filter of ``GET /journeys`` and ``journeys list --due`` (straight to the read model and
over the API) must all put it in the same bucket, counted in the program's time zone.
"""

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from cli.direct import DirectBackend
from cli.remote import RemoteBackend
from models.journey import Priority
from runtime.settings import Settings
from service.days import Due, ProgramCalendar
from tests.api.conftest import ApiStack
from tests.clock import FixedClock, local, pinned
from tests.factories import batch, summary, task
from tests.readmodel.support import apply_all
from tests.serving import served

UTC_ZONE, DENVER = ZoneInfo("UTC"), ZoneInfo("America/Denver")
IN_2_H, AGO_30_MIN, IN_25_H = timedelta(hours=2), -timedelta(minutes=30), timedelta(hours=25)

# (zone, local day, hour, minute) -> bucket of the work due in 2 h, 30 min ago and in 25 h.
CASES = {
    "utc-2330": ((UTC_ZONE, date(2026, 12, 1), 23, 30), (Due.TOMORROW, Due.PAST_DUE, None)),
    "utc-0030": ((UTC_ZONE, date(2026, 12, 2), 0, 30), (Due.TODAY, Due.PAST_DUE, Due.TOMORROW)),
    "denver-2330": ((DENVER, date(2026, 12, 1), 23, 30), (Due.TOMORROW, Due.PAST_DUE, None)),
    "denver-0030": ((DENVER, date(2026, 12, 2), 0, 30), (Due.TODAY, Due.PAST_DUE, Due.TOMORROW)),
    # Denver falls back on 2026-11-01: Sunday lasts 25 h, so 25 h after 23:30 is still Sunday.
    "denver-2330-fall-back": (
        (DENVER, date(2026, 10, 31), 23, 30),
        (Due.TOMORROW, Due.PAST_DUE, Due.TOMORROW),
    ),
    "denver-0030-fall-back": (
        (DENVER, date(2026, 11, 1), 0, 30),
        (Due.TODAY, Due.PAST_DUE, Due.TOMORROW),
    ),
}


@pytest.fixture(scope="module")
async def api_url(api: ApiStack) -> AsyncIterator[str]:
    """The same app served over HTTP, for the CLI's ``--api`` mode."""
    async with served(api.app) as url:
        yield url


async def _seed(api: ApiStack, case: str, now: datetime) -> dict[str, datetime]:
    """One journey per offset, with its reassessment and an urgent task due then."""
    due = {
        f"J-DAY-{case}-{name}": now + offset
        for name, offset in (("in-2h", IN_2_H), ("ago-30min", AGO_30_MIN), ("in-25h", IN_25_H))
    }
    await apply_all(
        api.services.deliveries.sessions,
        [
            batch(
                summary(journey_id, 1, reassessment_due=at, urgent=True),
                events=[],
                tasks=[task(f"{journey_id}.T1", 1).model_copy(update={"due_at": at})],
            )
            for journey_id, at in due.items()
        ],
    )
    return due


@pytest.mark.parametrize("case", CASES)
async def test_work_falls_on_the_programs_day_at_2330_and_0030(
    api: ApiStack, api_url: str, case: str
) -> None:
    (zone, day, hour, minute), buckets = CASES[case]
    now = local(day, hour, minute, zone)
    seeded = await _seed(api, case, now)
    expected = dict(zip(seeded, buckets, strict=True))
    with pinned(api.app, now, zone):
        async with api.client("ops-1") as http:
            work = (await http.get("/board")).json()["work"]
            listed = {d: await _api_list(http, d) for d in Due}
        remote = RemoteBackend(api_url, api.tokens["ops-1"])
        try:
            over_api = {d: await _cli_list(remote, d) for d in Due}
        finally:
            await remote.close()
    direct = DirectBackend(
        Settings(_env_file=None),
        api.services.journeys,
        api.services.queries,
        ProgramCalendar(zone, FixedClock(now)),
        reader="ops-1",
    )
    straight = {d: await _cli_list(direct, d) for d in Due}

    on_board = {
        t["journey_id"]: Due(window)
        for window, tasks in work.items()
        for t in tasks
        if t["journey_id"] in seeded and t["priority"] == Priority.URGENT.value
    }
    assert on_board == {j: b for j, b in expected.items() if b is not None}
    for found in (listed, over_api, straight):
        assert {d: ids & seeded.keys() for d, ids in found.items()} == {
            d: {j for j, b in expected.items() if b is d} for d in Due
        }


async def _api_list(http: httpx.AsyncClient, due: Due) -> set[str]:
    page = (await http.get("/journeys", params={"due": due.value, "limit": 500})).json()
    return {j["journey_id"] for j in page["items"]}


async def _cli_list(backend: DirectBackend | RemoteBackend, due: Due) -> set[str]:
    rows = await backend.list_journeys(None, None, due, None, 500, 0)
    return {r.journey_id for r in rows}
