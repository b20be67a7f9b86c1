"""Reporting periods (months and quarters) in the SLA's own time zone. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str  # "month" or "quarter"
    year: int
    index: int  # month 1-12 or quarter 1-4
    tz: str

    @property
    def label(self) -> str:
        return f"{self.year}-{self.index:02d}" if self.kind == "month" else f"{self.year}-Q{self.index}"

    @property
    def months(self) -> int:
        return 1 if self.kind == "month" else 3

    @property
    def first_month(self) -> int:
        return self.index if self.kind == "month" else 3 * (self.index - 1) + 1

    @property
    def start(self) -> datetime:
        local = datetime(self.year, self.first_month, 1, tzinfo=ZoneInfo(self.tz))
        return local.astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Period:
        top = 12 if self.kind == "month" else 4
        if self.index == top:
            return Period(self.kind, self.year + 1, 1, self.tz)
        return Period(self.kind, self.year, self.index + 1, self.tz)

    def previous(self) -> Period:
        top = 12 if self.kind == "month" else 4
        if self.index == 1:
            return Period(self.kind, self.year - 1, top, self.tz)
        return Period(self.kind, self.year, self.index - 1, self.tz)

    @property
    def title(self) -> str:
        if self.kind == "quarter":
            return f"Q{self.index} {self.year}"
        return date(self.year, self.index, 1).strftime("%B %Y")


def parse_period(text: str, tz: str) -> Period:
    """ "2026-10" (a month) or "2026-Q3" (a quarter)."""
    if not isinstance(text, str):
        raise PeriodError("Give a month as YYYY-MM or a quarter as YYYY-QN.")
    if match := _MONTH.match(text.strip()):
        return Period("month", int(match.group(1)), int(match.group(2)), tz)
    if match := _QUARTER.match(text.strip().upper()):
        return Period("quarter", int(match.group(1)), int(match.group(2)), tz)
    raise PeriodError(f"{text!r} is not a month (YYYY-MM) or a quarter (YYYY-QN).")


def period_containing(instant: datetime, kind: str, tz: str) -> Period:
    local = instant.astimezone(ZoneInfo(tz))
    index = local.month if kind == "month" else (local.month - 1) // 3 + 1
    return Period(kind, local.year, index, tz)


def ended_periods(*, since: datetime, now: datetime, kind: str, tz: str, limit: int = 24) -> list[Period]:
    """Periods that ended by `now`, from the one containing `since`, oldest first (at most `limit`)."""
    periods = []
    period = period_containing(now, kind, tz).previous()
    first = period_containing(since, kind, tz)
    while len(periods) < limit and period.end > first.start:
        periods.append(period)
        period = period.previous()
    return list(reversed(periods))
