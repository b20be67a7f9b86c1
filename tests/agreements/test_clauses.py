from __future__ import annotations

import copy

import pytest

from agreements.clauses import ClauseError, parse_clauses, parse_section, sentences, to_data
from agreements.defaults import demo_sections


def data(key: str) -> dict:
    return copy.deepcopy(demo_sections()[key]["data"])


@pytest.mark.parametrize("key", ["terms", "icp", "temperature", "goals", "handoff", "reporting", "feedback"])
def test_demo_sections_parse_and_round_trip(key):
    parsed = parse_section(key, data(key))
    assert parse_section(key, to_data(parsed)) == parsed


def test_whole_demo_document_parses():
    clauses = parse_clauses({key: s["data"] for key, s in demo_sections().items()})
    assert clauses.handoff.mql_threshold == "warm"
    assert clauses.temperature.window_days == 90


def errors_of(key: str, payload: object) -> dict[str, list[str]]:
    with pytest.raises(ClauseError) as exc:
        parse_section(key, payload)
    return exc.value.errors


def test_icp_criterion_on_unknown_field_is_refused():
    errors = errors_of("icp", {"criteria": [{"field": "wants_to_buy", "op": "in", "value": ["yes"]}]})
    assert "criteria.0.field" in errors
    assert "measurable" in errors["criteria.0.field"][0]


@pytest.mark.parametrize(
    ("criterion", "path"),
    [
        ({"field": "company_employees", "op": "gte", "value": "fifty"}, "criteria.0.value"),
        ({"field": "company_employees", "op": "in", "value": ["50"]}, "criteria.0.op"),
        ({"field": "company_industry", "op": "gte", "value": 3}, "criteria.0.op"),
        ({"field": "company_employees", "op": "between", "value": [500, 50]}, "criteria.0.value"),
        ({"field": "company_country", "op": "in", "value": ["Poland"]}, "criteria.0.value"),
        ({"field": "company_employees", "op": "about", "value": 5}, "criteria.0.op"),
        ({"field": "job_title", "op": "in", "value": []}, "criteria.0.value"),
        ({"field": "company_employees", "op": "gte", "value": float("nan")}, "criteria.0.value"),
    ],
)
def test_bad_icp_criteria_name_the_field(criterion, path):
    assert path in errors_of("icp", {"criteria": [criterion]})


def test_icp_needs_at_least_one_criterion():
    assert "criteria" in errors_of("icp", {"criteria": []})


def test_temperature_rule_must_use_listed_activity_types():
    payload = data("temperature")
    payload["marketing_rules"]["hot"] = {"podcast_listen": 1}
    assert "marketing_rules.hot" in errors_of("temperature", payload)


def test_temperature_sales_buckets_must_be_ordered():
    payload = data("temperature")
    payload["sales_warm_up_to_months"] = 3
    assert "sales_warm_up_to_months" in errors_of("temperature", payload)


def test_handoff_needs_a_deadline_for_every_temperature_that_is_handed_off():
    payload = data("handoff")
    payload["mql_threshold"] = "cold"
    assert "pickup_hours.cold" in errors_of("handoff", payload)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"working_days": []}, "working_days"),
        ({"workday_start": "17:00", "workday_end": "09:00"}, "workday_end"),
        ({"workday_start": "9am"}, "workday_start"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"rejection_reasons": []}, "rejection_reasons"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_handoff_fields_are_named(change, path):
    payload = data("handoff") | change
    assert path in errors_of("handoff", payload)


def test_recycle_reason_needs_days_and_codes_are_unique():
    payload = data("handoff")
    payload["rejection_reasons"] = [
        {"code": "later", "label": "Later", "destination": "recycle", "recycle_days": None},
        {"code": "later", "label": "Again", "destination": "nurture", "recycle_days": None},
    ]
    errors = errors_of("handoff", payload)
    assert "rejection_reasons.0.recycle_days" in errors
    assert "rejection_reasons.1.code" in errors


@pytest.mark.parametrize("payload", [None, [], "text", 42, {"criteria": "x"}, {"criteria": [None]}])
def test_malformed_payloads_give_errors_not_crashes(payload):
    with pytest.raises(ClauseError):
        parse_section("icp", payload)


def test_sentences_read_like_the_seed_article():
    text = dict(sentences("temperature", parse_section("temperature", data("temperature"))))
    assert text["temperature.marketing.hot"] == (
        "A lead is hot when, within 90 days, it attended 2 webinars and downloaded 1 e-book."
    )
    handoff = dict(sentences("handoff", parse_section("handoff", data("handoff"))))
    assert handoff["handoff.pickup.hot"] == "Sales picks up a hot lead within 1 business hour."
    assert "Monday–Friday, 09:00–17:00 Europe/Warsaw" in handoff["handoff.calendar"]
    assert handoff["handoff.rejection.no_budget"].endswith("is recycled to nurture after 90 days.")
    icp = dict(sentences("icp", parse_section("icp", data("icp"))))
    assert icp["icp.1"] == "The number of employees is ≥ 50."
