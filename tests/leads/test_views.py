from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import Lead
from leads.services import Actor
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(pipeline, rep):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert lead.owner == rep
    return lead


# Who may open or post to each view: tests/test_authorization.py.


def test_inbox_lists_my_leads_most_urgent_first_and_accepts_in_place(client, pipeline, rep):
    now = timezone.now()
    late = make_lead(external_id="late", now=now - timedelta(days=14), activities=WARM)  # past any holidays
    make_lead(external_id="mid", now=now, activities=WARM)  # goes to other_rep
    soon = make_lead(external_id="soon", now=now, activities=WARM)
    client.force_login(rep)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert html.index(f"lead-row-{late.pk}") < html.index(f"lead-row-{soon.pk}")
    assert "overdue by" in html
    response = client.post(
        reverse("leads:accept", args=[soon.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox"
    )
    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.startswith('\n<div id="inbox">') or fragment.lstrip().startswith('<div id="inbox">')
    assert "<html" not in fragment
    assert f"lead-row-{soon.pk}" not in fragment  # moved to "In progress"
    assert Lead.objects.get(pk=soon.pk).status == "accepted"


def test_reject_opens_in_place_and_errors_stay_in_the_row(client, lead, rep):
    client.force_login(rep)
    form = client.get(reverse("leads:reject", args=[lead.pk]), HTTP_HX_REQUEST="true")
    assert f'id="lead-row-{lead.pk}"' in form.content.decode()
    assert "Not ready to buy yet" in form.content.decode()
    bad = client.post(
        reverse("leads:reject", args=[lead.pk]),
        {"reason": "no_fit", "note": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="inbox",
    )
    assert bad.status_code == 422
    assert bad["HX-Retarget"] == f"#lead-row-{lead.pk}"
    assert Lead.objects.get(pk=lead.pk).status == "handed_off"
    ok = client.post(
        reverse("leads:reject", args=[lead.pk]),
        {"reason": "no_fit", "note": "Consumer"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="inbox",
    )
    assert ok.status_code == 200
    assert Lead.objects.get(pk=lead.pk).status == "disqualified"


def test_a_lost_race_shows_the_conflict_in_place(client, lead, rep):
    client.force_login(rep)
    services.lead_accept(lead=lead, actor=Actor.of(rep))
    response = client.post(
        reverse("leads:accept", args=[lead.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox"
    )
    assert response.status_code == 409
    assert "the lead is accepted" in response.content.decode()


def test_lead_page_explains_the_decision_and_shows_only_my_actions(client, lead, rep, marketer):
    client.force_login(marketer)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "v1 §icp.1" in html
    assert "v1 §handoff.pickup.warm" in html
    assert "Accept this lead" not in html
    client.force_login(rep)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Accept this lead" in html
    assert "Reassign" not in html


def test_feedback_form_saves_and_shows_for_marketing(client, lead, rep, marketer):
    services.lead_accept(lead=lead, actor=Actor.of(rep))
    client.force_login(rep)
    bad = client.post(reverse("leads:feedback", args=[lead.pk]), {"talk": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    assert "Answer at least one question." in bad.content.decode()
    client.post(reverse("leads:feedback", args=[lead.pk]), {"talk": "They need SSO"})
    client.force_login(marketer)
    assert "They need SSO" in client.get(reverse("leads:detail", args=[lead.pk])).content.decode()


def test_qualify_with_bad_input_shows_inline_errors(client, lead, rep):
    services.lead_accept(lead=lead, actor=Actor.of(rep))
    client.force_login(rep)
    response = client.post(
        reverse("leads:qualify", args=[lead.pk]),
        {"product_potential": "yes", "purchase_timeframe_months": "soon"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "Enter a whole number." in response.content.decode()


def test_manager_reassigns_from_the_list_row(client, lead, manager, other_rep):
    client.force_login(manager)
    response = client.post(
        reverse("leads:reassign", args=[lead.pk]),
        {"owner": "other_rep"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"lead-row-{lead.pk}",
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="lead-row-{lead.pk}"')
    assert Lead.objects.get(pk=lead.pk).owner == other_rep
    again = client.post(
        reverse("leads:reassign", args=[lead.pk]),
        {"owner": "ghost"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"lead-row-{lead.pk}",
    )
    assert again.status_code == 422


def test_list_filters_and_search(client, pipeline, marketer):
    now = timezone.now()
    make_lead(external_id="a", now=now, activities=WARM, company_name="Acme", source="webinar")
    make_lead(external_id="b", now=now, employees=5, activities=WARM, company_name="Tiny", source="ebook")
    client.force_login(marketer)
    url = reverse("leads:list")
    assert "Tiny" not in client.get(url, {"icp_fit": "yes"}).content.decode()
    assert "Acme" not in client.get(url, {"q": "tin"}).content.decode()
    assert "Tiny" not in client.get(url, {"status": "handed_off"}).content.decode()
    assert "Acme" not in client.get(url, {"source": "ebook"}).content.decode()
    assert client.get(url, {"status": "bogus", "page": "x"}).status_code == 400
    fragment = client.get(
        url, {"q": "acme"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lead-table"
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="lead-table">')


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_pages_run_a_constant_number_of_queries(client, pipeline, rep, manager):
    now = timezone.now()
    first = make_lead(external_id="Q0", now=now, activities=WARM)
    services.lead_accept(lead=first, actor=Actor.of(first.owner))
    client.force_login(manager)
    one = {
        "list": queries(client, reverse("leads:list")),
        "detail": queries(client, reverse("leads:detail", args=[first.pk])),
    }
    client.force_login(rep)
    one["inbox"] = queries(client, reverse("leads:inbox"))
    for n in range(1, 40):
        lead = make_lead(external_id=f"Q{n}", now=now, activities=WARM)
        if n % 3 == 0:
            services.lead_accept(lead=lead, actor=Actor.of(lead.owner))
        services.activities_ingest(
            items=[
                {"lead_external_id": "Q0", "type": "email_click", "occurred_at": now, "external_id": f"c{n}"}
            ],
            actor=Actor.system(),
            now=now,
        )
    assert Lead.objects.filter(owner=rep, status="handed_off").count() >= 10
    many = {"inbox": queries(client, reverse("leads:inbox"))}
    client.force_login(manager)
    many["list"] = queries(client, reverse("leads:list"))
    many["detail"] = queries(client, reverse("leads:detail", args=[first.pk]))
    assert many == one, f"queries per page changed with more rows: {one} -> {many}"


def test_closing_asks_for_an_outcome_and_a_confirmation(client, pipeline, rep):
    lead = make_lead(external_id="C1", now=timezone.now(), activities=WARM)
    lead = services.lead_accept(lead=lead, actor=services.Actor.of(rep))
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'value="won" checked' not in page  # nothing chosen for the rep
    refused = client.post(f"/leads/{lead.pk}/close/", {"outcome": "won"})
    assert refused.status_code == 422
    assert "Tick the box to confirm." in refused.content.decode()
    lead.refresh_from_db()
    assert lead.status == "accepted"
    client.post(f"/leads/{lead.pk}/close/", {"outcome": "lost", "confirm": "on"})
    lead.refresh_from_db()
    assert lead.status == "lost"


def test_an_action_on_the_lead_page_says_what_it_did(client, pipeline, rep):
    lead = make_lead(external_id="C2", now=timezone.now(), activities=WARM)
    lead = services.lead_accept(lead=lead, actor=services.Actor.of(rep))
    client.force_login(rep)
    answered = client.post(
        f"/leads/{lead.pk}/feedback/",
        {"talk": "Went well."},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="lead-page",
    )
    page = answered.content.decode()
    assert "Your feedback was sent to marketing." in page
    assert "Add more feedback for marketing" in page
    assert '<details class="feedback-form">' in page  # folded away, not an empty form open again


def test_the_lead_page_speaks_in_words_not_codes(client, pipeline, rep, manager):
    lead = make_lead(external_id="W1", now=timezone.now() - timedelta(hours=6), activities=WARM)
    assert lead.owner == rep
    lead = services.lead_accept(lead=lead, actor=services.Actor.of(rep))
    services.lead_feedback(lead=lead, actor=services.Actor.of(rep), answers={"talk": "Went well."})
    make_lead(external_id="W2", now=timezone.now(), activities=WARM)  # round robin: the other rep's
    other = make_lead(external_id="W3", now=timezone.now(), activities=WARM)
    assert other.owner == rep
    services.lead_reject(lead=other, actor=Actor.of(rep), reason="no_budget", note="Next year.")
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    question = lead.sla_version.clauses.feedback.questions[0]
    assert f"<strong>{question.text}</strong> Went well." in page  # not "talk:"
    assert "Awaiting pickup by sales → Accepted (in progress with sales)" in page  # not handed_off → accepted
    assert "of business time" in page
    assert "business minutes" not in page
    assert "sales rep" in page  # the role in the header, not sales_rep
    assert "sales_rep" not in page
    client.force_login(manager)
    rejected = client.get(f"/leads/{other.pk}/").content.decode()
    label = next(
        r.label for r in other.sla_version.clauses.handoff.rejection_reasons if r.code == "no_budget"
    )
    assert f"reason: {label}" in rejected
    assert "reason: no_budget" not in rejected


def test_business_time_reads_as_hours_and_minutes():
    from agreements.templatetags.sla_labels import business_time, code_label

    assert business_time(322.4) == "5 h 22 min"
    assert business_time(45) == "45 min"
    assert business_time(120) == "2 h"
    assert business_time(None) == "—"
    assert code_label("rejection_reasons") == "Rejection reasons"
