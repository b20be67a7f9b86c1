"""Root pytest configuration: tests that need PostgreSQL, Redis or Chromium say so with a marker.

Where that is missing they skip with the reason. CI sets SLAPORTAL_REQUIRE=postgres,redis,browser on the
run that has them, which turns such a skip into a failure: a green CI proves those tests really ran.
"""

from __future__ import annotations

import pytest

from tests.clock import days_ahead, move_clock_from_environment
from tests.requirements import unavailable

_moved_clock = None


def pytest_configure(config: pytest.Config) -> None:
    # Before any test or fixture reads the time, so the whole session lives on the moved clock.
    global _moved_clock
    _moved_clock = move_clock_from_environment()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _moved_clock is not None:
        _moved_clock.stop()


def pytest_report_header(config: pytest.Config) -> str:
    from django.utils import timezone

    days = days_ahead()
    if not days:
        return "clock: today's (SLAPORTAL_CLOCK_AHEAD_DAYS=N moves it N days ahead)"
    started = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
    return f"clock: SLAPORTAL_CLOCK_AHEAD_DAYS={days}, so the session starts at {started}"


def _postgres_missing() -> str | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/slaportal"
    return None


def _redis_missing() -> str | None:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis"):
        return "needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"needs Redis at {url}, which does not answer: {exc}"
    return None


def _browser_missing() -> str | None:
    from tests.browser.conftest import chromium_path

    if chromium_path() is None:
        return "needs Chromium: install the Debian packages chromium and chromium-driver (as .ci/run does)"
    return None


PROBES = (("postgres", _postgres_missing), ("redis", _redis_missing), ("browser", _browser_missing))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, probe in PROBES:
        if item.get_closest_marker(marker) is None:
            continue
        reason = probe()
        if reason is not None:
            unavailable(marker, reason)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    # Throttle counts and the dashboard's ended-month figures must not leak from one test to the next.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_version_cache():
    # Database rows are rolled back between tests, so a cached version pk may mean another version next time.
    from agreements.selectors import clear_version_cache

    clear_version_cache()
    yield
    clear_version_cache()


@pytest.fixture(autouse=True)
def _celery_runs_in_process():
    # After-commit nudges (the outbox) run in the test process instead of reaching a broker; the
    # real-worker test turns this off for itself.
    from integrations import outbox
    from slaportal.celery import app

    app.conf.task_always_eager = True
    outbox._nudges_paused_until = 0.0  # a broker outage one test staged is not the next one's
    yield
    app.conf.task_always_eager = False
    outbox._nudges_paused_until = 0.0
