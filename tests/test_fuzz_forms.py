"""Arbitrary form input never gives a 500, and an invalid section edit saves nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db
SECTION_FIELDS = {
    "terms": [
        "marketing_lead_definition",
        "sales_lead_definition",
        "glossary-0-term",
        "glossary-0-definition",
    ],
    "icp": ["criteria-0-field", "criteria-0-op", "criteria-0-value"],
    "temperature": [
        "activity_types",
        "window_days",
        "owner",
        "sales_hot_below_months",
        "sales_warm_up_to_months",
        "rule_hot_webinar_attendance",
    ],
    "goals": ["mqls_icp_per_month", "pickup_within_sla_pct", "acceptance_rate_pct", "deals_won_per_month"],
    "handoff": [
        "mql_threshold",
        "pickup_hours_warm",
        "timezone",
        "working_days",
        "workday_start",
        "workday_end",
        "holiday_country",
        "holiday_subdivision",
        "rejection_reasons-0-code",
        "rejection_reasons-0-destination",
        "rejection_reasons-0-recycle_days",
    ],
    "reporting": ["cadence", "recipients"],
    "feedback": ["questions-0-code", "questions-0-text"],
}
MANAGEMENT = ["TOTAL_FORMS", "INITIAL_FORMS"]
junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", "-1", "0", "1e400", "NaN", "25:61", "9" * 30, "warm", "nurture", "PL", "\x00", "<b>"]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(SECTION_FIELDS)), values=st.lists(junk, min_size=15, max_size=15))
def test_section_editor_never_fails_and_saves_only_valid_sections(client, draft, marketer, key, values):
    client.force_login(marketer)
    before = draft.sections.get(key=key).data
    fields = SECTION_FIELDS[key] + [
        f"{prefix}-{m}"
        for prefix in ("criteria", "glossary", "rejection_reasons", "questions")
        for m in MANAGEMENT
    ]
    payload = dict(zip(fields, values, strict=False))
    response = client.post(
        reverse("agreements:section_edit", args=[draft.agreement_id, 1, key]), payload, HTTP_HX_REQUEST="true"
    )
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert draft.sections.get(key=key).data == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["accept", "reject", "qualify", "close", "feedback", "reassign"]),
    values=st.lists(junk, min_size=4, max_size=4),
)
def test_lead_actions_never_fail(client, pipeline, rep, manager, action, values):
    lead = make_lead(external_id=f"F{timezone.now().timestamp()}", now=timezone.now(), activities=WARM)
    client.force_login(manager if action == "reassign" else lead.owner or rep)
    names = ["reason", "note", "product_potential", "purchase_timeframe_months", "outcome", "owner", "talk"]
    payload = dict(zip(names, values * 2, strict=False))
    response = client.post(reverse(f"leads:{action}", args=[lead.pk]), payload, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 302, 403, 409, 422)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(junk, min_size=7, max_size=7))
def test_list_and_dashboard_filters_never_fail(client, pipeline, manager, values):
    client.force_login(manager)
    names = ["q", "status", "marketing_temperature", "icp_fit", "owner", "source", "page"]
    assert client.get(reverse("leads:list"), dict(zip(names, values, strict=True))).status_code in (200, 400)
    names = ["period", "agreement", "team", "a", "b", "x", "y"]
    assert client.get(reverse("reporting:dashboard"), dict(zip(names, values, strict=True))).status_code in (
        200,
        400,
    )
    assert client.get(
        reverse("agreements:compare", args=[pipeline.pk]), {"a": values[0], "b": values[1]}
    ).status_code in (200, 400)
