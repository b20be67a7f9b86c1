"""Who may do what: every browser view and every API endpoint × every persona, from one table.

The lead in each row belongs to `rep`; `other_rep` is a rep of the same team, so the rep columns are "own
lead" and "someone else's lead". `test_the_table_names_every_route` walks the URL configuration, so a
new route without a row (and so without a decision on who may use it) fails the suite.

The rules (leads.permissions, slaportal.roles): marketing and managers see every lead, a rep only their
own; only the owner picks a lead up, qualifies it or answers feedback; the owner or a manager closes it;
a manager reassigns; marketing (and integrations acting for it) send leads and activities; marketing
edits drafts; each side's approver signs for that side; everyone with a role reads the SLA and the
reports; admins manage webhooks and the Django admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from agreements import services as agreement_services
from integrations.models import WebhookSubscription
from integrations.tokens import scopes_allowed, token_create
from leads import services
from leads.models import Lead
from leads.services import Actor
from reporting.periods import Period
from reporting.services import report_build
from reporting.simulations import simulation_request
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db

PERSONAS = [
    "marketer",
    "marketing_approver",
    "rep",  # owns the lead
    "other_rep",  # a rep of the same team; not their lead
    "manager",
    "admin_user",
    "norole",
    "anonymous",
]
ROLES = {"marketer", "marketing_approver", "rep", "other_rep", "manager", "admin_user"}
MARKETING = {"marketer", "marketing_approver", "admin_user"}
ALL_LEADS = {"marketer", "marketing_approver", "manager", "admin_user"}
INBOX = {"rep", "other_rep", "manager"}
MANAGERS = {"manager", "admin_user"}
SIGNED_IN = ROLES | {"norole"}


def browser(ok: int, allowed: set[str], *, others: int = 403) -> dict[str, int]:
    """A page: `ok` for `allowed`, `others` for the rest, the login page (302) for anonymous."""
    return {p: 302 if p == "anonymous" else ok if p in allowed else others for p in PERSONAS}


def api(ok: int, allowed: set[str], *, others: int = 403) -> dict[str, int]:
    """An endpoint: `ok` for `allowed`, `others` for the rest, 401 for anonymous."""
    return {p: 401 if p == "anonymous" else ok if p in allowed else others for p in PERSONAS}


def everyone(ok: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, ok)


@dataclass
class Row:
    route: str  # the URL name, namespaced
    method: str
    path: str  # with {lead}, {agreement}, {report}, {token}, {webhook}, {simulation}
    expected: dict[str, int]
    lead: str = "handed_off"  # the lead's status: handed_off, accepted, or rejected by the rep
    version: str = "active"  # active; draft (v2 being edited); in_review (v2 submitted)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


A = "/agreements/{agreement}"
V2 = A + "/v2"
L = "/leads/{lead}"
API = "/api/v1"

TABLE: dict[str, Row] = {
    # Project pages.
    "home": Row("home", "get", "/", browser(200, SIGNED_IN)),
    "settings": Row("preferences", "get", "/settings/", browser(200, SIGNED_IN)),
    "settings save": Row(
        "preferences", "post", "/settings/", browser(302, SIGNED_IN), body={"time_zone": "UTC"}
    ),
    "notices": Row("notices", "get", "/notices/", browser(200, SIGNED_IN)),
    "notices read": Row("notices_read", "post", "/notices/read/", browser(302, SIGNED_IN)),
    # Nobody's notice 987654 (each person opens only their own: tests/leads/test_work.py).
    "open a notice": Row("notice_open", "get", "/notices/987654/", browser(404, SIGNED_IN)),
    "health": Row("healthz", "get", "/healthz/", everyone(200)),
    "login page": Row("login", "get", "/login/", everyone(200)),
    "logout": Row("logout", "post", "/logout/", everyone(302)),
    "admin": Row("admin:index", "get", "/admin/", {**everyone(302), "admin_user": 200}),
    # The SLA.
    "agreements": Row("agreements:list", "get", "/agreements/", browser(200, ROLES)),
    # The agreement's address leads to the version in force.
    "document": Row("agreements:document", "get", A + "/", browser(302, ROLES)),
    "history": Row("agreements:history", "get", A + "/history/", browser(200, ROLES)),
    "compare": Row("agreements:compare", "get", A + "/compare/", browser(200, ROLES)),
    "version": Row("agreements:version", "get", A + "/v1/", browser(200, ROLES)),
    "section": Row(
        "agreements:section",
        "get",
        A + "/v1/sections/icp/",
        browser(200, ROLES),
        headers={"HX-Request": "true"},
    ),
    "new draft": Row("agreements:draft_create", "post", A + "/drafts/", browser(302, MARKETING), body={}),
    "section editor": Row(
        "agreements:section_edit", "get", V2 + "/sections/icp/edit/", browser(200, MARKETING), version="draft"
    ),
    "section save": Row(
        "agreements:section_edit",
        "post",
        V2 + "/sections/icp/edit/",
        browser(200, MARKETING),
        version="draft",
        body={
            "prose": "",
            "criteria-TOTAL_FORMS": "1",
            "criteria-INITIAL_FORMS": "1",
            "criteria-0-field": "company_employees",
            "criteria-0-op": "gte",
            "criteria-0-value": "50",
        },
        headers={"HX-Request": "true"},
    ),
    "submit": Row("agreements:submit", "post", V2 + "/submit/", browser(302, MARKETING), version="draft"),
    "sign for marketing": Row(
        "agreements:sign",
        "post",
        V2 + "/sign/",
        browser(302, {"marketing_approver"}),
        version="in_review",
        body={"side": "marketing", "confirm": "on"},
    ),
    "sign for sales": Row(
        "agreements:sign",
        "post",
        V2 + "/sign/",
        browser(302, {"manager"}),
        version="in_review",
        body={"side": "sales", "confirm": "on"},
    ),
    "send back": Row(
        "agreements:return",
        "post",
        V2 + "/return/",
        browser(302, {"marketing_approver", "manager"}),
        version="in_review",
        body={"comment": "Pickup times are too short."},
    ),
    # Leads in the browser.
    "inbox": Row("leads:inbox", "get", "/leads/inbox/", browser(200, INBOX)),
    # A rep's list is their own history.
    "lead list": Row("leads:list", "get", "/leads/", browser(200, ALL_LEADS | INBOX)),
    "lead list CSV": Row("leads:list_csv", "get", "/leads/export.csv", browser(200, ALL_LEADS | INBOX)),
    "bulk reassign": Row(
        "leads:bulk_reassign", "post", "/leads/reassign/", browser(302, MANAGERS), body={"owner": "other_rep"}
    ),
    "lead page": Row("leads:detail", "get", L + "/", browser(200, ALL_LEADS | {"rep"})),
    "accept": Row("leads:accept", "post", L + "/accept/", browser(302, {"rep"})),
    "reject form": Row("leads:reject", "get", L + "/reject/", browser(200, {"rep"})),
    "reject": Row(
        "leads:reject",
        "post",
        L + "/reject/",
        browser(302, {"rep"}),
        body={"reason": "no_fit", "note": "Too small"},
    ),
    # Only the rep who rejected it; a manager sees the lead and hears why not (409).
    "undo reject": Row(
        "leads:undo_reject",
        "post",
        L + "/reject/undo/",
        {**browser(302, {"rep"}), "manager": 409},
        lead="rejected",
    ),
    "reassign": Row(
        "leads:reassign", "post", L + "/reassign/", browser(302, MANAGERS), body={"owner": "other_rep"}
    ),
    "qualify": Row(
        "leads:qualify",
        "post",
        L + "/qualify/",
        browser(302, {"rep"}),
        lead="accepted",
        body={"product_potential": "yes", "purchase_timeframe_months": "3"},
    ),
    "close": Row(
        "leads:close",
        "post",
        L + "/close/",
        browser(302, {"rep"} | MANAGERS),
        lead="accepted",
        body={"outcome": "won", "confirm": "on"},
    ),
    # Erasure is for admins; other roles may not erase even the leads they see.
    "erase": Row("leads:erase", "post", L + "/erase/", browser(302, {"admin_user"}), body={"confirm": "on"}),
    "feedback": Row(
        "leads:feedback",
        "post",
        L + "/feedback/",
        browser(302, {"rep"}),
        lead="accepted",
        body={"talk": "Good"},
    ),
    "my API tokens": Row("integrations:api_tokens", "get", "/integrations/api-tokens/", browser(200, ROLES)),
    "new API token": Row(
        "integrations:api_tokens",
        "post",
        "/integrations/api-tokens/",
        browser(302, ROLES),  # Post/Redirect/Get: the new token is shown on the page it redirects to
        body={"name": "CRM", "scopes": ["read"]},
    ),
    # The token is the rep's: nobody else can see it to revoke it.
    "revoke API token": Row(
        "integrations:api_token_revoke",
        "post",
        "/integrations/api-tokens/{token}/revoke/",
        {**browser(302, {"rep"}, others=404), "norole": 403},  # no role, no tokens page at all
    ),
    # Reports.
    "dashboard": Row("reporting:dashboard", "get", "/reporting/", browser(200, ROLES)),
    "reports": Row("reporting:reports", "get", "/reporting/reports/", browser(200, ROLES)),
    "report": Row("reporting:report", "get", "/reporting/reports/{report}/", browser(200, ROLES)),
    "report CSV": Row("reporting:report_csv", "get", "/reporting/reports/{report}/csv/", browser(200, ROLES)),
    # The API.
    "api ping": Row("api:ping", "get", API + "/ping", api(200, SIGNED_IN)),
    "api lead list": Row("api:leads", "get", API + "/leads", api(200, ROLES)),
    "api upsert": Row(
        "api:leads", "post", API + "/leads", api(201, MARKETING), body={"external_id": "new-1"}
    ),
    "api lead": Row("api:lead", "get", API + "/leads/{lead}", api(200, ALL_LEADS | {"rep"})),
    "api timeline": Row(
        "api:lead-events", "get", API + "/leads/{lead}/events", api(200, ALL_LEADS | {"rep"})
    ),
    "api activities": Row(
        "api:activities",
        "post",
        API + "/activities",
        api(201, MARKETING),
        body={
            "lead_external_id": "P1",
            "type": "webinar_attendance",
            "occurred_at": "{now}",
            "external_id": "a",
        },
    ),
    "api accept": Row("api:lead-accept", "post", API + "/leads/{lead}/accept", api(200, {"rep"})),
    "api erase": Row(
        "api:lead-erase", "post", API + "/leads/{lead}/erase", api(200, {"admin_user"}, others=403)
    ),
    "api reject": Row(
        "api:lead-reject",
        "post",
        API + "/leads/{lead}/reject",
        api(200, {"rep"}),
        body={"reason": "no_fit", "note": "Too small"},
    ),
    "api qualify": Row(
        "api:lead-qualify",
        "post",
        API + "/leads/{lead}/qualify",
        api(200, {"rep"}),
        lead="accepted",
        body={"product_potential": True, "purchase_timeframe_months": 3},
    ),
    "api close": Row(
        "api:lead-close",
        "post",
        API + "/leads/{lead}/close",
        api(200, {"rep"} | MANAGERS),
        lead="accepted",
        body={"outcome": "won"},
    ),
    "api reassign": Row(
        "api:lead-reassign",
        "post",
        API + "/leads/{lead}/reassign",
        api(200, MANAGERS),
        lead="accepted",
        body={"owner": "other_rep"},
    ),
    "api feedback": Row(
        "api:lead-feedback",
        "post",
        API + "/leads/{lead}/feedback",
        api(200, {"rep"}),
        lead="accepted",
        body={"answers": {"talk": "Good"}},
    ),
    "api agreement": Row("api:agreement-active", "get", API + "/agreements/active", api(200, ROLES)),
    "api figures": Row("api:reports", "get", API + "/reports", api(200, ROLES)),
    "api stored reports": Row("api:reports-monthly", "get", API + "/reports/monthly", api(200, ROLES)),
    "api webhooks": Row("api:webhook-list", "get", API + "/webhooks", api(200, {"admin_user"})),
    "api new webhook": Row(
        "api:webhook-list",
        "post",
        API + "/webhooks",
        api(201, {"admin_user"}),
        body={"url": "https://93.184.215.14/hook", "events": ["lead.accepted"]},
    ),
    "api test webhook": Row(
        "api:webhook-send-test", "post", API + "/webhooks/{webhook}/test", api(202, {"admin_user"})
    ),
    "api webhook deliveries": Row(
        "api:webhook-deliveries", "get", API + "/webhooks/{webhook}/deliveries", api(200, {"admin_user"})
    ),
    "api rotate webhook secret": Row(
        "api:webhook-rotate-secret",
        "post",
        API + "/webhooks/{webhook}/rotate-secret",
        api(200, {"admin_user"}),
    ),
    "api webhook": Row("api:webhook-detail", "get", API + "/webhooks/{webhook}", api(200, {"admin_user"})),
    "api webhook change": Row(
        "api:webhook-detail",
        "patch",
        API + "/webhooks/{webhook}",
        api(200, {"admin_user"}),
        body={"is_active": False},
    ),
    "api webhook delete": Row(
        "api:webhook-detail", "delete", API + "/webhooks/{webhook}", api(204, {"admin_user"})
    ),
    "version simulation": Row(
        "reporting:version_simulation",
        "get",
        "/reporting/versions/{version_id}/simulation/",
        browser(200, ALL_LEADS),
        version="draft",
    ),
    "simulate": Row(
        "reporting:simulate",
        "post",
        "/reporting/versions/{version_id}/simulate/",
        browser(302, MARKETING),
        version="draft",
        body={"months": "3"},
    ),
    "simulation": Row(
        "reporting:simulation", "get", "/reporting/simulations/{simulation}/", browser(200, ALL_LEADS)
    ),
    "simulation cancel": Row(
        "reporting:simulation_cancel",
        "post",
        "/reporting/simulations/{simulation}/cancel/",
        browser(302, MARKETING),
    ),
    "api simulate": Row(
        "api:agreement-simulations",
        "post",
        API + "/agreements/{agreement}/simulations",
        api(202, MARKETING),
        body={"changes": {"mql_threshold": "hot"}},
    ),
    "api simulation": Row("api:simulation", "get", API + "/simulations/{simulation}", api(200, ALL_LEADS)),
    "api cancel simulation": Row(
        "api:simulation-cancel", "post", API + "/simulations/{simulation}/cancel", api(200, MARKETING)
    ),
    # The contract itself is public, as integrators read it before they hold a token.
    "api schema": Row("api:schema", "get", "/api/schema/", everyone(200)),
    "api docs": Row("api:docs", "get", "/api/docs/", everyone(200)),
}

# Routes with no row, and why.
NOT_IN_THE_TABLE = {
    "admin:*": "Django's own admin; its index is in the table, and Django guards the rest with is_staff",
}


def routes(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= routes(pattern, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(prefix + pattern.name)
    return names


def test_the_table_names_every_route():
    named = {name for name in routes() if not name.startswith("admin:") or name == "admin:index"}
    # The router's format-suffix duplicates and the API root are not separate endpoints.
    named -= {"api:api-root"}
    assert named - {row.route for row in TABLE.values()} == set(), "a route nobody decided about"
    assert {row.route for row in TABLE.values()} - named == set(), "a row for a route that does not exist"


@pytest.fixture
def world(request, pipeline, rep, other_rep, manager, marketer, marketing_approver):
    """Builds what a row needs: the rep's lead in its status, the SLA versions, a report, a token, a hook."""

    def build(row: Row) -> dict[str, Any]:
        admin_user = request.getfixturevalue("admin_user")
        admin_user.is_staff = True  # as the admin role is set up for the Django admin
        admin_user.save()
        lead = make_lead(external_id="P1", now=timezone.now(), activities=WARM)
        Lead.objects.filter(pk=lead.pk).update(owner=rep)
        lead.refresh_from_db()
        assert lead.status == "handed_off"
        if row.lead == "accepted":
            lead = services.lead_accept(lead=lead, actor=Actor.of(rep))
        if row.lead == "rejected":
            lead = services.lead_reject(lead=lead, actor=Actor.of(rep), reason="no_fit", note="Too small")
        if row.version in ("draft", "in_review"):
            draft = agreement_services.version_create_draft(agreement=pipeline, actor=marketer)
            assert draft.number == 2
            if row.version == "in_review":
                # An unchanged copy of the version in force has nothing to sign: change a section first.
                agreement_services.version_update_section(
                    version=draft,
                    key="icp",
                    data={"criteria": [{"field": "company_employees", "op": "gte", "value": 100}]},
                    prose="",
                    actor=marketer,
                )
                agreement_services.version_submit(version=draft, actor=marketer)
        report, _ = report_build(agreement=pipeline, period=Period("month", 2026, 10, "Europe/Warsaw"))
        token, _ = token_create(user=rep, name="rep's CRM")
        webhook = WebhookSubscription.objects.create(
            url="https://crm.example.com/hook", events=["lead.accepted"]
        )
        simulation = simulation_request(
            agreement=pipeline, user=marketer, changes={"icp_fit_required": False}
        )
        return {
            "version_id": pipeline.versions.order_by("-number").values_list("pk", flat=True).first(),
            "simulation": simulation.pk,
            "lead": lead.pk,
            "agreement": pipeline.pk,
            "report": report.pk,
            "token": token.pk,
            "webhook": webhook.pk,
        }

    return build


def client_for(persona: str, request: pytest.FixtureRequest, is_api: bool) -> Client:
    if persona == "anonymous":
        return APIClient() if is_api else Client()
    user = request.getfixturevalue(persona)
    if is_api:
        # Every scope the user may hold: the table is about roles; scopes have their own tests.
        _, raw = token_create(user=user, name="test", scopes=scopes_allowed(user))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", list(TABLE))
def test_who_may_do_what(name, persona, world, request):
    row = TABLE[name]
    ids = world(row)
    is_api = row.path.startswith("/api/v1")
    client = client_for(persona, request, is_api)
    path = row.path.format(**ids)
    body = row.body
    if isinstance(body, dict) and body.get("occurred_at") == "{now}":
        body = {**body, "occurred_at": timezone.now().isoformat()}
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in row.headers.items()}
    if is_api:
        response = getattr(client, row.method)(path, body, format="json", **headers)
    else:
        response = getattr(client, row.method)(path, body or {}, **headers)
    expected = row.expected[persona]
    in_place = row.headers.get("HX-Request") == "true"
    if in_place and persona == "anonymous" and expected == 302:
        # htmx would follow a redirect and swap the sign-in form into the page: it is told to load the
        # sign-in page as a whole instead.
        assert response.status_code == 200, (name, response.status_code)
        assert response["HX-Redirect"].startswith("/login/?next=")
        return
    assert response.status_code == expected, (name, persona, response.status_code, response.content[:300])
    if is_api and expected in (401, 403):
        assert response["Content-Type"] == "application/problem+json"
        assert set(response.json()) == {"type", "title", "status", "detail"}
        assert response.json()["status"] == expected
    if not is_api and persona == "anonymous" and expected == 302 and row.route not in ("home", "logout"):
        assert response["Location"].startswith("/login/") or response["Location"].startswith("/admin/login/")
