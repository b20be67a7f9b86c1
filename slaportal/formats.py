"""One way to write a time for machines: ISO 8601 in UTC with a `Z`, as the API's own fields write it."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(value: datetime) -> str:
    """`2026-11-24T10:00:00Z` (with microseconds when it has them), whatever zone `value` is in."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
