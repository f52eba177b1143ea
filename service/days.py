"""What "now" and "today" mean for the program: an injectable clock and its time zone's days.

Staff work in the program's local day, not in UTC: work due at 01:00 UTC is due this evening
in Denver. Every place that sorts work into past due, due today and due tomorrow (the board's
work queue, the ``due`` filter of the API and the CLI, the dashboard) asks this module, so
they agree with each other at every hour.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

# The earliest instant a stored due time can have: "past due" starts here.
BEGINNING = datetime.min.replace(tzinfo=UTC)
# Offsets change on whole seconds (the zone database counts in seconds since the epoch).
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class Clock(Protocol):
    """Where "now" comes from; tests pass a fixed one."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class Due(StrEnum):
    """When work is due, in the program's days."""

    PAST_DUE = "past_due"
    TODAY = "today"
    TOMORROW = "tomorrow"


class DayWindow(NamedTuple):
    """The first instants (UTC) of today, tomorrow and the day after, in the program's zone."""

    start_of_today: datetime
    start_of_tomorrow: datetime
    start_of_day_after: datetime


def day_window(now: datetime, zone: ZoneInfo) -> DayWindow:
    """Where today and tomorrow begin and end for ``now`` in ``zone``.

    A day begins at the first instant its date shows on the program's clocks: local midnight,
    or the change of offset when a zone skips midnight. A day is as long as the zone makes it
    (23 or 25 hours across a daylight-saving change), and ``start_of_today <= now <
    start_of_tomorrow <= start_of_day_after`` in every zone, so the buckets never overlap.

    Raises:
        ValueError: ``now`` is naive, so which day it falls on is unknown.
    """
    if now.utcoffset() is None:
        raise ValueError("now: a timezone-aware instant is required")
    today = now.astimezone(zone).date()
    # No zone's clocks have ever jumped by more than a day, so two days back is yesterday or
    # earlier.
    start = _first_instant(today, zone, now - timedelta(days=2))
    tomorrow = _first_instant(today + timedelta(days=1), zone, now)
    return DayWindow(start, tomorrow, _first_instant(today + timedelta(days=2), zone, tomorrow))


def _first_instant(day: date, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant from ``after`` on at which clocks in ``zone`` show ``day`` or later."""
    midnight = datetime.combine(day, time())
    at = after.astimezone(UTC)
    while (wall := at.astimezone(zone).replace(tzinfo=None)) < midnight:
        guess = at + (midnight - wall)  # local midnight, if the offset holds until then
        if _offset(guess, zone) == _offset(at, zone):
            return guess
        # The offset changes first (a daylight-saving change): go on from that instant, which
        # is itself the day's first when the change skips midnight.
        at = _offset_change(at, guess, zone)
    return at


def _offset(at: datetime, zone: ZoneInfo) -> timedelta | None:
    return at.astimezone(zone).utcoffset()


def _offset_change(after: datetime, by: datetime, zone: ZoneInfo) -> datetime:
    """The instant in ``(after, by]`` at which ``zone`` changes offset (on a whole second)."""
    low, high = (after - _EPOCH) // _SECOND, -((_EPOCH - by) // _SECOND)  # floor and ceiling
    offset = _offset(after, zone)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(_EPOCH + middle * _SECOND, zone) == offset:
            low = middle
        else:
            high = middle
    return _EPOCH + high * _SECOND


def due_range(due: Due, now: datetime, days: DayWindow) -> tuple[datetime, datetime]:
    """The half-open range ``[start, end)`` of due times that ``due`` means at ``now``."""
    if due is Due.PAST_DUE:
        return BEGINNING, now
    if due is Due.TODAY:
        return now, days.start_of_tomorrow
    return days.start_of_tomorrow, days.start_of_day_after


@dataclass(frozen=True)
class ProgramCalendar:
    """The program's clock and time zone: what "now" and "today" mean to its staff."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    clock: Clock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        """The current instant from the clock."""
        return self.clock.now()

    def days(self) -> tuple[datetime, DayWindow]:
        """Now and the day window around it, read from the clock once so they agree."""
        now = self.clock.now()
        return now, day_window(now, self.zone)

    def due_range(self, due: Due) -> tuple[datetime, datetime]:
        """The due times ``due`` means now."""
        now, days = self.days()
        return due_range(due, now, days)
