"""A working day in Chromium: a reject taken back with Undo, a pickup countdown that moves in business
time without a reload (and stands still after hours), a rep's history and the manager's sortable list
with bulk reassign on a phone, and times in the reader's own zone. The clock is pinned (server and page)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.pages import PHONE, overflow
from tests.factories import WARM, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAW = ZoneInfo("Europe/Warsaw")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)


@pytest.fixture
def monday():
    # The server's clock; each page's own clock is pinned to the same instant (pin_page).
    with time_machine.travel(MONDAY_10, tick=True):
        yield


def pin_page(page, at: datetime = MONDAY_10) -> None:
    page.clock.install(time=at.timestamp())
    page.reload()


def test_a_rep_rejects_on_a_phone_and_takes_it_back_with_undo(monday, login, screenshot, pipeline, rep):
    lead = make_lead(external_id="U1", now=MONDAY_10, activities=WARM, first_name="Ula", last_name="Nowak")
    if lead.owner != rep:
        lead = make_lead(
            external_id="U2", now=MONDAY_10, activities=WARM, first_name="Ula", last_name="Nowak"
        )
    page = login(rep, "/leads/inbox/")
    page.set_viewport_size(PHONE)
    row = page.locator(f"#lead-row-{lead.pk}")
    row.get_by_role("link", name="Reject…").click()
    page.get_by_label("Reason").select_option("no_fit")
    page.get_by_label("Note").fill("Wrong company size")
    page.get_by_role("button", name="Reject", exact=True).click()
    done = page.get_by_role("status")
    expect(done).to_contain_text("Ula Nowak: now Disqualified, as “Not a fit for our product”.")
    expect(done).to_be_focused()
    screenshot(page, "undo-offered-phone")
    assert overflow(page) <= 0
    page.get_by_role("button", name="Undo the rejection").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Rejection undone: Ula Nowak awaits your pickup again."
    )
    assert page.locator(f"#lead-row-{lead.pk}").is_visible()
    assert Lead.objects.get(pk=lead.pk).status == "handed_off"


def test_the_countdown_moves_in_business_time_without_a_reload(monday, login, screenshot, pipeline, rep):
    lead = make_lead(external_id="C1", now=MONDAY_10, activities=WARM)
    page = login(lead.owner, "/leads/inbox/")
    pin_page(page)
    badge = page.locator(f"#lead-row-{lead.pk} [data-left]")
    assert badge.inner_text() == "8 business hours left"
    page.clock.run_for("01:30:00")  # 11:30: the timer has run a few times
    assert badge.inner_text() == "6 business hours 30 min left"
    page.clock.run_for("06:00:00")  # 17:30: after hours, the count stands still
    assert badge.inner_text() == "1 business hour left; paused outside business hours"
    screenshot(page, "countdown-paused")
    # The deadline is Tuesday 10:00, in the reader's zone and with the zone's name.
    assert "due Tue 24 Nov, 10:00 CET" in page.locator(f"#lead-row-{lead.pk}").inner_text()


def test_history_sorting_and_bulk_reassign_work_on_a_phone(
    monday, login, screenshot, pipeline, rep, other_rep, manager
):
    leads = [
        make_lead(external_id=f"B{n}", now=MONDAY_10 - timedelta(minutes=n), activities=WARM)
        for n in range(4)
    ]
    page = login(manager, "/leads/?status=handed_off")
    pin_page(page)
    page.set_viewport_size(PHONE)
    assert overflow(page) <= 0
    page.get_by_label("Sort by").select_option("deadline")
    page.wait_for_url("**sort=deadline**")
    first = page.locator("#lead-table tbody tr").first
    assert first.get_attribute("id") == f"lead-row-{leads[-1].pk}"  # the earliest handed off: due first
    theirs = [lead for lead in leads if lead.owner == rep]
    for lead in theirs:
        page.get_by_label(f"Tick {lead} to reassign").check()
    page.get_by_label("Give the ticked leads to").select_option("other_rep")
    page.get_by_role("button", name="Reassign ticked leads").click()
    assert f"{len(theirs)} lead" in page.locator(".messages").inner_text()
    assert "given to other_rep" in page.locator(".messages").inner_text()
    assert "status=handed_off" in page.url  # back on the list as filtered
    screenshot(page, "bulk-reassigned-phone")
    assert overflow(page) <= 0
    assert all(Lead.objects.get(pk=lead.pk).owner == other_rep for lead in theirs)


def test_a_rep_reads_times_in_the_zone_they_chose(monday, login, pipeline, rep):
    lead = make_lead(external_id="Z1", now=MONDAY_10, activities=WARM)
    page = login(lead.owner, f"/leads/{lead.pk}/")
    assert "Mon 23 Nov 2026, 10:00 CET" in page.inner_text("#lead-page")
    page.goto("/settings/")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    assert "Times are now shown in Asia/Tokyo" in page.inner_text("main")
    page.goto(f"/leads/{lead.pk}/")
    assert "Mon 23 Nov 2026, 18:00 JST" in page.inner_text("#lead-page")
