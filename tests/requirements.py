"""What a test needs that a machine may lack: skip with the reason, or fail where CI requires it."""

from __future__ import annotations

import os

import pytest


def required() -> set[str]:
    return {part.strip() for part in os.environ.get("SLAPORTAL_REQUIRE", "").split(",") if part.strip()}


def unavailable(need: str, reason: str) -> None:
    """Skip, unless SLAPORTAL_REQUIRE names `need`: then this test not running is a failure."""
    if need in required():
        pytest.fail(f"SLAPORTAL_REQUIRE names {need}, but this test cannot run: {reason}")
    pytest.skip(reason)
