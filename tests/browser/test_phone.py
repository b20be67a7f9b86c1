"""Every role's main pages on a phone (390 px wide): nothing scrolls the page sideways, what a person acts
on is on screen, and axe-core finds no critical or serious barrier. Each page leaves a screenshot at phone
and desktop width in var/screenshots/."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.pages import DESKTOP, PHONE, barriers, overflow
from tests.factories import WARM, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pages(pipeline, rep, manager, marketer):
    lead = make_lead(external_id="P1", now=timezone.now(), activities=WARM, company_name="Acme Sp. z o.o.")
    make_lead(external_id="P2", now=timezone.now(), activities=WARM)
    make_lead(external_id="P3", now=timezone.now(), activities=WARM, company_name="Globex GmbH")
    draft = factories.agreement_draft(author=marketer, name="Phone SLA")
    return {
        rep: ["/", "/leads/inbox/", f"/leads/{lead.pk}/", "/leads/", "/notices/", "/settings/"],
        manager: ["/", "/reporting/", "/leads/"],
        marketer: [
            f"/agreements/{draft.agreement_id}/v1/",
            f"/agreements/{draft.agreement_id}/v1/sections/handoff/edit/",
        ],
    }


def test_main_pages_fit_a_phone_without_sideways_scrolling(login, screenshot, pages):
    wide, found = [], []
    for user, paths in pages.items():
        for path in paths:
            page = login(user, path)
            found += [f"{path}: {barrier}" for barrier in barriers(page)]
            page.set_viewport_size(DESKTOP)
            name = path.strip("/").replace("/", "-") or "home"
            screenshot(page, f"{user.username}-{name}-desktop")
            page.set_viewport_size(PHONE)
            screenshot(page, f"{user.username}-{name}-phone")
            if overflow(page) > 0:
                wide.append(f"{path} as {user.username}: {overflow(page)} px too wide")
            # The way out is always on screen.
            logout = page.get_by_role("button", name="Log out").bounding_box()
            assert logout["x"] + logout["width"] <= PHONE["width"], path
    assert wide == [], "\n".join(wide)
    assert found == [], "\n".join(found)
