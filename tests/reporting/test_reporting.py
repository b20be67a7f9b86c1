from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations import outbox
from leads import services
from leads.models import Lead
from leads.services import Actor, escalation
from reporting import selectors
from reporting.models import MonthlyReport
from reporting.periods import Period, ended_periods, parse_period
from reporting.services import report_build, report_csv, reports_build_due
from slaportal.roles import Role
from tests.factories import HOT, WARM, UserFactory, make_lead, sales_team_members

WAW = ZoneInfo("Europe/Warsaw")
# October 2026's story, looked at from late November: the clock is pinned there for everything it touches.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime(2026, 11, 24, 12, 0, tzinfo=WAW))]
OCTOBER = Period("month", 2026, 10, "Europe/Warsaw")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 10, day, hour, 0, tzinfo=WAW)


@pytest.fixture
def october(pipeline, rep, other_rep, manager):
    """Fixed data, October 2026 (Mon 5th onwards), figures computed by hand below."""
    pipeline.versions.update(effective_from=at(1))  # the SLA was in force all month
    a = make_lead(external_id="A", now=at(5), activities=WARM)  # -> rep
    b = make_lead(external_id="B", now=at(5), activities=HOT)  # -> other_rep, hot
    c = make_lead(external_id="C", now=at(6), activities=WARM)  # -> rep
    d = make_lead(external_id="D", now=at(6), activities=WARM)  # -> other_rep
    make_lead(external_id="E", now=at(7), employees=10, activities=WARM)  # MQL, no ICP fit
    make_lead(external_id="F", now=at(7), activities=("webinar_registration",))  # cold, not an MQL
    # A: accepted after 30 business minutes, qualified hot, won.
    a = services.lead_accept(lead=a, actor=Actor.of(rep), now=at(5, 10) + timedelta(minutes=30))
    a = services.lead_qualify(
        lead=a, actor=Actor.of(rep), product_potential=True, purchase_timeframe_months=3, now=at(8)
    )
    services.lead_close(lead=a, actor=Actor.of(rep), outcome="won", now=at(20))
    # B: accepted after 2 business hours (hot deadline is 1 hour: late), qualified warm, lost.
    b = services.lead_accept(lead=b, actor=Actor.of(other_rep), now=at(5, 12))
    b = services.lead_qualify(
        lead=b, actor=Actor.of(other_rep), product_potential=True, purchase_timeframe_months=9, now=at(9)
    )
    services.lead_close(lead=b, actor=Actor.of(other_rep), outcome="lost", now=at(21))
    # C: rejected as not ready after 60 business minutes.
    services.lead_reject(lead=c, actor=Actor.of(rep), reason="not_ready", note="later", now=at(6, 11))
    # D: missed its deadline (8 business hours from Tue 6th 10:00 = Wed 7th 10:00): breach, goes to rep.
    escalation.leads_escalate_overdue(now=at(7, 12))
    return {"a": a, "b": b, "c": c, "d": d}


def test_figures_match_hand_computed_values(october, pipeline):
    f = selectors.report_figures(agreements=[pipeline], period=OCTOBER, now=at(31, 23))
    assert (f["mqls"], f["mqls_icp_match"]) == (5, 4)
    assert (f["handed_off"], f["hot"]) == (4, 1)  # the escalation of D is not a new transfer
    assert (f["accepted"], f["rejected"], f["rejected_by_reason"]) == (2, 1, {"not_ready": 1})
    # Missed deadlines, by deadline: D's first (recorded by the sweep), B's (picked up an hour late, before
    # any sweep) and D's second (rep's, due Thu 8th, still open on the 31st with no sweep since).
    assert (f["qualified"], f["qualified_hot"], f["won"], f["lost"], f["breaches"]) == (2, 1, 1, 1, 3)
    assert (f["nurturing"], f["in_progress"]) == (3, 0)  # C (rejected), E, F; D is still awaiting pickup
    # Pickups: A in 30 min (in time), B in 120 min (late, hot = 1h), C in 60 min (in time).
    assert f["pickup_within_sla_pct"] == pytest.approx(66.7)
    assert f["median_pickup_business_minutes"] == pytest.approx(60)
    assert f["p90_pickup_business_minutes"] == pytest.approx(108)
    assert f["conversion"] == {
        "mql_to_accepted_pct": 40.0,
        "accepted_to_qualified_pct": 100.0,
        "qualified_to_won_pct": 50.0,
    }
    assert f["temperature_matrix"]["warm"] == {
        "cold": 0,
        "warm": 0,
        "hot": 1,
    }  # A: warm at handoff, hot for sales
    assert f["temperature_matrix"]["hot"] == {"cold": 0, "warm": 1, "hot": 0}  # B
    reps = {r["rep"]: r for r in f["per_rep"]}
    assert (reps["rep"]["pickups"], reps["rep"]["within_sla_pct"], reps["rep"]["breaches"]) == (2, 100.0, 1)
    assert (
        reps["other_rep"]["pickups"],
        reps["other_rep"]["within_sla_pct"],
        reps["other_rep"]["breaches"],
    ) == (1, 0.0, 2)
    goals = {g["clause"]: g for g in f["goals"]}
    assert goals["v1 §goals.marketing.mqls"]["target"] == 20
    assert goals["v1 §goals.marketing.mqls"]["met"] is False
    assert goals["v1 §goals.sales.acceptance"]["actual"] == pytest.approx(66.7)
    assert goals["v1 §goals.sales.acceptance"]["met"] is True


def test_status_at_the_end_of_a_past_period_comes_from_the_events(october, pipeline, rep):
    # In November D is accepted: October's report still counts it as it was on 31 October.
    d = Lead.objects.get(pk=october["d"].pk)  # escalated to rep in October
    lead = services.lead_accept(lead=d, actor=Actor.of(rep), now=datetime(2026, 11, 2, 10, tzinfo=WAW))
    assert lead.status == "accepted"
    october_figures = selectors.report_figures(
        agreements=[pipeline], period=OCTOBER, now=datetime(2026, 11, 5, tzinfo=WAW)
    )
    november = selectors.report_figures(
        agreements=[pipeline], period=OCTOBER.next(), now=datetime(2026, 11, 5, tzinfo=WAW)
    )
    assert october_figures["in_progress"] == 0
    assert november["in_progress"] == 1


def test_quarter_figures_cover_three_months(october, pipeline):
    q4 = parse_period("2026-Q4", "Europe/Warsaw")
    f = selectors.report_figures(agreements=[pipeline], period=q4, now=datetime(2027, 1, 2, tzinfo=WAW))
    assert f["handed_off"] == 4
    assert {g["clause"]: g["target"] for g in f["goals"]}["v1 §goals.marketing.mqls"] == 60


def test_build_due_catches_up_every_ended_month_once_and_emails_recipients(
    october, pipeline, marketer, time_machine
):
    time_machine.move_to(datetime(2027, 1, 3, 0, 30, tzinfo=WAW))  # the daily build, after two quiet months
    built = reports_build_due()
    assert [r.period for r in built] == ["2026-10", "2026-11", "2026-12"]
    assert reports_build_due() == []
    report = MonthlyReport.objects.get(period="2026-10")
    assert report.figures["handed_off"] == 4
    assert report.sla_version.number == 1
    outbox.outbox_deliver()
    october_mail = next(m for m in mail.outbox if "2026-10" in m.subject)
    assert october_mail.to == [marketer.email]  # the SLA's reporting recipient in tests/factories
    assert "handed off to sales: 4 (1 hot)" in october_mail.body
    assert f"/reporting/reports/{report.pk}/" in october_mail.body


def test_an_unfinished_month_is_not_built(pipeline):
    with pytest.raises(Exception, match="has not ended yet"):
        call_command("build_monthly_reports", "--month", "2999-01")
    with pytest.raises(Exception, match="is not a month"):
        call_command("build_monthly_reports", "--month", "October")


def test_build_monthly_reports_command_for_one_month(october, capsys):
    call_command("build_monthly_reports", "--month", "2026-10")
    call_command("build_monthly_reports", "--month", "2026-10")
    out = capsys.readouterr().out
    assert "2026-10: built" in out
    assert "2026-10: already built" in out
    assert MonthlyReport.objects.count() == 1


def test_csv_has_every_figure(october, pipeline):
    report, _ = report_build(agreement=pipeline, period=OCTOBER, now=at(31, 23))
    rows = {
        (r["section"], r["name"]): r["value"] for r in csv.DictReader(io.StringIO(report_csv(report.figures)))
    }
    assert rows[("figures", "handed_off")] == "4"
    assert rows[("rejected_by_reason", "not_ready")] == "1"
    assert rows[("temperature_matrix", "marketing hot / sales warm")] == "1"


# Text a person may type that a spreadsheet would run as a formula (OWASP's CSV injection list).
FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1")


def csv_rows(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert {len(row) for row in rows} == {3}  # quoting kept every cell whole
    return rows


def test_csv_download_neutralises_formulas_in_reps_usernames(client, pipeline, manager):
    pipeline.versions.update(effective_from=at(1))
    pipeline.sales_team.memberships.update(is_available=False)  # only the reps below get the leads
    reps = [UserFactory(username=name, roles=[Role.SALES_REP]) for name in FORMULAS]
    sales_team_members(pipeline, *reps)
    for n in range(len(reps)):
        lead = make_lead(external_id=f"EVIL{n}", now=at(5 + n), activities=WARM)
        services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=at(5 + n, 11))
    report, _ = report_build(agreement=pipeline, period=OCTOBER, now=at(31, 23))
    client.force_login(manager)
    rows = csv_rows(client.get(reverse("reporting:report_csv", args=[report.pk])).content.decode())
    names = {name for section, name, _ in rows if section == "rep"}
    assert {name.split(": ")[0] for name in names} == {"'" + username for username in FORMULAS}
    # The figures are written as they are: numbers stay numbers, and the cells no one typed are untouched.
    reps = {rep["rep"]: rep for rep in report.figures["per_rep"]}
    for section, name, value in rows:
        if section == "rep":
            username, key = name[1:].rsplit(": ", 1)
            assert value == str(reps[username][key] if reps[username][key] is not None else "")
    values = {(section, name): value for section, name, value in rows}
    assert values[("figures", "handed_off")] == str(len(FORMULAS))
    assert values[("figures", "pickup_within_sla_pct")] == "100.0"
    assert values[("period", "period")] == "2026-10"


def test_csv_neutralises_every_text_cell_and_no_number(october, pipeline):
    report, _ = report_build(agreement=pipeline, period=OCTOBER, now=at(31, 23))
    # Reason codes and goal names are checked or fixed today; the CSV must not rely on it.
    goal = {"department": "=1+1", "goal": "x", "target": 5, "actual": -1.5}
    figures = {
        **report.figures,
        "rejected_by_reason": {name: n for n, name in enumerate(FORMULAS)},
        "goals": [goal],
        "breaches": -3,  # cannot happen, but a negative figure must stay a number, not gain a quote
        "per_rep": [],
    }
    rows = csv_rows(report_csv(figures))
    reasons = [(name, value) for section, name, value in rows if section == "rejected_by_reason"]
    assert reasons == [("'" + name, str(n)) for n, name in enumerate(FORMULAS)]
    assert ["goal", "'=1+1: x (target 5)", "-1.5"] in rows
    assert ["figures", "breaches", "-3"] in rows
    assert ["figures", "handed_off", "4"] in rows


def test_ended_periods_are_bounded_and_ordered():
    periods = ended_periods(
        since=datetime(2025, 1, 15, tzinfo=WAW),
        now=datetime(2026, 3, 2, tzinfo=WAW),
        kind="quarter",
        tz="Europe/Warsaw",
    )
    assert [p.label for p in periods] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert OCTOBER.start == datetime(2026, 10, 1, tzinfo=WAW)
    assert OCTOBER.end == datetime(2026, 11, 1, tzinfo=WAW)


def queries(client, url, **params):
    cache.clear()  # the cold count: ended months are not cached yet
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx)


def test_dashboard_shows_figures_in_a_constant_number_of_queries(client, october, pipeline, manager):
    client.force_login(manager)
    url = reverse("reporting:dashboard")
    few = queries(client, url, period="2026-10")
    html = client.get(url, {"period": "2026-10"}).content.decode()
    assert "October 2026" in html
    assert "v1 §goals.sales.pickup" in html
    for n in range(12):
        lead = make_lead(external_id=f"X{n}", now=at(12 + n % 5), activities=WARM)
        services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=at(12 + n % 5, 11))
    assert queries(client, url, period="2026-10") == few
    fragment = client.get(url, {"period": "2026-Q4"}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="dashboard-body">')
    assert client.get(url, {"period": "1999-01"}).status_code == 400


@pytest.mark.parametrize("persona", ["marketer", "marketing_approver", "rep", "manager", "admin_user"])
def test_every_role_sees_the_dashboard_and_reports(client, request, october, pipeline, persona):
    report, _ = report_build(agreement=pipeline, period=OCTOBER, now=at(31, 23))
    client.force_login(request.getfixturevalue(persona))
    for url in (
        reverse("reporting:dashboard"),
        reverse("reporting:reports"),
        reverse("reporting:report", args=[report.pk]),
    ):
        assert client.get(url).status_code == 200
    response = client.get(reverse("reporting:report_csv", args=[report.pk]))
    assert response["Content-Type"].startswith("text/csv")


def test_people_without_a_role_see_no_figures(client, norole, pipeline):
    client.force_login(norole)
    assert client.get(reverse("reporting:dashboard")).status_code == 403
    client.logout()
    assert client.get(reverse("reporting:dashboard")).status_code == 302


def test_ended_months_come_from_the_cache_and_this_month_is_live(october, pipeline, manager):
    november = datetime(2026, 11, 20, 12, tzinfo=WAW)
    first = selectors.monthly_trends(agreements=[pipeline], now=november, tz="Europe/Warsaw")
    with CaptureQueriesContext(connection) as ctx:
        again = selectors.monthly_trends(agreements=[pipeline], now=november, tz="Europe/Warsaw")
    assert again == first
    assert len(ctx) == 1  # only the current month is counted again: its whole hours, from the tallies
    assert first[-2]["month"] == "2026-10"
    assert first[-2]["handed_off"] > 0
    lead = make_lead(external_id="NOV", now=november - timedelta(hours=2), activities=WARM)
    assert lead.status == "handed_off"
    now = selectors.monthly_trends(agreements=[pipeline], now=november, tz="Europe/Warsaw")
    assert now[-1]["handed_off"] == first[-1]["handed_off"] + 1
    assert now[:-1] == first[:-1]


def test_the_dashboard_computes_its_figures_again_only_after_a_change(client, october, pipeline, manager):
    client.force_login(manager)
    url = reverse("reporting:dashboard")
    cold = queries(client, url, period="2026-10")
    with CaptureQueriesContext(connection) as warm:
        first = client.get(url, {"period": "2026-10"}).context["figures"]
    assert len(warm) < cold - 10  # the figures came from the cache
    lead = make_lead(external_id="LATE", now=at(30, 10), activities=WARM)
    services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=at(30, 11))
    second = client.get(url, {"period": "2026-10"}).context["figures"]
    assert second["accepted"] == first["accepted"] + 1
