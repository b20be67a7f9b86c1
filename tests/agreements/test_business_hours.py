from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.business_hours import (
    BusinessCalendar,
    CalendarError,
    add_business_hours,
    add_business_time,
    business_time_between,
)

WAW = ZoneInfo("Europe/Warsaw")
NYC = ZoneInfo("America/New_York")
POLISH = BusinessCalendar("Europe/Warsaw", frozenset(range(5)), time(9), time(17), "PL")


def waw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WAW)


def test_friday_afternoon_rolls_over_the_weekend():
    assert add_business_hours(waw(2026, 11, 20, 16, 30), 1, POLISH) == waw(2026, 11, 23, 9, 30)


def test_instant_before_opening_starts_counting_at_opening():
    assert add_business_hours(waw(2026, 11, 23, 7, 0), 1, POLISH) == waw(2026, 11, 23, 10, 0)


def test_instant_after_closing_starts_counting_next_working_morning():
    assert add_business_hours(waw(2026, 11, 23, 18, 0), 8, POLISH) == waw(2026, 11, 24, 17, 0)


def test_public_holiday_is_skipped():
    # 11 November is Polish Independence Day (a Wednesday in 2026).
    assert add_business_hours(waw(2026, 11, 10, 16, 0), 2, POLISH) == waw(2026, 11, 12, 10, 0)


def test_without_a_holiday_country_the_holiday_is_a_working_day():
    plain = BusinessCalendar("Europe/Warsaw", frozenset(range(5)), time(9), time(17))
    assert add_business_hours(waw(2026, 11, 10, 16, 0), 2, plain) == waw(2026, 11, 11, 10, 0)


def test_deadline_across_spring_forward_weekend_keeps_local_opening_hours():
    # Warsaw moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    due = add_business_hours(waw(2026, 3, 27, 16, 0), 2, POLISH)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert due.astimezone(WAW).hour == 10


def test_spring_forward_night_is_one_hour_shorter_in_a_round_the_clock_calendar():
    always = BusinessCalendar("Europe/Warsaw", frozenset(range(7)), time(0), time(23, 59))
    due = add_business_hours(waw(2026, 3, 28, 12, 0), 24, always)
    # 11h59 on Saturday, then 12h01 of real time on Sunday, which began at 23:00 UTC.
    assert due == datetime(2026, 3, 29, 11, 1, tzinfo=UTC)


def test_fall_back_night_counts_the_repeated_hour():
    night = BusinessCalendar("America/New_York", frozenset(range(7)), time(1), time(3))
    day = datetime(2026, 11, 1, 0, 0, tzinfo=NYC)
    assert business_time_between(day, day + timedelta(days=1), night) == timedelta(hours=3)
    normal = datetime(2026, 11, 2, 0, 0, tzinfo=NYC)
    assert business_time_between(normal, normal + timedelta(days=1), night) == timedelta(hours=2)


def test_between_counts_only_working_time():
    assert business_time_between(waw(2026, 11, 20, 16, 0), waw(2026, 11, 23, 10, 0), POLISH) == timedelta(
        hours=2
    )
    assert business_time_between(waw(2026, 11, 23, 10, 0), waw(2026, 11, 20, 16, 0), POLISH) == timedelta(0)


def test_naive_datetimes_are_refused():
    with pytest.raises(CalendarError):
        add_business_hours(datetime(2026, 1, 5, 9, 0), 1, POLISH)


def test_a_calendar_needs_working_time():
    with pytest.raises(CalendarError):
        BusinessCalendar("UTC", frozenset(), time(9), time(17))
    with pytest.raises(CalendarError):
        BusinessCalendar("UTC", frozenset({0}), time(17), time(9))


ZONES = ["Europe/Warsaw", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Santiago"]
calendars = st.builds(
    BusinessCalendar,
    timezone=st.sampled_from(ZONES),
    working_days=st.frozensets(st.integers(0, 6), min_size=1),
    start=st.sampled_from([time(0), time(1, 30), time(8), time(9)]),
    end=st.sampled_from([time(12), time(17), time(23, 59)]),
    holiday_country=st.sampled_from(["", "PL", "US"]),
)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
amounts = st.integers(min_value=0, max_value=200 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(calendars, instants, amounts)
def test_adding_then_measuring_gives_back_the_amount(calendar, start, amount):
    due = add_business_time(start, amount, calendar)
    assert due >= start
    assert business_time_between(start, due, calendar) == amount


@settings(max_examples=100, deadline=None)
@given(calendars, instants, amounts, amounts)
def test_a_longer_deadline_is_never_earlier(calendar, start, a, b):
    small, large = sorted((a, b))
    assert add_business_time(start, small, calendar) <= add_business_time(start, large, calendar)


@settings(max_examples=100, deadline=None)
@given(calendars, instants, st.integers(min_value=1, max_value=100 * 60).map(lambda m: timedelta(minutes=m)))
def test_a_deadline_falls_inside_working_hours(calendar, start, amount):
    due = add_business_time(start, amount, calendar)
    local = due.astimezone(calendar.tz)
    # The deadline is at most the end of a working window, never on a day off.
    window = calendar.window(local.date())
    assert window is not None
    assert window[0] < due <= window[1]
