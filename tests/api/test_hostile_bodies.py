"""Hostile bodies: no request body gives a 500.

Deep nesting, huge and non-finite numbers, encodings other than UTF-8, lone surrogates and NUL characters
are a 400 problem on every write operation of the API (enumerated from the OpenAPI schema), with or
without an Idempotency-Key, with or without a Content-Length, on the documented path and on its slashed
twin; and nothing is stored. The browser's main forms answer odd encodings with a 4xx or an inline error.

Run it on PostgreSQL too (DATABASE_URL=postgres://...): it refuses NUL in text and jsonb, which SQLite
stores.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from agreements.models import AgreementSection
from integrations.models import IdempotencyRecord, Outbox, WebhookSubscription
from leads.models import Activity, Lead, LeadEvent
from reporting.models import Simulation
from reporting.simulations import simulation_request
from slaportal.problems import CONTENT_TYPE as PROBLEM
from slaportal.roles import Role
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db

# Building the document touches no database.
SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
PREFIX = SCHEMA["servers"][0]["url"]  # /api/v1


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as the schema writes it, such as /leads/{lead_id}/reject
    documented_body: bool  # the schema gives it a requestBody
    idempotent: bool  # it takes an Idempotency-Key

    @property
    def body(self) -> bool:
        """It reads the body: its own, or (a lead action without one) to hash it for an Idempotency-Key,
        which it reads with or without a key, so that a key changes nothing of the answer."""
        return self.documented_body or self.idempotent

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def write_operations() -> list[Operation]:
    operations = []
    for path, item in SCHEMA["paths"].items():
        for method in ("post", "put", "patch"):
            if method in item:
                operation = item[method]
                keyed = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
                operations.append(Operation(method, path, "requestBody" in operation, keyed))
    return operations


OPERATIONS = write_operations()

# A body each operation would take, and where in it a number and a string go. HOLE marks the place a
# case's raw JSON text is put.
HOLE = "\ue000hole"
BODIES: dict[str, dict[str, Any]] = {
    "POST /leads": {
        "external_id": "hostile-1",
        "email": "h@example.com",
        "company": {"name": "Acme", "employees": 120, "annual_revenue": 1000000},
    },
    "POST /activities": {
        "lead_external_id": "target",
        "type": "webinar_attendance",
        "occurred_at": "OCCURRED_AT",
        "external_id": "hostile-activity",
        "details": {"campaign": "spring"},
    },
    "POST /leads/{lead_id}/reject": {"reason": "no_fit", "note": "Not our market."},
    "POST /leads/{lead_id}/qualify": {"product_potential": True, "purchase_timeframe_months": 3},
    "POST /leads/{lead_id}/close": {"outcome": "won"},
    "POST /leads/{lead_id}/reassign": {"owner": "other_rep"},
    "POST /leads/{lead_id}/feedback": {"answers": {"talk": "Went well."}},
    "POST /webhooks": {"url": "https://hooks.example.com/new", "events": ["lead.closed"]},
    "PUT /webhooks/{id}": {
        "url": "https://hooks.example.com/x",
        "events": ["lead.closed"],
        "is_active": True,
    },
    "PATCH /webhooks/{id}": {"is_active": False, "url": "https://hooks.example.com/x"},
    "POST /agreements/{agreement_id}/simulations": {
        "changes": {"mql_threshold": "hot"},
        "from": "2026-01-01",
    },
}
NUMBER_FIELDS = {
    "POST /leads": ["company.employees", "company.annual_revenue"],
    "POST /activities": ["details.campaign"],
    "POST /leads/{lead_id}/qualify": ["purchase_timeframe_months"],
    "POST /agreements/{agreement_id}/simulations": ["version", "changes.pickup_deadlines_business_hours.hot"],
}
STRING_FIELDS = {
    "POST /leads": ["external_id", "company.name"],
    "POST /activities": ["external_id", "details.campaign"],
    "POST /leads/{lead_id}/reject": ["note", "reason"],
    "POST /leads/{lead_id}/close": ["outcome"],
    "POST /leads/{lead_id}/reassign": ["owner"],
    "POST /leads/{lead_id}/feedback": ["answers.talk"],
    "POST /webhooks": ["url"],
    "PUT /webhooks/{id}": ["url"],
    "PATCH /webhooks/{id}": ["url"],
    "POST /agreements/{agreement_id}/simulations": ["changes.mql_threshold", "from"],
}


def valid_body(operation: Operation) -> dict[str, Any]:
    body = json.loads(json.dumps(BODIES.get(str(operation), {})))
    if "occurred_at" in body:
        body["occurred_at"] = (timezone.now() - timedelta(hours=1)).isoformat()
    return body


def body_with(operation: Operation, field: str, raw: bytes) -> bytes:
    """The operation's body with `raw` (JSON text, as sent) at `field` (dotted)."""
    body = valid_body(operation)
    *parents, last = field.split(".")
    node = body
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = HOLE
    return json.dumps(body).encode().replace(json.dumps(HOLE).encode(), raw)


def fields_of(operation: Operation, kind: dict[str, list[str]]) -> list[str]:
    # An operation without such a field gets the value in a member of its own ("x"): it must be refused
    # before the serializer names the member unknown.
    return kind.get(str(operation), ["x"])


JSON = "application/json"
UTF16 = "application/json; charset=utf-16"
SAMPLE = json.dumps({"external_id": "enc-1", "note": "Kraków"})

# Whole bodies: (raw, Content-Type, what the message says). Their error is the body's: path "".
WHOLE_BODIES = {
    "10000-nested-arrays": (b"[" * 10000 + b"]" * 10000, JSON, "deep"),
    "5000-nested-objects": (b'{"a":' * 5000 + b"1" + b"}" * 5000, JSON, "deep"),
    "5000-digit-number": (b"1" * 5000, JSON, "characters"),
    "1e999999": (b"1e999999", JSON, "finite"),
    "-1e999999": (b"-1e999999", JSON, "finite"),
    "NaN": (b"NaN", JSON, "finite"),
    "Infinity": (b"Infinity", JSON, "finite"),
    "-Infinity": (b"-Infinity", JSON, "finite"),
    "utf-16-bom-declared": (SAMPLE.encode("utf-16"), UTF16, "UTF-8"),
    "utf-16-bom-undeclared": (SAMPLE.encode("utf-16"), JSON, "UTF-8"),
    "utf-16le-declared": (SAMPLE.encode("utf-16-le"), UTF16, "UTF-8"),
    "utf-16le-undeclared": (SAMPLE.encode("utf-16-le"), JSON, "UTF-8"),
    "utf-16be-undeclared": (SAMPLE.encode("utf-16-be"), JSON, "UTF-8"),
    "utf-8-bom-declared": (SAMPLE.encode("utf-8-sig"), f"{JSON}; charset=utf-8", "byte order mark"),
    "utf-8-bom-undeclared": (SAMPLE.encode("utf-8-sig"), JSON, "byte order mark"),
    "latin-1-declared": (SAMPLE.encode("latin-1"), f"{JSON}; charset=iso-8859-1", "UTF-8"),
    "bz2-declared": (SAMPLE.encode(), f"{JSON}; charset=bz2_codec", "UTF-8"),
    "latin-1-byte": (b'{"note": "Krak\xf3w"}', JSON, "UTF-8"),
    "encoded-surrogate": (b'{"note": "\xed\xa0\x80"}', JSON, "UTF-8"),
    "overlong-nul": (b'{"note": "\xc0\x80"}', JSON, "UTF-8"),
    "truncated-sequence": (b'{"note": "\xe2\x82"}', JSON, "UTF-8"),
}
# Values put at a number field (a string field where the operation has none) or a string field:
# (fields, raw, what the message says). Their error is the field's.
NUMBERS = NUMBER_FIELDS | {k: v for k, v in STRING_FIELDS.items() if k not in NUMBER_FIELDS}
FIELD_VALUES = {
    "5000-digit-number": (NUMBERS, b"1" * 5000, "characters"),
    "1e999999": (NUMBERS, b"1e999999", "finite"),
    "-1e999999": (NUMBERS, b"-1e999999", "finite"),
    "NaN": (NUMBERS, b"NaN", "finite"),
    "Infinity": (NUMBERS, b"Infinity", "finite"),
    "-Infinity": (NUMBERS, b"-Infinity", "finite"),
    "lone-high-surrogate": (STRING_FIELDS, rb'"\ud800"', "Surrogate"),
    "lone-low-surrogate": (STRING_FIELDS, rb'"a\udfffb"', "Surrogate"),
    "nul": (STRING_FIELDS, rb'"\u0000"', "Null characters"),
    "nul-inside": (STRING_FIELDS, rb'"ab\u0000cd"', "Null characters"),
}


@pytest.fixture
def target(pipeline, admin_user, other_rep, api):
    """A token of an admin acting with every role (erase too), a lead it owns that is waiting for it and a
    webhook subscription: a body that were not refused would get as far as the database."""
    admin_user.groups.add(*[Group.objects.get_or_create(name=role.value)[0] for role in Role])
    lead = make_lead(external_id="target", now=timezone.now(), activities=WARM)
    Lead.objects.filter(pk=lead.pk).update(owner=admin_user)
    hook = WebhookSubscription.objects.create(
        url="https://hooks.example.com/x", secret="s" * 16, events=["lead.closed"]
    )
    client = api(admin_user, scopes=["read", "write", "erase"])
    client.raise_request_exception = False  # a 500 is an answer to report, not an exception to stop at
    simulation = simulation_request(agreement=pipeline, user=admin_user, changes={"mql_threshold": "hot"})
    return {
        "client": client,
        "lead_id": lead.pk,
        "id": hook.pk,
        "agreement_id": pipeline.pk,
        "simulation_id": simulation.pk,
    }


def stored() -> dict[str, Any]:
    """What a request could have written."""
    return {
        "leads": list(Lead.objects.order_by("pk").values()),
        "events": LeadEvent.objects.count(),
        "activities": list(Activity.objects.order_by("pk").values()),
        "idempotency keys": IdempotencyRecord.objects.count(),
        "webhooks": list(WebhookSubscription.objects.order_by("pk").values()),
        "deliveries": Outbox.objects.count(),
        "simulations": list(Simulation.objects.order_by("pk").values()),
    }


def send(client, operation: Operation, ids: dict[str, Any], body: bytes, content_type: str, how: str):
    path = PREFIX + operation.path.format(**{k: v for k, v in ids.items() if k != "client"})
    extra: dict[str, Any] = {}
    if how == "slash":
        path += "/"
    elif how == "idempotency-key":
        extra["HTTP_IDEMPOTENCY_KEY"] = f"key-{len(body)}"
    elif how == "chunked":
        # As a WSGI server hands a chunked request over: de-chunked, with no Content-Length, read by
        # ApiBodyLimitMiddleware.
        extra = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}
    return client.generic(operation.method.upper(), path, body, content_type=content_type, **extra)


def ways(operation: Operation) -> list[str]:
    return ["plain", "slash", "chunked"] + (["idempotency-key"] if operation.idempotent else [])


def refusal_problems(response, field: str, says: str) -> str | None:
    """None if `response` is the 400 problem that names `field` with a message saying `says`."""
    if response.status_code != 400 or response.get("Content-Type") != PROBLEM:
        return f"{response.status_code} {response.get('Content-Type')}: {response.content[:300]!r}"
    body = response.json()
    if body.get("detail") != "Invalid input.":
        return f"detail {body.get('detail')!r}"
    messages = body.get("errors", {}).get(field)
    if not messages or not any(says in message for message in messages):
        return f"errors {body.get('errors')!r}, wanted {field!r} saying {says!r}"
    return None


def check(target, operation: Operation, field: str, raw: bytes, content_type: str, says: str) -> list[str]:
    failures = []
    for how in ways(operation):
        before = stored()
        response = send(target["client"], operation, target, raw, content_type, how)
        if not operation.body:
            # It reads no body (a webhook's test or rotate-secret): whatever is sent is ignored, never a 500.
            if response.status_code >= 500:
                failures.append(f"{operation} ({how}): {response.status_code}")
            continue
        problem = refusal_problems(response, field, says)
        if problem is None and stored() != before:
            problem = "a refused request stored something"
        if problem:
            failures.append(f"{operation} ({how}): {problem}")
    return failures


def test_every_write_operation_with_a_body_has_one_here():
    assert {str(o) for o in OPERATIONS if o.documented_body} == set(BODIES)
    assert {str(o) for o in OPERATIONS if o.idempotent} >= {"POST /leads/{lead_id}/accept"}


@pytest.mark.parametrize("case", list(WHOLE_BODIES))
def test_a_hostile_body_is_a_400_problem_on_every_write_operation(target, case):
    raw, content_type, says = WHOLE_BODIES[case]
    failures = []
    for operation in OPERATIONS:
        failures += check(target, operation, "", raw, content_type, says)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", list(FIELD_VALUES))
def test_a_hostile_value_is_a_400_naming_its_field_on_every_write_operation(target, case):
    fields, raw, says = FIELD_VALUES[case]
    failures = []
    for operation in OPERATIONS:
        for field in fields_of(operation, fields):
            body = body_with(operation, field, raw)
            failures += check(target, operation, field, body, JSON, says)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("details", "path", "says"),
    [
        ({"campaign": "\x00"}, "1.details.campaign", "Null characters"),
        ({"nested": [{"deep": "a\x00b"}]}, "1.details.nested.0.deep", "Null characters"),
        ({"\x00key": "x"}, "1.details", "Null characters"),
        ({"campaign": "\ud800"}, "1.details.campaign", "Surrogate"),
        ({"\udc00": "x"}, "1.details", "Surrogate"),
    ],
)
def test_nul_and_surrogates_in_activity_details_are_refused_by_their_path(
    pipeline, marketer, api, details, path, says
):
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    at = (timezone.now() - timedelta(hours=1)).isoformat()
    items = [
        {"lead_external_id": "L1", "type": "ebook_download", "occurred_at": at, "external_id": f"a{n}"}
        for n in range(2)
    ]
    items[1]["details"] = details
    # json.dumps writes both as \u escapes, as a client's JSON library would.
    body = json.dumps(items)
    client = api(marketer)
    client.raise_request_exception = False
    before = stored()
    response = client.post("/api/v1/activities", body, content_type=JSON)
    assert refusal_problems(response, path, says) is None, response.content
    assert stored() == before


def test_the_issue_s_three_requests_are_400s(pipeline, marketer, rep, api):
    """The report: a 20 KB body of 10,000 nested brackets on the paths with a slash, as sent."""
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    Lead.objects.filter(pk=lead.pk).update(owner=rep)
    brackets = b"[" * 10000 + b"]" * 10000
    for user, path in [
        (marketer, "/api/v1/leads/"),
        (marketer, "/api/v1/activities/"),
        (rep, f"/api/v1/leads/{lead.pk}/reject/"),
    ]:
        client = api(user)
        client.raise_request_exception = False
        for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "k1"}):
            before = stored()
            response = client.post(path, brackets, content_type=JSON, **headers)
            assert refusal_problems(response, "", "deep") is None, (path, response.content[:300])
            assert stored() == before
    assert Lead.objects.get(pk=lead.pk).status == "handed_off"


def test_a_body_within_the_limits_is_still_taken(pipeline, marketer, api):
    """The limits leave room: nesting as deep as a CRM's details go, long decimals, every character."""
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    client = api(marketer)
    nested: Any = "bottom"
    for _ in range(15):  # with the item and its details: 32 deep, as deep as a body may go
        nested = {"level": [nested]}
    at = (timezone.now() - timedelta(hours=1)).isoformat()
    item = {
        "lead_external_id": "L1",
        "type": "ebook_download",
        "occurred_at": at,
        "external_id": "ok-1",
        "details": {"nested": nested, "ratio": 0.30000000000000004, "big": 10**30, "tiny": 1e-300},
    }
    response = client.post("/api/v1/activities", json.dumps([item]), content_type=JSON)
    assert response.status_code == 400  # in a list: one level more
    assert "deep" in response.json()["errors"][""][0]
    response = client.post("/api/v1/activities", json.dumps(item), content_type=JSON)
    assert response.status_code == 201, response.content
    assert Activity.objects.get(external_id="ok-1").details["big"] == 10**30
    lead = {
        "external_id": "Kraków-😀",
        "company": {"name": "Zürich \U0001f600", "annual_revenue": 1234567.89, "employees": 7},
    }
    response = client.post("/api/v1/leads", json.dumps(lead), content_type=f"{JSON}; charset=UTF-8")
    assert response.status_code == 201, response.content
    assert response.json()["external_id"] == "Kraków-😀"
    assert response.json()["company"]["name"] == "Zürich \U0001f600"


def test_a_control_character_in_an_idempotency_key_is_a_400(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    Lead.objects.filter(pk=lead.pk).update(owner=rep)
    client = api(rep)
    client.raise_request_exception = False
    response = client.post(
        f"/api/v1/leads/{lead.pk}/accept", {}, format="json", HTTP_IDEMPOTENCY_KEY="a\x00b"
    )
    assert response.status_code == 400, response.content
    assert "Idempotency-Key" in response.json()["errors"]
    assert not IdempotencyRecord.objects.exists()
    assert Lead.objects.get(pk=lead.pk).status == "handed_off"


# ---------------------------------------------------------------------------------------------------------
# The browser's forms. A browser posts UTF-8; a crafted request may declare another charset, which Django
# refuses (400) as soon as anything reads the form: the CSRF check does, and so does the error page.


def csrf_client(user=None) -> tuple[Client, str]:
    """A client that checks CSRF as production does, and the token to post with it."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    client.get(reverse("login"))
    return client, client.cookies["csrftoken"].value


def form_post(client: Client, path: str, fields: bytes, content_type: str, token: str):
    body = b"csrfmiddlewaretoken=" + token.encode() + b"&" + fields
    return client.generic("POST", path, body, content_type=content_type)


FORM = "application/x-www-form-urlencoded"
ODD_CHARSETS = [f"{FORM}; charset=iso-8859-1", f"{FORM}; charset=utf-16", f"{FORM}; charset=rot13"]


@pytest.fixture
def reject_target(pipeline, rep):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    Lead.objects.filter(pk=lead.pk).update(owner=rep)
    return lead


@pytest.mark.parametrize("content_type", ODD_CHARSETS)
def test_the_main_forms_answer_a_form_in_another_charset_with_a_400(
    reject_target, rep, draft, marketer, content_type
):
    client, token = csrf_client()
    response = form_post(client, reverse("login"), b"username=rep&password=x", content_type, token)
    assert response.status_code == 400
    client, token = csrf_client(rep)
    path = reverse("leads:reject", args=[reject_target.pk])
    response = form_post(client, path, b"reason=no_fit&note=Not+ours", content_type, token)
    assert response.status_code == 400
    assert Lead.objects.get(pk=reject_target.pk).status == "handed_off"
    client, token = csrf_client(marketer)
    path = reverse("agreements:section_edit", args=[draft.agreement_id, 1, "terms"])
    before = draft.sections.get(key="terms").data
    response = form_post(client, path, b"marketing_lead_definition=x", content_type, token)
    assert response.status_code == 400
    assert draft.sections.get(key="terms").data == before
    # A page that does not exist is still a 404: its page checks the token too, so it reads the form.
    client, token = csrf_client()
    assert form_post(client, "/no-such-page/", b"a=b", content_type, token).status_code == 404


def test_the_login_form_answers_nul_and_invalid_utf8_inline(marketer):
    client, token = csrf_client()
    for fields in (b"username=mar%00keter&password=x", b"username=marketer&password=%00", b"username=%FF%FE"):
        response = form_post(client, reverse("login"), fields, FORM, token)
        assert response.status_code == 200  # the form again, with its error
        assert b"errorlist" in response.content or b"error" in response.content
        assert "_auth_user_id" not in client.session
    response = form_post(client, reverse("login"), b"username=\xff\xc0&password=\xed\xa0\x80", FORM, token)
    assert response.status_code == 200


def test_the_reject_form_answers_nul_inline_and_stores_nothing(reject_target, rep):
    client, token = csrf_client(rep)
    path = reverse("leads:reject", args=[reject_target.pk])
    for fields in (b"reason=no_fit&note=a%00b", b"reason=no%00fit&note=Not+ours"):
        events = LeadEvent.objects.count()
        response = form_post(client, path, fields, FORM, token)
        assert response.status_code == 422
        assert Lead.objects.get(pk=reject_target.pk).status == "handed_off"
        assert LeadEvent.objects.count() == events
    response = form_post(client, path, b"reason=no_fit&note=a%00b", FORM, token)
    assert b"Null characters are not allowed." in response.content


def test_the_reject_form_takes_invalid_utf8_as_replacement_characters(reject_target, rep):
    # Django decodes a form leniently: a %-escape that is not UTF-8 becomes U+FFFD, and a body with a raw
    # byte that is not is read as Latin-1. What is stored is text, whatever was sent.
    client, token = csrf_client(rep)
    path = reverse("leads:reject", args=[reject_target.pk])
    response = form_post(client, path, b"reason=no_fit&note=Krak%F3w+\xff", FORM, token)
    assert response.status_code == 302
    lead = Lead.objects.get(pk=reject_target.pk)
    assert lead.status != "handed_off"
    assert lead.events.get(kind="rejected").details["note"] == "Krak\ufffdw \xff"


def test_the_section_editor_answers_nul_inline_and_saves_nothing(draft, marketer):
    client, token = csrf_client(marketer)
    path = reverse("agreements:section_edit", args=[draft.agreement_id, 1, "terms"])
    before = AgreementSection.objects.get(version__agreement=draft.agreement, key="terms").data
    fields = (
        b"marketing_lead_definition=a%00b&sales_lead_definition=ok&prose=x%00"
        b"&glossary-TOTAL_FORMS=1&glossary-INITIAL_FORMS=0&glossary-0-term=t%00&glossary-0-definition=d"
    )
    response = form_post(client, path, fields, FORM, token)
    assert response.status_code == 422
    assert b"Null characters are not allowed." in response.content
    response = form_post(client, path, fields.replace(b"%00", b"%FF\xfe"), FORM, token)
    assert response.status_code in (200, 302, 422)
    if response.status_code == 422:
        assert AgreementSection.objects.get(version__agreement=draft.agreement, key="terms").data == before
