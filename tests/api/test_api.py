from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.authentication import TokenRateThrottle
from integrations.models import ApiToken
from integrations.tokens import token_revoke
from leads import services
from leads.models import Activity, Lead, LeadEvent
from reporting.periods import period_containing
from slaportal.problems import problem_body as problem
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db

LEAD = {
    "external_id": "crm-1",
    "email": "ann@acme.example",
    "first_name": "Ann",
    "last_name": "Smith",
    "job_title": "CTO",
    "source": "webinar",
    "company": {
        "name": "Acme",
        "employees": 120,
        "annual_revenue": "2500000.00",
        "industry": "software",
        "country": "PL",
    },
}


def activities(external_id, kinds, minutes_ago=5):
    at = (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()
    return [
        {"lead_external_id": external_id, "type": k, "occurred_at": at, "external_id": f"{external_id}-{n}"}
        for n, k in enumerate(kinds)
    ]


def test_requests_without_a_valid_token_get_401(marketer, api):
    anonymous = APIClient()
    response = anonymous.get("/api/v1/leads")
    assert response.status_code == 401
    assert response.json() == problem(401, "Authentication credentials were not provided.")
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer nonsense")
    assert anonymous.get("/api/v1/leads").status_code == 401
    client = api(marketer)
    assert client.get("/api/v1/ping").json() == {"user": "marketer"}
    token = ApiToken.objects.get(user=marketer)
    assert token.last_used_at is not None
    assert len(token.key_hash) == 64  # only the hash is stored
    token_revoke(token=token)
    assert client.get("/api/v1/ping").status_code == 401


def test_create_api_token_prints_the_token_alone_on_its_last_line(marketer, capsys):
    call_command("create_api_token", "marketer", "--name", "HubSpot")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/ping").status_code == 200
    with pytest.raises(Exception, match="No active user"):
        call_command("create_api_token", "ghost")


def test_upsert_creates_then_updates_by_external_id(pipeline, marketer, api):
    client = api(marketer)
    created = client.post("/api/v1/leads", LEAD, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["company"] == {
        "name": "Acme",
        "employees": 120,
        "annual_revenue": 2500000.0,
        "industry": "software",
        "country": "PL",
    }
    assert (body["status"], body["icp_fit"], body["marketing_temperature"], body["owner"]) == (
        "nurturing",
        True,
        None,
        None,
    )
    updated = client.post("/api/v1/leads", {**LEAD, "job_title": "CEO"}, format="json")
    assert updated.status_code == 200
    assert updated.json()["id"] == body["id"]
    assert updated.json()["job_title"] == "CEO"
    event = LeadEvent.objects.get(lead_id=body["id"], kind="created")
    assert (event.actor_type, event.actor) == ("integration", marketer)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "x"}, "external_id"),
        ({**LEAD, "email": "nope"}, "email"),
        ({**LEAD, "company": {"employees": -1}}, "company"),
        ({**LEAD, "company": {"country": "Poland"}}, "company"),
        ({**LEAD, "external_id": ""}, "external_id"),
    ],
)
def test_invalid_lead_gives_400_with_field_errors_and_stores_nothing(pipeline, marketer, api, payload, field):
    response = api(marketer).post("/api/v1/leads", payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid input."
    assert any(path == field or path.startswith(f"{field}.") for path in response.json()["errors"])
    assert not Lead.objects.exists()


def test_malformed_json_and_wrong_types_are_400(pipeline, marketer, api):
    client = api(marketer)
    assert client.post("/api/v1/leads", "{not json", content_type="application/json").status_code == 400
    assert client.post("/api/v1/leads", [1, 2], format="json").status_code == 400
    assert client.post("/api/v1/activities", {"x": 1}, format="json").status_code == 400


def test_reps_cannot_send_leads_and_see_only_their_own(pipeline, rep, other_rep, marketer, api):
    assert api(rep).post("/api/v1/leads", LEAD, format="json").status_code == 403
    mine = make_lead(external_id="mine", now=timezone.now(), activities=WARM)
    theirs = make_lead(external_id="theirs", now=timezone.now(), activities=WARM)
    assert (mine.owner, theirs.owner) == (rep, other_rep)
    listing = api(rep).get("/api/v1/leads").json()
    assert [row["external_id"] for row in listing["results"]] == ["mine"]
    assert api(rep).get(f"/api/v1/leads/{theirs.pk}").status_code == 403
    assert api(rep).get("/api/v1/leads/999999").status_code == 404
    assert api(marketer).get(f"/api/v1/leads/{theirs.pk}/events").status_code == 200


def test_list_is_cursor_paginated_and_filtered(pipeline, marketer, api):
    now = timezone.now()
    for n in range(5):
        make_lead(external_id=f"L{n}", now=now, activities=WARM if n % 2 else ())
    client = api(marketer)
    page = client.get("/api/v1/leads", {"page_size": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 2
    assert {r["status"] for r in client.get("/api/v1/leads", {"status": "handed_off"}).json()["results"]} == {
        "handed_off"
    }
    assert len(client.get("/api/v1/leads", {"owner": "rep"}).json()["results"]) == 1
    assert (
        len(
            client.get("/api/v1/leads", {"updated_since": (now + timedelta(days=1)).isoformat()}).json()[
                "results"
            ]
        )
        == 0
    )
    bad = client.get("/api/v1/leads", {"status": "bogus", "updated_since": "yesterday"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"status", "updated_since"}


def test_activities_single_list_duplicates_and_all_or_nothing(pipeline, marketer, api):
    client = api(marketer)
    client.post("/api/v1/leads", LEAD, format="json")
    one = client.post("/api/v1/activities", activities("crm-1", ["webinar_attendance"])[0], format="json")
    assert one.status_code == 201
    assert one.json()["stored"] == 1
    batch = activities("crm-1", ["webinar_attendance", "ebook_download"])
    again = client.post("/api/v1/activities", batch, format="json").json()
    assert (again["stored"], again["duplicates"]) == (1, 1)
    assert Lead.objects.get(external_id="crm-1").status == "handed_off"
    bad = [
        *activities("crm-1", ["demo_request"], 1),
        {**batch[0], "external_id": "x9", "type": "podcast"},
        {**batch[0], "external_id": "x10", "occurred_at": "soon"},
    ]
    response = client.post("/api/v1/activities", bad, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"1.type", "2.occurred_at"}
    assert Activity.objects.count() == 2


def test_more_than_1000_activities_or_more_than_1_mib_is_refused(pipeline, marketer, api):
    client = api(marketer)
    client.post("/api/v1/leads", LEAD, format="json")
    many = activities("crm-1", ["email_click"] * 1001)
    assert client.post("/api/v1/activities", many, format="json").status_code == 400
    huge = json.dumps([{**many[0], "details": {"blob": "x" * (1024 * 1024)}}])
    response = client.post("/api/v1/activities", huge, content_type="application/json")
    assert response.status_code == 413
    assert "larger than 1024 KiB" in response.json()["detail"]


def test_actions_follow_the_state_machine_with_409s_naming_the_status(pipeline, rep, other_rep, manager, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    rep_api = api(rep)
    assert api(other_rep).post(f"/api/v1/leads/{lead.pk}/accept").status_code == 403
    accepted = rep_api.post(f"/api/v1/leads/{lead.pk}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    again = rep_api.post(f"/api/v1/leads/{lead.pk}/accept")
    assert again.status_code == 409
    assert again.json() == problem(
        409, "Cannot accept: the lead is accepted (in progress with sales).", lead_status="accepted"
    )
    assert (
        rep_api.post(
            f"/api/v1/leads/{lead.pk}/qualify",
            {"product_potential": True, "purchase_timeframe_months": 3},
            format="json",
        ).json()["sales_temperature"]
        == "hot"
    )
    assert (
        rep_api.post(
            f"/api/v1/leads/{lead.pk}/feedback", {"answers": {"talk": "Good"}}, format="json"
        ).status_code
        == 200
    )
    assert (
        api(manager)
        .post(f"/api/v1/leads/{lead.pk}/reassign", {"owner": "other_rep"}, format="json")
        .json()["owner"]
        == "other_rep"
    )
    assert (
        api(other_rep)
        .post(f"/api/v1/leads/{lead.pk}/close", {"outcome": "won"}, format="json")
        .json()["status"]
        == "won"
    )
    assert (
        rep_api.post(f"/api/v1/leads/{lead.pk}/close", {"outcome": "lost"}, format="json").status_code == 403
    )
    assert (
        api(other_rep).post(f"/api/v1/leads/{lead.pk}/close", {"outcome": "maybe"}, format="json").status_code
        == 400
    )


def test_reject_validates_the_reason_against_the_sla(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    bad = api(rep).post(f"/api/v1/leads/{lead.pk}/reject", {"reason": "bogus", "note": "x"}, format="json")
    assert bad.status_code == 400
    assert "reason" in bad.json()["errors"]
    ok = api(rep).post(
        f"/api/v1/leads/{lead.pk}/reject", {"reason": "no_budget", "note": "Q3"}, format="json"
    )
    assert ok.json()["status"] == "recycled"


def test_idempotency_key_replays_the_first_response_and_acts_once(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    client = api(rep)
    url = f"/api/v1/leads/{lead.pk}/accept"
    first = client.post(url, HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(url, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert lead.events.filter(kind="accepted").count() == 1
    reject = client.post(
        f"/api/v1/leads/{lead.pk}/reject",
        {"reason": "no_fit", "note": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert reject.status_code == 422
    # A refused first call is replayed as refused, not retried.
    conflict = client.post(url, HTTP_IDEMPOTENCY_KEY="k-2")
    assert conflict.status_code == 409
    assert client.post(url, HTTP_IDEMPOTENCY_KEY="k-2").json() == conflict.json()


def test_active_agreement_lists_every_clause(active, marketer, api):
    body = api(marketer).get("/api/v1/agreements/active").json()
    assert body["version"] == 1
    assert body["mql_threshold"] == "warm"
    assert body["pickup_deadlines_business_hours"] == {"hot": 1, "warm": 8}
    assert body["calendar"]["timezone"] == "Europe/Warsaw"
    assert {
        "code": "no_budget",
        "label": "No budget this year",
        "destination": "recycle",
        "recycle_days": 90,
    } in body["rejection_reasons"]
    assert body["icp_criteria"] == [{"field": "company_employees", "op": "gte", "value": 50}]
    assert api(marketer).get("/api/v1/agreements/active", {"agreement": "x"}).status_code == 400


def test_reports_live_and_stored(pipeline, marketer, api):
    client = api(marketer)
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    live = client.get("/api/v1/reports").json()
    assert live["handed_off"] == 1
    assert live["complete"] is False
    this_quarter = period_containing(timezone.now(), "quarter", "Europe/Warsaw").label
    assert client.get("/api/v1/reports", {"quarter": this_quarter}).status_code == 200
    for bad in (
        {"month": "2026-13"},
        {"month": "2026-10", "quarter": "2026-Q4"},
        {"quarter": "2026-10"},
        {"month": "0001-01"},
    ):
        assert client.get("/api/v1/reports", bad).status_code == 400, bad
    assert client.get("/api/v1/reports/monthly").json()["results"] == []


def test_throttling_per_token_gives_429(marketer, api, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"api": "3/min"})
    client = api(marketer)
    responses = [client.get("/api/v1/ping") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    # Each counted answer says the budget, so an integration can pace itself before the 429.
    assert [r["RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0]["RateLimit-Limit"] == "3"
    assert 0 < int(responses[0]["RateLimit-Reset"]) <= 60
    assert int(responses[3]["Retry-After"]) > 0
    assert api(marketer).get("/api/v1/ping").status_code == 200  # another token has its own budget
    cache.clear()


def test_an_address_that_keeps_sending_wrong_tokens_is_refused_for_a_while(marketer, api, settings):
    settings.API_AUTH_FAILURES = 5
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer sla_guess")
    codes = [guesser.get("/api/v1/ping").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    refused = guesser.get("/api/v1/ping")
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["detail"].startswith("Too many requests with a wrong token")
    # While it lasts, even a right token from that address waits; other addresses are not affected.
    right = api(marketer)
    right.defaults["REMOTE_ADDR"] = "203.0.113.7"
    assert right.get("/api/v1/ping").status_code == 429
    right.defaults["REMOTE_ADDR"] = "198.51.100.1"
    assert right.get("/api/v1/ping").status_code == 200


def test_the_browser_session_works_for_the_api_with_csrf(pipeline, rep, client):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(rep)
    assert browser.get(f"/api/v1/leads/{lead.pk}").status_code == 200
    assert browser.post(f"/api/v1/leads/{lead.pk}/accept").status_code == 403  # no CSRF token


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/leads/{lead_id}/accept:" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    # No asset from a CDN (the page's random CSRF token may spell "cdn" by chance, so look at addresses).
    assert not re.search(r"(src|href)=[\"'](https?:)?//", docs)
    assert not re.search(r"https?://[^\"' ]*cdn", docs.lower())


def test_api_token_page_shows_a_token_once_and_revokes(client, marketer):
    client.force_login(marketer)
    form = {"name": "Zapier", "scopes": ["read", "write"]}
    page = client.post("/integrations/api-tokens/", form, follow=True).content.decode()
    assert 'id="new-token"' in page
    token = ApiToken.objects.get(user=marketer)
    assert 'id="new-token"' not in client.get("/integrations/api-tokens/").content.decode()
    client.post(f"/integrations/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_lead_list_and_timeline_query_counts_do_not_grow_with_rows(pipeline, marketer, api):
    client = api(marketer)
    first = make_lead(external_id="Q0", now=timezone.now(), activities=WARM)
    client.get("/api/v1/ping")  # last_used_at is written once a minute: not part of what is counted
    one = _queries(client, "/api/v1/leads")
    events_one = _queries(client, f"/api/v1/leads/{first.pk}/events")
    for n in range(1, 20):
        make_lead(external_id=f"Q{n}", now=timezone.now(), activities=WARM)
    services_actor = services.Actor.of(first.owner)
    first = services.lead_accept(lead=first, actor=services_actor)
    assert _queries(client, "/api/v1/leads") == one, "a query per lead in the list"
    assert _queries(client, f"/api/v1/leads/{first.pk}/events") == events_one, "a query per event"


def _statements(call):
    """What `call` asks the database, less the savepoints around its transaction (BEGIN and COMMIT outside
    tests): (its result, the SQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = call()
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    return result, [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]


def test_an_upsert_asks_six_statements_for_a_new_lead_and_four_for_an_update(pipeline, marketer, api):
    client = api(marketer)
    client.post("/api/v1/leads", {**LEAD, "external_id": "first"}, format="json")  # the SLA parsed once
    created, sql = _statements(lambda: client.post("/api/v1/leads", LEAD, format="json"))
    assert created.status_code == 201, created.json()
    # The token with its user's roles; the lead looked up (locked), the default agreement with its version
    # in force, the INSERT with its verdict, the events, who subscribes to lead.created, and the tally of
    # one more lead in nurturing.
    assert len(sql) <= 7, "\n".join(sql)
    updated, sql = _statements(
        lambda: client.post("/api/v1/leads", {**LEAD, "job_title": "CEO"}, format="json")
    )
    assert updated.status_code == 200
    assert updated.json()["job_title"] == "CEO"
    # The token; the lead locked with its version in force, its activities, one UPDATE, one INSERT.
    assert len(sql) <= 5, "\n".join(sql)
    lead = Lead.objects.get(external_id=LEAD["external_id"])
    assert (lead.job_title, lead.explanation["version"], lead.icp_fit) == ("CEO", 1, True)
    steps = LeadEvent.objects.filter(lead=lead).order_by("at", "pk").values_list("kind", flat=True)
    assert list(steps) == ["created", "evaluated", "updated"]
    # The service alone, as the ingest jobs and the demo call it.
    actor = services.Actor.integration(marketer)
    (_, new), sql = _statements(lambda: services.lead_upsert(external_id="crm-9", data={}, actor=actor))
    assert new
    assert len(sql) <= 6, "\n".join(sql)
    (_, new), sql = _statements(
        lambda: services.lead_upsert(external_id="crm-9", data={"job_title": "CTO"}, actor=actor)
    )
    assert not new
    assert len(sql) <= 4, "\n".join(sql)


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/leads/99999999999999999999999", "/api/"])
def test_unknown_api_paths_are_json_404s_even_with_debug_on(marketer, api, settings, path):
    settings.DEBUG = True
    response = api(marketer).get(path)
    assert response.status_code == 404
    assert response.json() == problem(404, "Not found.")


def test_the_paths_end_without_a_slash_and_the_slashed_ones_still_answer(
    pipeline, marketer, admin_user, api, settings
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    created = api(marketer).post("/api/v1/leads", LEAD, format="json")
    assert created.status_code == 201, created.json()
    lead_id = created.json()["id"]
    # The API's first paths ended with a slash: a client written against them gets the same answers.
    for path in ("/api/v1/leads/", f"/api/v1/leads/{lead_id}/", f"/api/v1/leads/{lead_id}/events/"):
        assert api(marketer).get(path).json() == api(marketer).get(path.rstrip("/")).json(), path
    assert api(marketer).post("/api/v1/leads/", LEAD, format="json").status_code == 200
    hook = {"url": "http://127.0.0.1/in", "events": ["lead.closed"]}
    made = api(admin_user).post("/api/v1/webhooks/", hook, format="json")
    assert made.status_code == 201, made.json()
    assert api(admin_user).get(f"/api/v1/webhooks/{made.json()['id']}/deliveries/").status_code == 200


def test_a_page_path_missing_its_slash_is_named_not_redirected(client):
    response = client.get("/api/docs")
    assert response.status_code == 404
    assert response.json() == problem(404, "Not found. Did you mean /api/docs/ ?")


@pytest.mark.parametrize(
    ("since", "status"),
    [
        ("0343-08-31T13:59:38+20:03", 200),  # an offset Python takes and PostgreSQL refuses
        ("2026-01-01T00:00:00-23:59", 200),
        ("0001-01-01T00:00:00+23:00", 400),  # before the year 1 in UTC
        ("9999-12-31T23:59:59-23:00", 400),  # after the year 9999 in UTC
        ("2026-02-30T00:00:00Z", 400),
    ],
)
def test_updated_since_takes_any_offset_and_refuses_times_out_of_range(
    pipeline, marketer, api, since, status
):
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    response = api(marketer).get("/api/v1/leads", {"updated_since": since})
    assert response.status_code == status, response.json()
    if status == 400:
        assert "updated_since" in response.json()["errors"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        (
            "qualify",
            {"product_potential": True, "purchase_timeframe_months": -1},
            "purchase_timeframe_months",
        ),
        ("qualify", {"purchase_timeframe_months": 3}, "product_potential"),
        ("reassign", {"owner": "nobody"}, "owner"),
        ("feedback", {"answers": {"bogus": "x"}}, "bogus"),
        ("feedback", {"answers": "text"}, "answers"),
        ("close", {}, "outcome"),
    ],
)
def test_action_input_errors_are_400s_naming_the_field(pipeline, rep, manager, api, action, body, field):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    lead = services.lead_accept(lead=lead, actor=services.Actor.of(lead.owner))
    client = api(manager if action == "reassign" else lead.owner)
    response = client.post(f"/api/v1/leads/{lead.pk}/{action}", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).status == "accepted"  # nothing changed


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("qualify", {"product_potential": True, "purchase_timeframe_months": 3}),
        ("close", {"outcome": "won"}),
        ("feedback", {"answers": {"talk": "Good"}}),
    ],
)
def test_actions_on_a_lead_not_yet_accepted_are_409s(pipeline, api, action, body):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    response = api(lead.owner).post(f"/api/v1/leads/{lead.pk}/{action}", body, format="json")
    assert response.status_code == 409
    assert response.json()["lead_status"] == "handed_off"
    assert response.json()["detail"].endswith("the lead is awaiting pickup by sales.")


def test_without_an_sla_leads_are_refused_with_409_and_there_is_no_active_version(marketer, api):
    client = api(marketer)
    response = client.post("/api/v1/leads", LEAD, format="json")
    assert response.status_code == 409
    assert "No SLA exists yet" in response.json()["detail"]
    assert not Lead.objects.exists()
    missing = client.get("/api/v1/agreements/active")
    assert (missing.status_code, missing.json()) == (404, problem(404, "No SLA version is in force."))


def test_timeline_of_a_missing_lead_is_404(marketer, api):
    assert api(marketer).get("/api/v1/leads/424242/events").json() == problem(404, "Not found.")


def test_rule_errors_are_keyed_by_index_for_lists_and_by_field_for_one(pipeline, marketer, api):
    client = api(marketer)
    client.post("/api/v1/leads", LEAD, format="json")
    good, bad = activities("crm-1", ["webinar_attendance", "podcast"])
    one = client.post("/api/v1/activities", bad, format="json")
    assert one.status_code == 400
    assert set(one.json()["errors"]) == {"type"}
    listed = client.post("/api/v1/activities", [good, {**bad, "lead_external_id": "unknown"}], format="json")
    assert listed.status_code == 400
    assert listed.json()["errors"] == {
        "1.lead_external_id": ["No lead with this external_id; send the lead first."],
    }
    assert not Activity.objects.exists()


def test_a_body_that_is_not_json_is_415_and_a_wrong_method_405(pipeline, marketer, api):
    client = api(marketer)
    wrong_type = client.post(
        "/api/v1/leads", "external_id=x", content_type="application/x-www-form-urlencoded"
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json()["status"] == 415
    assert wrong_type["Content-Type"] == "application/problem+json"
    wrong_method = client.delete("/api/v1/leads")
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method["Allow"]
    assert not Lead.objects.exists()


def test_a_bad_quarter_is_reported_under_quarter(pipeline, marketer, api):
    for quarter in ("0001-Q1", "2026-Q9"):
        response = api(marketer).get("/api/v1/reports", {"quarter": quarter})
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"quarter"}, quarter


def test_a_chunked_body_is_read_and_held_to_the_1_mib_limit(pipeline, marketer, api):
    """As a WSGI server hands a chunked request over: de-chunked, with no Content-Length."""
    client = api(marketer)

    def chunked(body: bytes) -> dict:
        # A server's stream gives what it has, however much is asked for (the test client's would not).
        return {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}

    body = json.dumps(LEAD).encode()
    created = client.generic("POST", "/api/v1/leads", body, content_type="application/json", **chunked(body))
    assert created.status_code == 201, created.content
    assert created.json()["company"]["employees"] == 120
    big = b'{"external_id": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    refused = client.generic("POST", "/api/v1/leads", big, content_type="application/json", **chunked(big))
    assert refused.status_code == 413
    assert Lead.objects.count() == 1
