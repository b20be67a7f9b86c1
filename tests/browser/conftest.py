"""Real-browser tests: Debian's Chromium, headless, driven by Playwright against a live server.

`.ci/run` installs the `chromium` package; where it is missing these tests skip with the reason (a
failure when SLAPORTAL_REQUIRE names `browser`). Playwright's own browser download is never used.
Each test leaves a screenshot in var/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

# Without these Chromium keeps trying to reach Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    assert path, "the browser marker's probe lets this run only with Chromium present"
    # Playwright's sync API keeps an event loop running in this thread while it is started, and Django
    # then refuses every ORM call the tests make between browser steps. Nothing here is really async, so
    # that guard is lifted for as long as the browser runs (one module), and set back after.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login(browser, live_server) -> Iterator[Callable]:
    """A fresh browser context per person, logged in through the real login form."""
    contexts = []

    def open_as(user, path: str = "/"):
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        # The pages run under the Content-Security-Policy: anything it blocks fails the test.
        page.on(
            "console",
            lambda m: m.type == "error" and "Content Security Policy" in m.text and refused.append(m.text),
        )
        page.goto(f"/login/?next={path}")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "pw")
        page.click("button[type=submit]")
        page.wait_for_url(f"**{path}")
        return page

    refused: list[str] = []
    yield open_as
    for context in contexts:
        context.close()
    assert refused == [], refused


@pytest.fixture
def screenshot(request) -> Callable:
    def take(page, label: str = "") -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name + (f"-{label}" if label else "")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
