"""Schemathesis over the whole OpenAPI schema: no input gives a 500 or a response the schema does not
describe."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from slaportal.wsgi import application

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
def token(pipeline, admin_user, marketer):
    """An admin acting with every role, so that operations run instead of stopping at a 403."""
    from django.contrib.auth.models import Group

    from leads.tokens import token_create
    from slaportal.roles import Role
    from tests.factories import WARM, make_lead

    admin_user.groups.add(*[Group.objects.get_or_create(name=r.value)[0] for r in Role])
    make_lead(
        external_id="fuzz-1", now=__import__("django.utils.timezone").utils.timezone.now(), activities=WARM
    )
    return token_create(user=admin_user, name="fuzz")[1]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, token, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
