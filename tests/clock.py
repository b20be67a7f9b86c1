"""The test session's clock: today's, or moved ahead to prove that no test depends on the day it runs.

`SLAPORTAL_CLOCK_AHEAD_DAYS=N make test` starts the session N days ahead (ticking). Processes a test
starts (Celery workers) call `move_clock_from_environment()` too, so they share the moved clock.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import time_machine

VARIABLE = "SLAPORTAL_CLOCK_AHEAD_DAYS"


def days_ahead() -> float:
    """The days to move the clock by; a fraction moves the time of day too (400.5 is 400 days 12 hours)."""
    raw = os.environ.get(VARIABLE, "").strip()
    if not raw:
        return 0.0
    try:
        days = float(raw)
    except ValueError:
        days = float("nan")
    if not 0 <= days <= 100_000:  # also false for nan and inf
        raise SystemExit(f"{VARIABLE} must be a number of days from 0 to 100000, such as 400; got {raw!r}")
    return days


def move_clock_from_environment() -> time_machine.travel | None:
    """Start travelling `days_ahead()` days from the real now, ticking; None when the clock is not moved."""
    days = days_ahead()
    if not days:
        return None
    traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
    traveller.start()
    # time-machine starts ticking at the first reading, not at start(): read now, so that every process
    # on the moved clock is exactly `days` ahead of the real one, however long its start-up takes.
    time.time()
    return traveller
