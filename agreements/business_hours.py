"""Deadline arithmetic in business hours. Pure: no database, no clock.

A working window is one local day's [start, end) in the calendar's time zone. All arithmetic is done on
UTC instants, so a window on a DST-change day lasts exactly as long as the wall clock says it does and an
instant is never counted twice. (Subtracting two aware datetimes that share a ZoneInfo compares wall-clock
times, which is wrong across a DST change; hence the conversions to UTC below.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from agreements.clauses import Handoff

# A calendar whose working days are all holidays would loop forever; no real deadline is 10 years away.
MAX_DAYS = 3660


class CalendarError(ValueError):
    pass


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    working_days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    holiday_country: str = ""
    holiday_subdivision: str = ""

    def __post_init__(self) -> None:
        if not self.working_days:
            raise CalendarError("A calendar needs at least one working day.")
        if self.end <= self.start:
            raise CalendarError("The working day must end after it starts.")

    @classmethod
    def from_handoff(cls, handoff: Handoff) -> BusinessCalendar:
        return cls(
            timezone=handoff.timezone,
            working_days=frozenset(handoff.working_days),
            start=handoff.workday_start,
            end=handoff.workday_end,
            holiday_country=handoff.holiday_country,
            holiday_subdivision=handoff.holiday_subdivision,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.working_days:
            return False
        if self.holiday_country:
            return day not in _holiday_dates(self.holiday_country, self.holiday_subdivision, day.year)
        return True

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's working window as UTC instants, or None on a day off."""
        return _window(self, day)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.is_working_day(day):
            return None
        tz = self.tz
        opens = datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)
        # Hours that fall wholly inside a DST gap leave no working time that day.
        return (opens, closes) if closes > opens else None

    def windows_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows that end after `instant`, in order, the first clipped to start at it."""
        instant = _utc(instant)
        day = instant.astimezone(self.tz).date()
        for offset in range(MAX_DAYS):
            window = self.window(day + timedelta(days=offset))
            if window is None or window[1] <= instant:
                continue
            yield max(window[0], instant), window[1]
        raise CalendarError(f"No working time within {MAX_DAYS} days of {instant.isoformat()}.")


@lru_cache(maxsize=8192)
def _window(calendar: BusinessCalendar, day: date) -> tuple[datetime, datetime] | None:
    # Deadlines and replays ask for the same few hundred days over and over (a year's simulation, each
    # handoff's deadline): the zone and holiday arithmetic is done once a day per calendar.
    return calendar._window(day)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise CalendarError("Business-hours arithmetic needs timezone-aware datetimes.")
    return value.astimezone(UTC)


def add_business_time(start: datetime, amount: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant when `amount` of working time has elapsed after `start` (UTC)."""
    if amount < timedelta(0):
        raise CalendarError("Cannot add a negative amount of business time.")
    if amount == timedelta(0):
        return _utc(start)
    remaining = amount
    for opens, closes in calendar.windows_from(start):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("unreachable: windows_from raises when it runs out")  # pragma: no cover


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    # Deadlines are kept to the whole minute; a quarter hour is the finest the SLA allows.
    return add_business_time(start, timedelta(minutes=round(hours * 60)), calendar)


def business_time_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Working time inside [start, end); zero when end is not after start."""
    start, end = _utc(start), _utc(end)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in calendar.windows_from(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total
