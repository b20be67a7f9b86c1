"""What every browser test checks a page with: the two widths, sideways overflow, and axe-core."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def overflow(page) -> int:
    """How far the page is wider than the screen, in CSS pixels (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def barriers(page) -> list[str]:
    """axe-core's critical and serious findings (what keeps a person using a screen reader or with low
    vision from the page), and header cells with no words in them."""
    found = [
        f"{v['id']} ({v['impact']}) at {[node['target'] for node in v['nodes']][:3]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("critical", "serious")
    ]
    empty = page.evaluate("[...document.querySelectorAll('th')].filter(th => !th.textContent.trim()).length")
    return found + ([f"{empty} empty table header(s)"] if empty else [])
