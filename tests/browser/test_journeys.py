"""The four journeys of the product's people, in a real Chromium against a live server.

Each asserts what the person sees on the page and what the database holds after, and saves a screenshot.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agreements.models import AgreementVersion
from integrations.models import ApiToken
from leads.models import Lead
from tests.factories import WARM, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_fixes_an_invalid_icp_clause_in_place(login, screenshot, draft, marketer):
    page = login(marketer, f"/agreements/{draft.agreement_id}/v1/")
    section = page.locator("#section-icp")
    section.get_by_role("link", name=re.compile("Edit")).click()
    value = section.locator("input[name='criteria-0-value']")
    expect(value).to_be_visible()
    page_url = page.url
    section.locator("select[name='criteria-0-field']").select_option("company_employees")
    section.locator("select[name='criteria-0-op']").select_option("gte")
    value.fill("lots")
    section.get_by_role("button", name="Save").click()

    expect(section.get_by_text("Enter a number.", exact=True)).to_be_visible()  # beside the field
    expect(section.locator("[data-error-summary]")).to_be_focused()
    assert page.url == page_url  # the error came in place, not as a new page
    screenshot(page, "error")
    assert draft.sections.get(key="icp").data["criteria"][0]["value"] != "lots"

    section.locator("input[name='criteria-0-value']").fill("50")
    section.get_by_role("button", name="Save").click()
    expect(section.locator("form")).to_have_count(0)  # back to reading
    expect(section).to_contain_text("50")
    screenshot(page)
    criterion = draft.sections.get(key="icp").data["criteria"][0]
    assert criterion == {"field": "company_employees", "op": "gte", "value": 50}


def test_both_approvers_sign_and_the_version_comes_into_force(
    login, screenshot, draft, marketer, marketing_approver, manager
):
    url = f"/agreements/{draft.agreement_id}/v1/"
    page = login(marketer, url)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".badge")).to_contain_text("In review")

    page = login(marketing_approver, url)
    expect(page.get_by_role("button", name="Sign for sales")).to_have_count(0)
    page.get_by_label("I have read Test SLA v1 and sign for marketing.").check()
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.locator("table.signatures")).to_contain_text(marketing_approver.username)
    draft.refresh_from_db()
    assert draft.status != AgreementVersion.Status.ACTIVE  # one signature is not enough

    page = login(manager, url)
    page.get_by_label("I have read Test SLA v1 and sign for sales.").check()
    page.get_by_role("button", name="Sign for sales").click()
    expect(page.get_by_text("is now in force")).to_be_visible()
    expect(page.locator(".badge")).to_contain_text("Active")
    screenshot(page)
    draft.refresh_from_db()
    assert draft.status == AgreementVersion.Status.ACTIVE


def test_rep_rejects_one_lead_and_accepts_another_without_a_reload(login, screenshot, pipeline, rep):
    now = timezone.now()
    first = make_lead(external_id="B1", now=now, activities=WARM, company_name="Acme Sp. z o.o.")
    make_lead(external_id="B2", now=now, activities=WARM)  # round robin: the other rep's
    second = make_lead(external_id="B3", now=now, activities=WARM, company_name="Globex GmbH")
    assert first.owner == second.owner == rep

    page = login(rep, "/leads/inbox/")
    expect(page.locator(f"#lead-row-{first.pk}")).to_contain_text("Acme")
    expect(page.locator(f"#lead-row-{second.pk}")).to_contain_text("Globex")
    # A marker on the window survives htmx swaps but not a page load.
    page.evaluate("window.__sameDocument = true")

    page.locator(f"#lead-row-{first.pk}").get_by_role("link", name="Reject…").click()
    row = page.locator(f"#lead-row-{first.pk}")
    row.locator("select[name=reason]").select_option("no_fit")
    note = row.locator("textarea[name=note]")
    row.get_by_role("button", name=re.compile("Reject")).click()
    # The note is required: the browser holds the form back and points at it, and nothing is sent.
    assert note.evaluate("el => el.validity.valueMissing") is True
    assert Lead.objects.get(pk=first.pk).status == "handed_off"
    note.fill("Consumer address, not a company")
    row.get_by_role("button", name=re.compile("Reject")).click()
    expect(page.locator(f"#lead-row-{first.pk}")).to_have_count(0)

    page.locator(f"#lead-row-{second.pk}").get_by_role("button", name="Accept").click()
    expect(page.locator(f"#lead-row-{second.pk}")).to_have_count(0)
    expect(page.locator("#inbox")).to_contain_text("Nothing is waiting for you.")
    expect(page.locator("#inbox")).to_contain_text("Accepted")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page)

    assert Lead.objects.get(pk=first.pk).status == "disqualified"
    assert Lead.objects.get(pk=second.pk).status == "accepted"


def test_manager_sees_the_dashboard_figures_change(login, screenshot, pipeline, rep, manager):
    lead = make_lead(external_id="D1", now=timezone.now(), activities=WARM)
    assert lead.owner == rep
    board = login(manager, "/reporting/")
    accepted = board.locator(".kpis > div", has_text="accepted").locator("span")
    expect(accepted).to_have_text("0")
    screenshot(board, "before")

    inbox = login(rep, "/leads/inbox/")
    inbox.locator(f"#lead-row-{lead.pk}").get_by_role("button", name="Accept").click()
    expect(inbox.locator(f"#lead-row-{lead.pk}")).to_have_count(0)

    board.evaluate("window.__sameDocument = true")
    board.get_by_role("button", name="Show").click()  # htmx refresh of the figures
    expect(accepted).to_have_text("1")
    expect(board.locator(".kpis > div", has_text="picked up in time").locator("span")).to_have_text("100.0%")
    assert board.evaluate("window.__sameDocument") is True
    screenshot(board, "after")


def test_admin_makes_an_erase_only_token_on_a_phone_and_sees_it_whole(login, screenshot, admin_user):
    page = login(admin_user, "/integrations/api-tokens/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.fill("input[name=name]", "GDPR desk")
    for scope in ("read", "write"):
        page.locator(f"input[name=scopes][value={scope}]").uncheck()
    page.click(".token-form button[type=submit]")
    expect(page.get_by_text("Choose at least one scope.")).to_be_visible()
    page.get_by_text("erase: Erase a person's data").click()  # the label's text ticks its box
    page.click(".token-form button[type=submit]")
    token = page.locator("#new-token")
    expect(token).to_have_text(re.compile(r"^slp_"))
    # The token is shown once: all of it must be on screen, not cut at the phone's edge.
    box = token.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    table = page.locator(".table-scroll")
    assert table.evaluate("e => e.getBoundingClientRect().right") <= 390
    screenshot(page, "phone")
    assert list(ApiToken.objects.filter(user=admin_user).values_list("scopes", flat=True)) == [["erase"]]
