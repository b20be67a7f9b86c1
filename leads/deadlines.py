"""A pickup deadline as a person reads it: business time left (or overdue), paused outside business hours,
and when it falls due in the reader's zone. The page's script keeps the words current between loads from
the working windows given here, so it needs no calendar of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from agreements.business_hours import BusinessCalendar, CalendarError, business_time_between
from slaportal.templatetags.clock import when_text

# The script recounts from these windows; past the last one the page has been open for over a week.
WINDOWS_AHEAD = timedelta(days=7)
MAX_WINDOWS = 40


def business_phrase(amount: timedelta, *, round_up: bool = False) -> str:
    """timedelta(hours=3, minutes=20) -> "3 business hours 20 min" (app.js words it the same way). Time
    left is rounded up (a deadline 10 seconds away still has "1 business minute"), time overdue down."""
    seconds = amount.total_seconds()
    minutes = int(-(-seconds // 60) if round_up else seconds // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} business minute{'s' if rest != 1 else ''}"
    text = f"{hours} business hour{'s' if hours != 1 else ''}"
    return f"{text} {rest} min" if rest else text


@dataclass(frozen=True)
class Countdown:
    deadline: datetime
    overdue: bool
    paused: bool
    left: timedelta  # business time left, or overdue by
    windows: list[tuple[datetime, datetime]]

    @property
    def due(self) -> str:
        return f"due {when_text(self.deadline, 'short')}"

    @property
    def text(self) -> str:
        if self.overdue:
            # Out of hours no business time passes: "overdue by 0 business minutes" would read as in time.
            if self.left < timedelta(minutes=1):
                return "overdue"
            return f"overdue by {business_phrase(self.left)}"
        left = business_phrase(self.left, round_up=True)
        return f"{left} left" + ("; paused outside business hours" if self.paused else "")

    @property
    def windows_json(self) -> str:
        return json.dumps([[int(a.timestamp() * 1000), int(b.timestamp() * 1000)] for a, b in self.windows])


def countdown(deadline: datetime, calendar: BusinessCalendar, now: datetime | None = None) -> Countdown:
    now = now or timezone.now()
    overdue = deadline < now  # at the very instant it is still in time, as the pickup counts it
    left = business_time_between(*((deadline, now) if overdue else (now, deadline)), calendar)
    windows: list[tuple[datetime, datetime]] = []
    try:
        # Whole windows from the start of that day: the page's clock may be a little behind the server's.
        local = min(now, deadline).astimezone(calendar.tz)
        for opens, closes in calendar.windows_from(local.replace(hour=0, minute=0, second=0, microsecond=0)):
            if opens > max(now, deadline) + WINDOWS_AHEAD or len(windows) >= MAX_WINDOWS:
                break
            windows.append((opens, closes))
    except CalendarError:
        pass  # a calendar with no working time ahead: the words stay as rendered
    paused = not any(opens <= now < closes for opens, closes in windows)
    return Countdown(deadline, overdue, paused, left, windows)
