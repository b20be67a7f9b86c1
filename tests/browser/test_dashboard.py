"""The managers' dashboard in a real browser: the Team filter changes the figures in place, an overdue lead
is reassigned from its row with a confirmation, the charts carry their axes, and the page fits a phone
(390 px) and passes axe-core. Screenshots at phone and desktop width land in var/screenshots/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agreements.models import Team
from leads.models import Lead
from reporting.periods import period_containing
from reporting.services import agreement_timezone
from tests.browser.pages import DESKTOP, PHONE, barriers, overflow
from tests.factories import WARM, TeamFactory, add_member, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def board(pipeline, rep, other_rep):
    """Four leads handed off three weeks ago and never picked up (whatever the day, their deadlines of a
    few business hours have passed), split between two sales teams of one rep each."""
    # Dates are relative to the session's clock, so the test runs the same on any day.
    handoff = timezone.now() - timedelta(days=21)
    pipeline.versions.update(effective_from=handoff - timedelta(days=30))
    north = TeamFactory(name="North", department=Team.Department.SALES)
    south = TeamFactory(name="South", department=Team.Department.SALES)
    add_member(north, rep)
    add_member(south, other_rep)
    leads = [
        make_lead(
            external_id=f"B{n}",
            now=handoff,
            activities=WARM,
            company_name=f"Company {n}",
            first_name=f"Lead{n}",
        )
        for n in range(4)
    ]
    leads = [Lead.objects.get(pk=lead.pk) for lead in leads]
    assert all(lead.status == Lead.Status.HANDED_OFF for lead in leads)
    period = period_containing(leads[0].handed_off_at, "month", agreement_timezone(pipeline))
    return {"north": north, "leads": leads, "period": period.label}


def test_team_filter_reassign_axes_phone_and_axe(login, screenshot, board, manager, rep):
    page = login(manager, f"/reporting/?period={board['period']}")
    handed_off = page.locator(".kpis > div", has_text="handed off").locator("span")
    expect(handed_off).to_have_text("4")
    expect(page.locator(".kpis > div", has_text="picked up in time")).to_contain_text("4 missed deadlines")
    rows = page.locator("table.overdue tbody tr")
    expect(rows).to_have_count(4)

    # The charts: numbers on the y axis, the unit, months along the x axis, and the figures as words.
    chart = page.locator("figure", has_text="Handed off to sales")
    assert chart.locator("text.tick.y").count() >= 2
    expect(chart.locator("text.tick.y").last).to_have_text(re.compile(r"^\d+$"))
    expect(chart.locator("text.unit")).to_have_text("leads")
    assert chart.locator("text.tick.x:not(.year)").count() == 12
    expect(chart.locator("svg desc")).to_contain_text("highest 4 leads")
    chart.get_by_text("Handed off to sales: the figures").click()
    expect(chart.locator(".chart-data table")).to_be_visible()

    # The Team filter: figures, the per-rep table and the overdue list become North's (rep's) alone.
    page.evaluate("window.__sameDocument = true")
    mine = [lead for lead in board["leads"] if lead.owner_id == rep.pk]
    page.select_option("select[name=team]", str(board["north"].pk))
    expect(page.locator(".scope-note")).to_contain_text("Team North")
    expect(handed_off).to_have_text(str(len(mine)))
    expect(rows).to_have_count(len(mine))
    expect(page.locator("table.per-rep tbody")).not_to_contain_text("other_rep")
    assert page.evaluate("window.__sameDocument") is True  # swapped in place
    assert f"team={board['north'].pk}" in page.url  # and the address says so, to share or reload
    screenshot(page, "north-desktop")

    # Reassign from the row: the confirmation appears in the row, the form gives way to it.
    lead = mine[0]
    row = page.locator(f"#overdue-{lead.pk}")
    row.locator("select[name=owner]").select_option("other_rep")
    row.get_by_role("button", name="Reassign").click()
    confirmation = row.locator("[role=status]")
    expect(confirmation).to_contain_text("other_rep")
    expect(confirmation).to_be_focused()
    expect(row.locator("form")).to_be_hidden()
    assert Lead.objects.get(pk=lead.pk).owner.username == "other_rep"
    screenshot(page, "reassigned-desktop")

    assert barriers(page) == []
    page.set_viewport_size(PHONE)
    screenshot(page, "reassigned-phone")
    assert overflow(page) == 0

    # A fresh page at phone width, every team: nothing scrolls sideways, axe finds nothing serious.
    page.goto(f"/reporting/?period={board['period']}")
    page.set_viewport_size(PHONE)
    assert overflow(page) == 0
    assert barriers(page) == []
    screenshot(page, "all-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "all-desktop")


def test_a_refused_reassignment_says_why_in_the_row(login, board, manager, rep):
    lead = board["leads"][0]
    page = login(manager, f"/reporting/?period={board['period']}")
    row = page.locator(f"#overdue-{lead.pk}")
    expect(row).to_be_visible()
    # Meanwhile its owner picks it up: the reassignment's answer (a refusal) is said in the row.
    from leads import services
    from leads.services import Actor

    services.lead_reject(lead=lead, actor=Actor.of(lead.owner), reason="no_fit", note="not ours")
    row.get_by_role("button", name="Reassign").click()
    refusal = row.locator("[role=alert], .errorlist")
    expect(refusal.first).to_be_visible()
    expect(row.locator("form")).to_be_visible()  # still there, to try another rep or read why
