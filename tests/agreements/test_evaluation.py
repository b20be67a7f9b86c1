from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from agreements.clauses import TEMPERATURES, parse_clauses
from agreements.defaults import demo_sections
from agreements.evaluation import ActivitySnapshot, LeadSnapshot, evaluate, sales_temperature

CLAUSES = parse_clauses({key: s["data"] for key, s in demo_sections().items()})
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TYPES = CLAUSES.temperature.activity_types


def acts(*types: str, days_ago: int = 1) -> tuple[ActivitySnapshot, ...]:
    return tuple(ActivitySnapshot(t, NOW - timedelta(days=days_ago)) for t in types)


def lead(employees: int | None = 120, activities: tuple = ()) -> LeadSnapshot:
    return LeadSnapshot(company_employees=employees, activities=activities)


def test_seed_example_temperatures():
    assert (
        evaluate(lead(activities=acts("webinar_registration")), CLAUSES, NOW).marketing_temperature == "cold"
    )
    warm = acts("webinar_attendance", "ebook_download")
    assert evaluate(lead(activities=warm), CLAUSES, NOW).marketing_temperature == "warm"
    hot = acts("webinar_attendance", "webinar_attendance", "ebook_download")
    assert evaluate(lead(activities=hot), CLAUSES, NOW).marketing_temperature == "hot"
    assert evaluate(lead(), CLAUSES, NOW).marketing_temperature is None


def test_warm_icp_fit_lead_is_transferred_with_the_warm_deadline_and_explains_why():
    verdict = evaluate(lead(activities=acts("webinar_attendance", "ebook_download")), CLAUSES, NOW)
    assert (verdict.icp_fit, verdict.is_mql, verdict.transfer, verdict.pickup_hours) == (True, True, True, 8)
    assert verdict.deciding_clause == "handoff.pickup.warm"
    by_clause = {c.clause: c for c in verdict.checks}
    assert by_clause["icp.1"].matched
    assert by_clause["icp.1"].detail == "number of employees: 120"
    assert by_clause["temperature.marketing.warm"].detail == "webinar attendance 1/1, e-book download 1/1"
    assert not by_clause["temperature.marketing.hot"].matched


def test_mql_outside_the_icp_is_not_transferred_and_says_so():
    verdict = evaluate(
        lead(employees=10, activities=acts("webinar_attendance", "ebook_download")), CLAUSES, NOW
    )
    assert verdict.is_mql
    assert not verdict.icp_fit
    assert not verdict.transfer
    assert verdict.deciding_clause == "handoff.icp"


def test_unknown_company_size_does_not_fit():
    verdict = evaluate(lead(employees=None), CLAUSES, NOW)
    assert not verdict.icp_fit
    assert verdict.checks[0].detail == "number of employees: not known"


def test_activities_older_than_the_window_do_not_count():
    old = acts("webinar_attendance", "ebook_download", days_ago=91)
    assert evaluate(lead(activities=old), CLAUSES, NOW).marketing_temperature is None
    edge = acts("webinar_attendance", "ebook_download", days_ago=89)
    assert evaluate(lead(activities=edge), CLAUSES, NOW).marketing_temperature == "warm"


def test_activities_of_types_outside_the_sla_are_ignored():
    assert evaluate(lead(activities=acts("podcast", "podcast")), CLAUSES, NOW).marketing_temperature is None


def test_sales_temperature_buckets():
    rules = CLAUSES.temperature
    assert sales_temperature(product_potential=True, purchase_timeframe_months=5, rules=rules)[0] == "hot"
    assert sales_temperature(product_potential=True, purchase_timeframe_months=6, rules=rules)[0] == "warm"
    assert sales_temperature(product_potential=True, purchase_timeframe_months=12, rules=rules)[0] == "warm"
    assert sales_temperature(product_potential=True, purchase_timeframe_months=13, rules=rules)[0] == "cold"
    level, check = sales_temperature(product_potential=False, purchase_timeframe_months=1, rules=rules)
    assert (level, check.clause) == ("cold", "temperature.sales.cold")


activity_lists = st.lists(
    st.tuples(st.sampled_from((*TYPES, "other")), st.integers(min_value=0, max_value=120)), max_size=30
)


def rank(t: str | None) -> int:
    return -1 if t is None else TEMPERATURES.index(t)


def snapshot(items, employees=100) -> LeadSnapshot:
    return lead(employees, tuple(ActivitySnapshot(t, NOW - timedelta(days=d, minutes=1)) for t, d in items))


@given(activity_lists, activity_lists, st.integers(min_value=0, max_value=10_000))
def test_more_engagement_never_lowers_the_temperature(base, extra, employees):
    before = evaluate(snapshot(base, employees), CLAUSES, NOW)
    after = evaluate(snapshot(base + extra, employees), CLAUSES, NOW)
    assert rank(after.marketing_temperature) >= rank(before.marketing_temperature)
    assert after.is_mql or not before.is_mql


@given(activity_lists, st.integers(min_value=1, max_value=400))
def test_time_passing_without_engagement_never_raises_the_temperature(items, days_later):
    now = evaluate(snapshot(items), CLAUSES, NOW)
    later = evaluate(snapshot(items), CLAUSES, NOW + timedelta(days=days_later))
    assert rank(later.marketing_temperature) <= rank(now.marketing_temperature)


@given(activity_lists, st.one_of(st.none(), st.integers(min_value=0, max_value=100_000)))
def test_verdict_is_consistent(items, employees):
    verdict = evaluate(snapshot(items, employees), CLAUSES, NOW)
    assert verdict.icp_fit == all(c.matched for c in verdict.checks if c.clause.startswith("icp."))
    assert verdict.is_mql == (rank(verdict.marketing_temperature) >= rank("warm"))
    assert verdict.transfer == (verdict.is_mql and verdict.icp_fit)
    assert (verdict.pickup_hours is not None) == verdict.transfer
    assert all(c.clause for c in verdict.checks)
