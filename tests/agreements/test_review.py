"""The SLA's daily use in the browser: the editor's error summary and rows, the compare page, and an
approver's review and confirmed signature."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agreements import selectors, services
from agreements.diff import version_diff
from agreements.models import AgreementVersion
from tests import factories

pytestmark = pytest.mark.django_db
Status = AgreementVersion.Status


def edit_url(version, key):
    return reverse("agreements:section_edit", args=[version.agreement_id, version.number, key])


def handoff_payload(client, version, **changes):
    """The handoff editor's own values as a browser would post them, with `changes`."""
    editor = client.get(edit_url(version, "handoff")).context["editor"]
    payload = {
        f"rejection_reasons-{k}": v
        for k, v in editor.formsets["rejection_reasons"].management_form.initial.items()
    }
    for form in [editor.form, *editor.formsets["rejection_reasons"].forms]:
        for field in form:
            value = field.value()
            if value in (None, False):
                continue
            if isinstance(value, list):
                payload[field.html_name] = [str(v) for v in value]
            else:
                payload[field.html_name] = "on" if value is True else str(value)
    payload.update(changes)
    return payload


# The editor ------------------------------------------------------------------------------------------------


def test_a_cold_pickup_deadline_below_the_threshold_is_refused_not_dropped(client, draft, marketer):
    client.force_login(marketer)
    before = draft.sections.get(key="handoff").data
    assert before["mql_threshold"] == "warm"
    response = client.post(edit_url(draft, "handoff"), handoff_payload(client, draft, pickup_hours_cold="4"))
    assert response.status_code == 422
    errors = response.context["editor"].form.errors
    assert errors["pickup_hours_cold"] == [
        "Cold leads are not handed off (MQLs start at warm), so they have no pickup deadline. "
        "Leave this empty, or make cold leads MQLs above."
    ]
    assert draft.sections.get(key="handoff").data == before


def test_a_cold_pickup_deadline_is_saved_once_cold_leads_are_mqls(client, draft, marketer):
    client.force_login(marketer)
    payload = handoff_payload(client, draft, pickup_hours_cold="16", mql_threshold="cold")
    assert client.post(edit_url(draft, "handoff"), payload).status_code == 302
    assert draft.sections.get(key="handoff").data["pickup_hours"] == {"cold": 16.0, "warm": 8.0, "hot": 1.0}


def test_a_failed_save_lists_every_error_linked_to_its_field(client, draft, marketer):
    client.force_login(marketer)
    payload = handoff_payload(
        client,
        draft,
        pickup_hours_cold="4",
        nurture_owner="",
        working_days=[],
        **{"rejection_reasons-1-destination": "nowhere"},
    )
    response = client.post(edit_url(draft, "handoff"), payload, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert summary, "no error summary"
    assert 'role="alert" tabindex="-1"' in summary.group(0)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(1))
    assert [target for target, _ in links] == [
        "id_pickup_hours_cold",
        "id_working_days_0",
        "id_nurture_owner",
        "id_rejection_reasons-1-destination",
    ]
    assert links[3][1].startswith("Rejection reasons, row 2, Destination: Select a valid choice.")
    assert "4 problems to fix" in summary.group(1)
    # Every target exists on the page, and the form knows it holds unsaved values.
    for target, _ in links:
        assert f'id="{target}"' in html
    assert re.search(r"<form [^>]*data-dirty", html)


def test_an_untouched_editor_has_no_summary_and_is_not_dirty(client, draft, marketer):
    client.force_login(marketer)
    html = client.get(edit_url(draft, "handoff")).content.decode()
    assert "error-summary" not in html
    assert not re.search(r"<form [^>]*data-dirty", html)


def test_row_help_is_shown_once_and_described_on_every_row(client, draft, marketer):
    client.force_login(marketer)
    html = client.get(edit_url(draft, "handoff")).content.decode()
    assert html.count('id="rejection_reasons-recycle_days-help"') == 1
    for index in range(4):  # three reasons and a blank row
        field = re.search(rf'<input[^>]*name="rejection_reasons-{index}-recycle_days"[^>]*>', html).group(0)
        assert 'aria-describedby="rejection_reasons-recycle_days-help"' in field
        assert f'aria-label="Recycle days, row {index + 1}"' in field
    # The row editor.js copies: numbered when it is added.
    template = re.search(
        r"<template data-row-template=\"rejection_reasons\">(.*?)</template>", html, re.S
    ).group(1)
    assert 'name="rejection_reasons-__prefix__-code"' in template
    assert 'aria-label="Code, row __row__"' in template
    assert re.search(r'<button type="button" class="add-row" data-add-row="rejection_reasons" hidden>', html)


def test_the_temperature_grid_names_each_cell(client, draft, marketer):
    client.force_login(marketer)
    html = client.get(edit_url(draft, "temperature")).content.decode()
    cell = re.search(r'<input[^>]*name="rule_hot_webinar_attendance"[^>]*>', html).group(0)
    assert 'aria-label="hot webinar attendance"' in cell


# Submitting and signing -----------------------------------------------------------------------------------


def test_an_unchanged_draft_cannot_be_submitted(client, active, marketer):
    v2 = services.version_create_draft(agreement=active.agreement, actor=marketer)
    with pytest.raises(services.NothingToSign, match="v2 is the same as v1, the version in force"):
        services.version_submit(version=v2, actor=marketer)
    client.force_login(marketer)
    page = client.get(reverse("agreements:version", args=[active.agreement_id, 2])).content.decode()
    assert '<button type="submit" disabled aria-describedby="submit-why">Submit for review</button>' in page
    assert "Nothing to sign yet: v2 is the same as v1, the version in force." in page
    response = client.post(reverse("agreements:submit", args=[active.agreement_id, 2]), follow=True)
    assert "there is nothing new to sign" in response.content.decode()
    v2.refresh_from_db()
    assert v2.status == Status.DRAFT


def test_a_draft_saved_unchanged_is_still_unchanged(active, marketer):
    v2 = services.version_create_draft(agreement=active.agreement, actor=marketer)
    icp = active.section_map["icp"]
    services.version_update_section(
        version=v2, key="icp", data=icp.data, prose=icp.prose + "\n", actor=marketer
    )
    assert selectors.same_content(v2, active)


def test_the_first_version_and_a_changed_draft_can_be_submitted(draft, v2, marketer):
    services.version_submit(version=v2, actor=marketer)
    assert v2.status == Status.IN_REVIEW


def test_signing_needs_the_confirmation_ticked(client, v2, marketer, marketing_approver):
    services.version_submit(version=v2, actor=marketer)
    client.force_login(marketing_approver)
    url = reverse("agreements:sign", args=[v2.agreement_id, 2])
    response = client.post(url, {"side": "marketing"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Tick the box to confirm you have read v2 before signing for marketing." in html
    box = re.search(r'<input type="checkbox" name="confirm"[^>]*>', html).group(0)
    assert "autofocus" in box  # the error beside it, on screen
    assert 'aria-invalid="true"' in box
    v2.refresh_from_db()
    assert v2.marketing_signed_by is None
    response = client.post(url, {"side": "marketing", "confirm": "on"}, follow=True)
    assert "Signed for marketing. v2 now waits for sales to sign." in response.content.decode()
    v2.refresh_from_db()
    assert v2.marketing_signed_by == marketing_approver


def test_the_review_page_shows_the_confirmation_and_what_changes(client, v2, marketer, manager):
    services.version_submit(version=v2, actor=marketer)
    client.force_login(manager)
    html = client.get(reverse("agreements:version", args=[v2.agreement_id, 2])).content.decode()
    assert "I have read Test SLA v2 and sign for sales." in html
    assert 'name="confirm"' in html
    changes = html[html.index('<section class="changes"') : html.index('<section class="review')]
    assert "What v2 changes from v1, the version in force" in changes
    assert '<ins class="words"><span class="visually-hidden">added: </span>250.</ins>' in changes
    assert "<strong>a <ins" in changes  # Markdown rendered, the changed word marked inside it
    assert "Goals" not in changes.split("Unchanged:")[0]


def test_signing_a_version_no_longer_in_review_says_so(client, v2, marketer, marketing_approver):
    client.force_login(marketing_approver)
    response = client.post(
        reverse("agreements:sign", args=[v2.agreement_id, 2]), {"side": "marketing"}, follow=True
    )
    assert "v2 cannot be signed for marketing now: it is draft." in response.content.decode()


# The compare page ------------------------------------------------------------------------------------------


def test_compare_opens_with_the_draft_against_the_version_in_force(client, v2, marketer):
    client.force_login(marketer)
    response = client.get(reverse("agreements:compare", args=[v2.agreement_id]))
    assert response.status_code == 200
    assert (response.context["left"].number, response.context["right"].number) == (1, 2)
    html = response.content.decode()
    assert re.search(r'<option value="1" selected>v1 · in force since \d+ \w+ \d{4}</option>', html)
    assert re.search(r'<option value="2" selected>v2 · draft, started \d+ \w+ \d{4}</option>', html)
    assert "**contact data**" not in html
    assert "<strong>contact data</strong>" in html
    assert "v2 differs from v1 in 2 of 7 sections" in html
    assert '<span class="symbol" aria-hidden="true">±</span> Changed' in html
    goals = re.search(
        r'<section class="diff-section unchanged" id="diff-goals">.*?</section>', html, re.S
    ).group(0)
    assert "<details><summary>" in goals
    assert "<details open" not in goals
    assert "<th></th>" not in html


def test_compare_picks_the_two_newest_when_the_newest_is_in_force(
    client, v2, marketer, marketing_approver, manager
):
    factories.activate(v2, author=marketer, marketing_approver=marketing_approver, sales_approver=manager)
    client.force_login(marketer)
    response = client.get(reverse("agreements:compare", args=[v2.agreement_id]))
    assert (response.context["left"].number, response.context["right"].number) == (1, 2)
    assert "was in force" in response.content.decode()


def test_compare_with_one_version_says_there_is_nothing_to_compare(client, draft, marketer):
    client.force_login(marketer)
    response = client.get(reverse("agreements:compare", args=[draft.agreement_id]))
    assert response.status_code == 200
    assert "only one version so far" in response.content.decode()


@pytest.mark.parametrize("query", [{"a": 1, "b": 1}, {"a": 1}, {"a": "1e9", "b": "-1"}, {"b": "\x00"}])
def test_compare_refuses_bad_choices_in_words(client, v2, marketer, query):
    client.force_login(marketer)
    response = client.get(reverse("agreements:compare", args=[v2.agreement_id]), query)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()


def test_the_diff_marks_added_and_removed_rules(active, marketer):
    v2 = services.version_create_draft(agreement=active.agreement, actor=marketer)
    criteria = [
        {"field": "company_employees", "op": "gte", "value": 50},
        {"field": "company_country", "op": "in", "value": ["PL"]},
    ]
    services.version_update_section(
        version=v2, key="icp", data={"criteria": criteria}, prose="", actor=marketer
    )
    icp = next(
        s
        for s in version_diff(active, selectors.version_get(agreement_id=v2.agreement_id, number=2))
        if s.key == "icp"
    )
    assert [row.label for row in icp.rules if row.changed] == ["Added"]
    assert [row.label for row in icp.prose] == ["Removed"]
    assert icp.summary == "2 changes: 1 added, 1 removed"
    assert icp.rules[1].right.startswith('<ins class="words"><span class="visually-hidden">added: </span>')
    assert icp.prose[0].left.startswith('<del class="block">')


def test_a_section_saved_in_place_says_so_and_has_the_page_head_reload(client, active, marketer):
    v2 = services.version_create_draft(agreement=active.agreement, actor=marketer)
    client.force_login(marketer)
    page = client.get(reverse("agreements:version", args=[active.agreement_id, 2])).content.decode()
    assert 'hx-trigger="sla-saved from:body"' in page  # the head with Submit listens for saves
    saved = client.post(
        edit_url(v2, "icp"),
        {
            "prose": "",
            "criteria-TOTAL_FORMS": "1",
            "criteria-INITIAL_FORMS": "1",
            "criteria-0-field": "company_employees",
            "criteria-0-op": "gte",
            "criteria-0-value": "75",
        },
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200
    assert saved["HX-Trigger"] == "sla-saved"
    assert "saved." in saved.content.decode()
    page = client.get(reverse("agreements:version", args=[active.agreement_id, 2])).content.decode()
    assert "Nothing to sign yet" not in page
