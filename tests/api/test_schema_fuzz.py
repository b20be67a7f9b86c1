"""Schemathesis over the whole OpenAPI schema: no input gives a 500 or a response the schema does not
describe."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.models import WebhookSubscription
from integrations.tokens import token_create
from leads.models import Lead
from reporting.simulations import simulation_request
from slaportal.roles import Role
from slaportal.wsgi import application
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db
# Generating the schema touches no database, so it is loaded once, at import.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _requests_keep_the_test_connection():
    # Django's test client does this too: each request's end would otherwise close the database
    # connection, and with it the test's transaction (PostgreSQL refuses every query after that).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def target(pipeline, admin_user):
    """A token of an admin acting with every role, the lead it owns and a webhook subscription: generated
    calls reach real objects (validation, transitions, 409s) instead of stopping at a 404 or a 403."""
    admin_user.groups.add(*[Group.objects.get_or_create(name=role.value)[0] for role in Role])
    lead = make_lead(external_id="fuzz-1", now=timezone.now(), activities=WARM)
    Lead.objects.filter(pk=lead.pk).update(owner=admin_user)
    hook = WebhookSubscription.objects.create(
        url="https://hooks.example.com/x", secret="s" * 16, events=["lead.closed"]
    )
    simulation = simulation_request(agreement=pipeline, user=admin_user, changes={"mql_threshold": "hot"})
    return {
        "token": token_create(user=admin_user, name="fuzz")[1],
        "lead_id": lead.pk,
        "id": hook.pk,
        "agreement_id": pipeline.pk,
        "simulation_id": simulation.pk,
    }


# In the suite the run is the same every time (a red CI is a bug anyone can reproduce); `make fuzz` sets
# FUZZ_EXAMPLES and explores new random inputs.
DEEP = "FUZZ_EXAMPLES" in os.environ


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    derandomize=not DEEP,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, target, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]  # no DNS look-up for the fuzzed subscription
    for name in ("lead_id", "id", "agreement_id", "simulation_id"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = target[name]
    case.call_and_validate(headers={"Authorization": f"Bearer {target['token']}"}, checks=CHECKS)


# Bodies no generator writes: nesting past the interpreter's recursion limit (each was a 500, a
# RecursionError in the JSON parser) and a number past any field's size. Every operation that takes a body
# answers them with a 400 its schema describes. (tests/api/test_hostile_bodies.py has the rest: encodings,
# NUL, surrogates, inf, with an Idempotency-Key and chunked.)
HOSTILE_BODIES = {
    "10,000 nested brackets": b"[" * 10000 + b"]" * 10000,
    "5,000 nested objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "a 5,000-digit number": b"1" * 5000,
}
WITH_A_BODY = [result.ok() for result in schema.get_all_operations() if result.ok().body]


@pytest.mark.parametrize("body", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
def test_hostile_bodies_are_400s_the_schema_describes(body, target, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    for operation in WITH_A_BODY:
        names = {p.name for p in operation.path_parameters}
        case = operation.Case(
            path_parameters={name: target[name] for name in names}, media_type="application/json"
        )
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {target['token']}", "Content-Type": "application/json"},
            checks=CHECKS,
            data=body,
        )
        assert response.status_code == 400, (operation.label, response.text[:300])
