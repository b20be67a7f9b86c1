"""The zone a person reads times in. Read on every page: one small indexed query, and a second (in the
caller's `default`) only for those who chose none. Not cached, so a page's queries are the same on every
visit and a new choice shows on the very next page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slaportal.models import Preferences


def chosen_time_zone(user: Any) -> str:
    """The zone the person chose, or "" for their SLA calendar's."""
    return Preferences.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def time_zone_of(user: Any, default: Callable[[Any], str]) -> str:
    return chosen_time_zone(user) or default(user)


def set_time_zone(*, user: Any, time_zone: str) -> Preferences:
    """Save the person's choice ("" for their SLA calendar's zone); their next page speaks it."""
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return preferences
