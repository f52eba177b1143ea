"""Pin the API's clock and program time zone, so day buckets do not depend on the hour."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from api.services import ApiServices
from service.days import Due, ProgramCalendar


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at ``at``."""

    at: datetime

    def now(self) -> datetime:
        """Always ``at``."""
        return self.at


def local(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a wall clock in ``zone`` shows ``hour:minute`` on ``day``."""
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def midday_zone(due: datetime) -> ZoneInfo:
    """A fixed-offset IANA zone in which ``due`` falls between 12:00 and 13:00.

    The journeys the API tests start are due a few hours after the real time of the run;
    in this zone a clock pinned at 00:30 or 23:30 stays half a day from them at any hour.
    """
    hours_east = 12 - due.astimezone(UTC).hour
    # Etc/GMT names count hours west of Greenwich: Etc/GMT-11 is eleven hours east.
    return ZoneInfo(f"Etc/GMT{-hours_east:+d}")


def night_pins(due: datetime, zone: ZoneInfo) -> list[tuple[datetime, Due]]:
    """Clocks at 00:30 and 23:30 around ``due`` (12:00-13:00 in ``zone``), and its bucket then.

    00:30 on its day: due today; 23:30 the evening before: due tomorrow; 23:30 on its day:
    past due.
    """
    day = due.astimezone(zone).date()
    return [
        (local(day, 0, 30, zone), Due.TODAY),
        (local(day - timedelta(days=1), 23, 30, zone), Due.TOMORROW),
        (local(day, 23, 30, zone), Due.PAST_DUE),
    ]


@contextmanager
def pinned(app: FastAPI, at: datetime, zone: ZoneInfo) -> Iterator[None]:
    """Serve ``app`` with its clock stopped at ``at`` and its days in ``zone``, in the block."""
    services: ApiServices = app.state.services
    app.state.services = replace(services, calendar=ProgramCalendar(zone, FixedClock(at)))
    try:
        yield
    finally:
        app.state.services = services
