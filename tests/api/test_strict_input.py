"""Strict input: what an integrator misspells or mistypes is a 400 naming it, never silently dropped."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from integrations.api.strict import StrictQuery
from integrations.models import ApiToken, WebhookSubscription
from leads.models import Activity, Lead
from leads.services import escalation
from reporting.periods import period_containing
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def test_a_misspelled_body_field_is_named_with_a_guess_and_nothing_is_stored(pipeline, marketer, api):
    client = api(marketer)
    body = {"external_id": "unk-1", "compnay": {"employees": 5000}}
    errors = errors_of(client.post("/api/v1/leads", body, format="json"))
    assert errors == {"compnay": ["Unknown field; did you mean 'company'?"]}
    nested = {"external_id": "unk-1", "company": {"employes": 5000}, "emial": "x@example.com"}
    errors = errors_of(client.post("/api/v1/leads", nested, format="json"))
    assert errors["company.employes"] == ["Unknown field; did you mean 'employees'?"]
    assert errors["emial"] == ["Unknown field; did you mean 'email'?"]
    assert not Lead.objects.exists()


def test_unknown_fields_of_activities_and_actions_are_refused(pipeline, marketer, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    at = timezone.now().isoformat()
    item = {"lead_external_id": "L1", "type": "ebook_download", "ocurred_at": at, "external_id": "a1"}
    errors = errors_of(api(marketer).post("/api/v1/activities", [item], format="json"))
    assert errors["0.ocurred_at"] == ["Unknown field; did you mean 'occurred_at'?"]
    assert errors["0.occurred_at"] == ["This field is required."]
    assert Activity.objects.filter(external_id="a1").count() == 0
    reject = {"reason": "no_fit", "note": "not ours", "destination": "nurture"}
    errors = errors_of(api(rep).post(f"/api/v1/leads/{lead.pk}/reject", reject, format="json"))
    assert list(errors) == ["destination"]
    assert Lead.objects.get(pk=lead.pk).status == "handed_off"


def test_a_misspelled_query_parameter_is_refused_not_ignored(pipeline, marketer, api):
    client = api(marketer)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    errors = errors_of(client.get("/api/v1/leads", {"update_since": since}))
    assert errors == {"update_since": ["Unknown query parameter; did you mean 'updated_since'?"]}
    errors = errors_of(client.get("/api/v1/ping", {"verbose": "1"}))
    assert errors == {"verbose": ["Unknown query parameter; this operation takes none."]}
    assert client.get("/api/v1/leads", {"updated_since": since}).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"icp_fit": "garbage"}, "icp_fit"),
        ({"icp_fit": "1"}, "icp_fit"),
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "501"}, "page_size"),
        ({"status": "lost-ish"}, "status"),
    ],
)
def test_an_invalid_filter_or_page_size_is_a_400(pipeline, marketer, api, params, field):
    assert field in errors_of(api(marketer).get("/api/v1/leads", params))


def test_filters_and_page_sizes_that_are_right_still_work(pipeline, marketer, api):
    for n in range(3):
        make_lead(external_id=f"F{n}", now=timezone.now(), activities=WARM)
    make_lead(external_id="cold", now=timezone.now(), employees=5)
    client = api(marketer)
    page = client.get("/api/v1/leads", {"page_size": "2", "icp_fit": "true"}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    assert [
        x["external_id"] for x in client.get("/api/v1/leads", {"icp_fit": "false"}).json()["results"]
    ] == ["cold"]


def test_a_lead_is_found_by_the_crms_id(pipeline, marketer, api):
    make_lead(external_id="demo-0001", now=timezone.now(), activities=WARM)
    make_lead(external_id="demo-00011", now=timezone.now(), activities=WARM)
    found = api(marketer).get("/api/v1/leads", {"external_id": "demo-0001"}).json()["results"]
    assert [lead["external_id"] for lead in found] == ["demo-0001"]
    assert api(marketer).get("/api/v1/leads", {"external_id": "nobody"}).json()["results"] == []


def test_an_id_padded_with_spaces_is_refused_not_trimmed(pipeline, marketer, api):
    client = api(marketer)
    errors = errors_of(client.post("/api/v1/leads", {"external_id": " crm-7 "}, format="json"))
    assert errors == {"external_id": ["Must not begin or end with spaces."]}
    assert not Lead.objects.exists()
    client.post("/api/v1/leads", {"external_id": "crm-7"}, format="json")
    item = {
        "lead_external_id": "crm-7",
        "type": "ebook_download",
        "occurred_at": timezone.now().isoformat(),
        "external_id": "a1 ",
    }
    errors = errors_of(client.post("/api/v1/activities", item, format="json"))
    assert errors == {"external_id": ["Must not begin or end with spaces."]}


def test_a_report_of_a_period_to_come_is_a_400_and_this_one_is_to_date(pipeline, marketer, api):
    client = api(marketer)
    now = timezone.now()
    this_month = period_containing(now, "month", "Europe/Warsaw")
    assert client.get("/api/v1/reports", {"month": this_month.label}).json()["complete"] is False
    next_month = this_month.next().label
    assert "month" in errors_of(client.get("/api/v1/reports", {"month": next_month}))
    next_quarter = period_containing(now, "quarter", "Europe/Warsaw").next().label
    assert "quarter" in errors_of(client.get("/api/v1/reports", {"quarter": next_quarter}))
    assert "limit" in errors_of(client.get("/api/v1/reports/monthly", {"limit": "lots"}))
    assert "offset" in errors_of(client.get("/api/v1/reports/monthly", {"offset": "-1"}))


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and prefix.startswith("api/v1/"):
            view = getattr(pattern.callback, "cls", None)
            yield prefix + str(pattern.pattern), view


def test_every_api_operation_refuses_unknown_query_parameters():
    views = list(_api_views(get_resolver().url_patterns))
    assert len(views) > 10
    loose = [route for route, view in views if not (view and issubclass(view, StrictQuery))]
    assert loose == []


def test_reloading_the_token_page_neither_makes_a_second_token_nor_shows_it_again(client, marketer):
    client.force_login(marketer)
    created = client.post("/integrations/api-tokens/", {"name": "Zapier", "scopes": ["read", "write"]})
    assert created.status_code == 302
    shown = client.get(created["Location"]).content.decode()
    assert 'id="new-token"' in shown
    again = client.get("/integrations/api-tokens/").content.decode()
    assert 'id="new-token"' not in again
    assert ApiToken.objects.filter(user=marketer).count() == 1


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def times_in(value) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in times_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in times_in(v)]
    return [value] if isinstance(value, str) and ISO_TIME.match(value) else []


def test_every_time_the_api_writes_is_utc_with_a_z(pipeline, marketer, rep, manager, api):
    lead = make_lead(external_id="L1", now=timezone.now() - timedelta(days=3), activities=WARM)
    escalation.check_overdue_pickups()  # a breach: its event's details name the deadline
    client = api(marketer)
    responses = [
        client.get(f"/api/v1/leads/{lead.pk}").json(),
        client.get(f"/api/v1/leads/{lead.pk}/events").json(),
        client.get("/api/v1/leads").json(),
        client.get("/api/v1/reports").json(),
    ]
    found = times_in(responses)
    assert len(found) > 10
    assert [t for t in found if not t.endswith("Z")] == []


def test_every_list_that_grows_has_one_pagination_a_cursor(pipeline, marketer, admin_user, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    hook = WebhookSubscription.objects.create(
        url="https://crm.example.com/h", secret="s" * 32, events=["lead.closed"]
    )
    lists = {
        marketer: ["/api/v1/leads", f"/api/v1/leads/{lead.pk}/events", "/api/v1/reports/monthly"],
        admin_user: ["/api/v1/webhooks", f"/api/v1/webhooks/{hook.pk}/deliveries"],
    }
    for user, urls in lists.items():
        client = api(user)
        for url in urls:
            page = client.get(url, {"page_size": "1"}).json()
            assert set(page) == {"next", "previous", "results"}, url
            assert len(page["results"]) <= 1
            assert "page_size" in errors_of(client.get(url, {"page_size": "0"})), url
            assert "cursor" in errors_of(client.get(url, {"cursor": "not-ours"})), url
    events = api(marketer).get(f"/api/v1/leads/{lead.pk}/events", {"page_size": "2"}).json()
    assert events["next"]  # created, evaluated, handed off: more than one page of two
    rest = api(marketer).get(events["next"]).json()["results"]
    kinds = [e["kind"] for e in events["results"] + rest]
    assert kinds[0] == "created"  # oldest first, across pages
    assert "handed_off" in kinds


def test_every_error_is_a_problem_document_bad_json_included(pipeline, marketer, api):
    client = api(marketer)
    bad_json = client.post("/api/v1/leads", '{"external_id": ', content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json["Content-Type"] == "application/problem+json"
    body = bad_json.json()
    assert (body["type"], body["title"], body["status"], body["detail"]) == (
        "about:blank",
        "Bad Request",
        400,
        "Invalid input.",
    )
    assert list(body["errors"]) == [""]  # the body as a whole
    assert "JSON parse error" in body["errors"][""][0]
    # A client that asks for problem documents (as RFC 9457 suggests) gets them, not a 406.
    asked = client.get("/api/v1/leads", {"page_size": "0"}, HTTP_ACCEPT="application/problem+json")
    assert (asked.status_code, asked.json()["errors"]) == (
        400,
        {"page_size": ["Give a whole number from 1 to 500."]},
    )
    listed = client.post("/api/v1/activities", [], format="json")
    assert listed.json()["errors"] == {"": ["Send at least one."]}
