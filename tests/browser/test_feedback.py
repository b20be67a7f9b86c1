"""Every action in place answers: a confirmation with focus on it, a refusal that says who changed the
lead, a whole-page sign-in when the session has ended, and Escape to close an inline form."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from leads import services
from leads.services import Actor
from tests.factories import WARM, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def leads(pipeline, rep):
    now = timezone.now()
    first = make_lead(external_id="F1", now=now, activities=WARM, company_name="Acme")
    make_lead(external_id="F2", now=now, activities=WARM)  # round robin: the other rep's
    second = make_lead(external_id="F3", now=now, activities=WARM, company_name="Globex")
    assert first.owner == second.owner == rep
    return first, second


def test_an_accept_says_what_it_did_and_moves_focus_there(login, screenshot, leads, rep):
    first, _ = leads
    page = login(rep, "/leads/inbox/")
    page.locator(f"#lead-row-{first.pk}").get_by_role("button", name="Accept").click()
    done = page.locator(".done")
    expect(done).to_contain_text("now Accepted")
    expect(done).to_be_focused()
    screenshot(page)


def test_a_stale_accept_says_who_took_the_lead(login, screenshot, leads, rep, other_rep, manager):
    first, _ = leads
    page = login(rep, "/leads/inbox/")
    services.lead_reassign(lead=first, actor=Actor.of(manager), owner=other_rep.username)
    page.locator(f"#lead-row-{first.pk}").get_by_role("button", name="Accept").click()
    refusal = page.get_by_role("alert").filter(has_text="no longer yours")
    expect(refusal).to_contain_text(f"{manager.username} gave it to {other_rep.username}")
    expect(page.locator(f"#lead-row-{first.pk}")).to_have_count(0)  # the inbox as it is now
    screenshot(page)


def test_a_refusal_htmx_does_not_swap_is_said_in_words(login, leads, rep, other_rep, manager):
    first, _ = leads
    page = login(rep, "/leads/inbox/")
    services.lead_reassign(lead=first, actor=Actor.of(manager), owner=other_rep.username)
    page.locator(f"#lead-row-{first.pk}").get_by_role("link", name="Reject…").click()
    expect(page.locator("#flash")).to_contain_text("You may not do that (any more)")


def test_an_ended_session_signs_in_as_a_whole_page_and_comes_back(login, leads, rep):
    first, _ = leads
    page = login(rep, "/leads/inbox/")
    Session.objects.all().delete()
    page.locator(f"#lead-row-{first.pk}").get_by_role("button", name="Accept").click()
    page.wait_for_url("**/login/?next=%2Fleads%2Finbox%2F")
    expect(page.locator("#inbox")).to_have_count(0)  # not a sign-in form inside the table
    page.fill("input[name=username]", rep.username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")
    page.wait_for_url("**/leads/inbox/")


def test_escape_closes_the_reject_form(login, leads, rep):
    first, _ = leads
    page = login(rep, "/leads/inbox/")
    page.locator(f"#lead-row-{first.pk}").get_by_role("link", name="Reject…").click()
    reason = page.locator(f"#lead-row-{first.pk} select")
    expect(reason).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(f"#lead-row-{first.pk}")).to_contain_text("Accept")
