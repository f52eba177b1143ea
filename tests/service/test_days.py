"""The program's days: where today and tomorrow begin, and which bucket due work falls into."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.days import BEGINNING, DayWindow, Due, ProgramCalendar, day_window, due_range
from tests.clock import FixedClock, local

UTC_ZONE = ZoneInfo("UTC")
DENVER = ZoneInfo("America/Denver")
KOLKATA = ZoneInfo("Asia/Kolkata")  # half-hour offset: midnight is never on a UTC hour
MICRO = timedelta(microseconds=1)


def bucket_of(due_at: datetime, now: datetime, zone: ZoneInfo) -> Due | None:
    """The one bucket ``due_at`` falls into at ``now``, or None after tomorrow."""
    days = day_window(now, zone)
    found = [d for d in Due if due_range(d, now, days)[0] <= due_at < due_range(d, now, days)[1]]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_a_day_in_utc() -> None:
    now = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert day_window(now, UTC_ZONE) == DayWindow(
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
        datetime(2026, 12, 3, tzinfo=UTC),
    )


def test_the_reported_evening_is_still_today_in_denver() -> None:
    # 21:00 UTC is 14:00 in Denver: work due in four hours is due this evening, not tomorrow.
    now = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert bucket_of(now + timedelta(hours=4), now, UTC_ZONE) is Due.TOMORROW
    assert bucket_of(now + timedelta(hours=4), now, DENVER) is Due.TODAY


@pytest.mark.parametrize("zone", [UTC_ZONE, DENVER, KOLKATA], ids=str)
@pytest.mark.parametrize(
    ("hour", "minute", "offset", "expected"),
    [
        (23, 30, timedelta(hours=2), Due.TOMORROW),
        (23, 30, -timedelta(minutes=30), Due.PAST_DUE),
        (23, 30, timedelta(hours=25), None),  # 00:30 the day after tomorrow
        (23, 30, timedelta(minutes=29), Due.TODAY),  # 23:59
        (23, 30, timedelta(minutes=30), Due.TOMORROW),  # midnight belongs to tomorrow
        (0, 30, timedelta(hours=2), Due.TODAY),
        (0, 30, -timedelta(minutes=30), Due.PAST_DUE),  # midnight, yesterday's last moment
        (0, 30, timedelta(hours=25), Due.TOMORROW),
        (0, 30, timedelta(0), Due.TODAY),  # due this very moment is not past due yet
    ],
)
def test_buckets_late_at_night_and_just_after_midnight(
    zone: ZoneInfo, hour: int, minute: int, offset: timedelta, expected: Due | None
) -> None:
    for day in (date(2026, 1, 15), date(2026, 7, 15), date(2026, 12, 1)):
        now = local(day, hour, minute, zone)
        assert bucket_of(now + offset, now, zone) is expected, (day, zone)


def test_the_night_denver_falls_back_has_a_25_hour_day() -> None:
    # 2026-11-01: 02:00 MDT becomes 01:00 MST, so Sunday lasts 25 hours.
    saturday_night = local(date(2026, 10, 31), 23, 30, DENVER)
    days = day_window(saturday_night, DENVER)
    assert days.start_of_tomorrow == datetime(2026, 11, 1, 6, tzinfo=UTC)  # 00:00 MDT
    assert days.start_of_day_after == datetime(2026, 11, 2, 7, tzinfo=UTC)  # 00:00 MST
    # 25 h after 23:30 Saturday is 23:30 Sunday (MST): still tomorrow, not the day after.
    assert bucket_of(saturday_night + timedelta(hours=25), saturday_night, DENVER) is Due.TOMORROW
    assert bucket_of(saturday_night + timedelta(hours=2), saturday_night, DENVER) is Due.TOMORROW
    after_midnight = local(date(2026, 11, 1), 0, 30, DENVER)
    # 2 h after 00:30 MDT is 01:30 MST, the second 01:30 of the night: today.
    assert bucket_of(after_midnight + timedelta(hours=2), after_midnight, DENVER) is Due.TODAY
    assert bucket_of(after_midnight + timedelta(hours=25), after_midnight, DENVER) is Due.TOMORROW
    assert bucket_of(after_midnight - timedelta(minutes=30), after_midnight, DENVER) is Due.PAST_DUE


def test_the_night_denver_springs_forward_has_a_23_hour_day() -> None:
    # 2026-03-08: 02:00 MST becomes 03:00 MDT, so Sunday lasts 23 hours.
    saturday_night = local(date(2026, 3, 7), 23, 30, DENVER)
    days = day_window(saturday_night, DENVER)
    assert days.start_of_day_after - days.start_of_tomorrow == timedelta(hours=23)
    # 24.5 h after 23:30 Saturday is already 01:00 on Monday (MDT).
    assert bucket_of(saturday_night + timedelta(hours=24, minutes=30), saturday_night, DENVER) is (
        None
    )
    assert bucket_of(saturday_night + timedelta(hours=23), saturday_night, DENVER) is Due.TOMORROW


def test_a_skipped_midnight_begins_the_day_at_the_change() -> None:
    # Samoa skipped 2011-12-30 entirely: tomorrow was empty, the day after began at once.
    apia = ZoneInfo("Pacific/Apia")
    now = local(date(2011, 12, 29), 12, 0, apia)
    days = day_window(now, apia)
    skipped = datetime(2011, 12, 30, 10, tzinfo=UTC)  # 29th 24:00 at -10 = 31st 00:00 at +14
    assert days.start_of_tomorrow == days.start_of_day_after == skipped


def test_a_change_that_skips_midnight_begins_the_day_at_the_change() -> None:
    # Toronto, 1919-03-30: clocks went from 23:30 straight to 00:30, so the 31st began then.
    toronto = ZoneInfo("America/Toronto")
    now = local(date(1919, 3, 30), 22, 0, toronto)
    tomorrow = day_window(now, toronto).start_of_tomorrow
    assert tomorrow == datetime(1919, 3, 31, 4, 30, tzinfo=UTC)
    assert tomorrow.astimezone(toronto).time() == time(0, 30)


def test_clocks_turned_back_across_midnight_keep_tomorrow_ahead_of_now() -> None:
    # St. John's, 1987-10-25: at 00:01 clocks went back to 23:01 of the 24th, so "23:30 on
    # the 24th" came twice. The second time, tomorrow begins at the next midnight, not the
    # one already passed: the buckets stay in order and never overlap.
    st_johns = ZoneInfo("America/St_Johns")
    second_time = datetime(1987, 10, 25, 3, 0, tzinfo=UTC)
    assert second_time.astimezone(st_johns).replace(tzinfo=None) == datetime(1987, 10, 24, 23, 30)
    days = day_window(second_time, st_johns)
    assert days.start_of_tomorrow == second_time + timedelta(minutes=30)
    assert bucket_of(second_time + timedelta(minutes=10), second_time, st_johns) is Due.TODAY


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        day_window(datetime(2026, 12, 1, 21, 0), UTC_ZONE)


def test_the_calendar_reads_its_clock_once_for_now_and_the_window() -> None:
    at = local(date(2026, 12, 1), 23, 30, DENVER)
    calendar = ProgramCalendar(DENVER, FixedClock(at))
    assert calendar.now() == at
    assert calendar.days() == (at, day_window(at, DENVER))
    assert calendar.due_range(Due.PAST_DUE) == (BEGINNING, at)
    assert calendar.due_range(Due.TODAY) == (at, local(date(2026, 12, 2), 0, 0, DENVER))
    assert ProgramCalendar().zone == UTC_ZONE  # the default when a program names none


instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(now=instants, zone=st.timezones())
def test_each_day_starts_at_its_first_instant(now: datetime, zone: ZoneInfo) -> None:
    days = day_window(now, zone)
    assert days.start_of_today <= now < days.start_of_tomorrow <= days.start_of_day_after
    today = now.astimezone(zone).date()
    for n, start in enumerate(days):
        day = today + timedelta(days=n)
        # The first instant whose local date has reached ``day``: the one before has not.
        assert start.astimezone(zone).date() >= day
        assert (start - MICRO).astimezone(zone).date() < day
        assert start.tzinfo is UTC


@given(now=instants, due_at=instants, zone=st.timezones())
def test_the_buckets_never_overlap_and_past_due_is_everything_before_now(
    now: datetime, due_at: datetime, zone: ZoneInfo
) -> None:
    days = day_window(now, zone)
    ranges = [due_range(d, now, days) for d in Due]
    # Contiguous and in order: past due, then today, then tomorrow.
    assert ranges[0][0] == BEGINNING
    assert [end for _, end in ranges[:-1]] == [start for start, _ in ranges[1:]]
    assert ranges[-1][1] == days.start_of_day_after
    found = bucket_of(due_at, now, zone)
    assert (found is Due.PAST_DUE) == (due_at < now)
    assert (found is None) == (due_at >= days.start_of_day_after)
