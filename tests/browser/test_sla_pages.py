"""The SLA pages in a real browser: the section editor (errors, rows, unsaved changes), the compare page,
and an approver's review and signature; on a phone (390 px) and a desktop (1366 px), clean under
axe-core. Screenshots in var/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from agreements import services
from agreements.models import AgreementVersion
from tests.browser.pages import DESKTOP, PHONE, barriers, overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] < height and box["y"] + min(box["height"], 100) <= height


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_failed_save_opens_at_its_error_summary(login, screenshot, draft, marketer, size):
    page = login(marketer, f"/agreements/{draft.agreement_id}/v1/")
    page.set_viewport_size(size)
    section = page.locator("#section-handoff")
    section.get_by_role("link", name="Edit").click()
    cold = section.get_by_label("Pickup deadline, cold (business hours)")
    cold.fill("4")  # MQLs start at warm in the demo SLA: cold leads are never handed off
    section.get_by_label("Who nurtures leads").fill("")
    section.get_by_role("button", name="Save").click()

    summary = section.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    assert in_view(page, summary), summary.bounding_box()
    expect(summary).to_contain_text("2 problems to fix")
    expect(summary).to_contain_text("Cold leads are not handed off (MQLs start at warm)")
    screenshot(page, "summary")
    assert overflow(page) == 0
    # Each error links to its field.
    summary.get_by_role("link", name=re.compile("^Pickup deadline, cold")).click()
    expect(section.get_by_label("Pickup deadline, cold (business hours)")).to_be_focused()
    expect(cold).to_have_attribute("aria-invalid", "true")
    draft.refresh_from_db()
    assert "cold" not in draft.section_map["handoff"].data["pickup_hours"]
    assert draft.section_map["handoff"].data["nurture_owner"]


def test_add_another_row_adds_numbered_rows_that_save(login, screenshot, draft, marketer):
    page = login(marketer, f"/agreements/{draft.agreement_id}/v1/sections/terms/edit/")
    rows = page.locator("#rows-glossary tbody tr")
    expect(rows).to_have_count(4)  # three terms and a blank row
    page.get_by_role("button", name="Add another row").click()
    expect(rows).to_have_count(5)
    new_term = page.get_by_label("Term, row 5")
    expect(new_term).to_be_focused()
    new_term.fill("SQL")
    page.get_by_label("Definition, row 5").fill("A lead sales accepted.")
    page.get_by_label("Term, row 4").fill("SAL")
    page.get_by_label("Definition, row 4").fill("A lead sales agreed to work.")
    screenshot(page)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#section-terms form")).to_have_count(0)
    glossary = draft.sections.get(key="terms").data["glossary"]
    assert [g["term"] for g in glossary] == ["MQL", "ICP", "Pickup", "SAL", "SQL"]


def test_row_help_is_shown_and_tied_to_each_rows_field(login, draft, marketer):
    page = login(marketer, f"/agreements/{draft.agreement_id}/v1/sections/icp/edit/")
    help_text = page.locator("#criteria-value-help")
    expect(help_text).to_be_visible()
    expect(page.get_by_label("Value, row 1")).to_have_accessible_description(
        re.compile("two numbers for between")
    )


def test_cancel_asks_before_dropping_typed_changes(login, screenshot, draft, marketer):
    page = login(marketer, f"/agreements/{draft.agreement_id}/v1/")
    section = page.locator("#section-icp")
    section.get_by_role("link", name="Edit").click()
    # Untouched, Cancel just closes.
    section.get_by_role("link", name="Cancel").click()
    expect(section.locator("form")).to_have_count(0)

    section.get_by_role("link", name="Edit").click()
    section.get_by_label("Value, row 1").fill("75")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    section.get_by_role("link", name="Cancel").click()
    assert asked == ["Discard your unsaved changes to Ideal Customer Profile?"] or asked[0].startswith(
        "Discard your unsaved changes"
    )
    expect(section.get_by_label("Value, row 1")).to_have_value("75")  # still editing, nothing lost
    screenshot(page)

    # Leaving the page asks too.
    left = []
    page.once("dialog", lambda dialog: (left.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert left == ["beforeunload"]


def test_cancel_confirmed_drops_the_changes(login, draft, marketer):
    page = login(marketer, f"/agreements/{draft.agreement_id}/v1/")
    section = page.locator("#section-icp")
    section.get_by_role("link", name="Edit").click()
    section.get_by_label("Value, row 1").fill("75")
    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("link", name="Cancel").click()
    expect(section.locator("form")).to_have_count(0)
    assert draft.sections.get(key="icp").data["criteria"][0]["value"] == 50


def test_compare_opens_with_the_draft_against_the_version_in_force(login, screenshot, v2, marketer):
    page = login(marketer, f"/agreements/{v2.agreement_id}/compare/")
    compare = page.get_by_label("Compare")
    expect(compare.locator("option:checked")).to_have_text(re.compile(r"^v1 · in force since"))
    expect(page.get_by_label("with").locator("option:checked")).to_have_text(re.compile(r"^v2 · draft"))
    terms = page.locator("#diff-terms")
    # Markdown rendered, not shown as typed.
    expect(terms.locator("strong", has_text="contact data").first).to_be_visible()
    expect(terms).not_to_contain_text("**contact data**")
    expect(terms.locator("strong del", has_text="conversation")).to_be_visible()
    expect(terms.locator("strong ins", has_text="meeting")).to_be_visible()
    icp = page.locator("#diff-icp")
    expect(icp.locator("tr.replace td.change").first).to_have_text("± Changed")
    expect(icp.locator("del", has_text="50.")).to_be_visible()
    expect(icp.locator("ins", has_text="250.")).to_be_visible()
    # Sections that did not change are folded away.
    goals = page.locator("#diff-goals")
    expect(goals).to_contain_text("unchanged")
    expect(goals.locator("details")).not_to_have_attribute("open", "")
    expect(goals.locator("ul.same").first).not_to_be_visible()
    page.set_viewport_size(PHONE)
    screenshot(page, "phone")
    assert overflow(page) == 0
    page.set_viewport_size(DESKTOP)
    screenshot(page, "desktop")

    compare.select_option("2")
    page.get_by_label("with").select_option("1")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"a=2&b=1"))
    expect(page.locator("#diff-icp ins", has_text="50.")).to_be_visible()


def test_an_approver_sees_what_changes_and_confirms_the_signature(
    login, screenshot, v2, marketer, marketing_approver
):
    services.version_submit(version=v2, actor=marketer)
    page = login(marketing_approver, f"/agreements/{v2.agreement_id}/v2/")
    changes = page.locator("#changes")
    expect(changes).to_contain_text("What v2 changes from v1, the version in force")
    expect(changes.locator("#diff-icp ins", has_text="250.")).to_be_visible()
    expect(changes.locator("#diff-goals")).to_have_count(0)  # unchanged sections are only named
    expect(changes.locator("tr.equal")).to_have_count(0)  # and so are unchanged rules: the document has them

    page.get_by_role("button", name="Sign for marketing").click()
    confirm = page.get_by_label(re.compile("I have read .* v2 and sign for marketing"))
    expect(
        page.get_by_text("Tick the box to confirm you have read v2 before signing for marketing.")
    ).to_be_visible()
    expect(confirm).to_be_focused()
    assert in_view(page, confirm)
    screenshot(page, "unconfirmed")
    v2.refresh_from_db()
    assert v2.marketing_signed_by is None

    confirm.check()
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_text("Signed for marketing. v2 now waits for sales to sign.")).to_be_visible()
    screenshot(page, "signed")
    v2.refresh_from_db()
    assert v2.marketing_signed_by == marketing_approver
    assert v2.status == AgreementVersion.Status.IN_REVIEW


def test_sla_pages_are_clean_under_axe_and_fit_a_phone(login, screenshot, v2, marketer, manager):
    agreement = v2.agreement_id
    pages = [
        (marketer, f"/agreements/{agreement}/v2/sections/handoff/edit/", "editor"),
        (marketer, f"/agreements/{agreement}/v2/sections/temperature/edit/", "temperature-editor"),
        (marketer, f"/agreements/{agreement}/compare/", "compare"),
        (marketer, f"/agreements/{agreement}/history/", "history"),
        (marketer, f"/agreements/{agreement}/v2/", "draft"),
        (manager, f"/agreements/{agreement}/v2/", "review"),
        (marketer, "/agreements/", "list"),
    ]
    found, wide = [], []
    for index, (user, path, name) in enumerate(pages):
        if name == "review":
            services.version_submit(version=v2, actor=marketer)
        page = login(user, path)
        if name == "editor":
            # The editor with its errors showing, as people meet it.
            page.get_by_label("Pickup deadline, cold (business hours)").fill("4")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("[data-error-summary]")).to_be_focused()
        found += [f"{path}: {barrier}" for barrier in barriers(page)]
        page.set_viewport_size(DESKTOP)
        screenshot(page, f"{index}-{name}-desktop")
        page.set_viewport_size(PHONE)
        screenshot(page, f"{index}-{name}-phone")
        if overflow(page) > 0:
            wide.append(f"{path}: {overflow(page)} px too wide")
        found += [f"{path} (phone): {barrier}" for barrier in barriers(page)]
    assert wide == [], "\n".join(wide)
    assert found == [], "\n".join(found)
