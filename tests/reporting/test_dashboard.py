"""The dashboard's figures as managers read them: rates over one cohort, the Team filter, missed deadlines
counted from the deadlines, charts with axes and words, reassigning from the overdue table, clean CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.models import Team
from leads import services
from leads.models import Lead
from leads.services import Actor, escalation
from reporting import charts, selectors
from reporting.models import MonthlyReport
from reporting.periods import Period, parse_period
from reporting.scope import scope_for
from reporting.services import report_build, report_csv
from tests.factories import WARM, TeamFactory, add_member, clone_leads, make_lead

WAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=WAW)  # a Tuesday; every date below is pinned to it
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]
SEPTEMBER, OCTOBER, NOVEMBER = (Period("month", 2026, m, "Europe/Warsaw") for m in (9, 10, 11))


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=WAW)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # figures of one test must not be served to the next


@pytest.fixture
def sla(pipeline):
    pipeline.versions.update(effective_from=at(8, 1))
    return pipeline


def handed_off(external_id: str, when: datetime) -> Lead:
    lead = make_lead(external_id=external_id, now=when, activities=WARM)
    assert lead.status == Lead.Status.HANDED_OFF
    return lead


def accept(lead: Lead, when: datetime) -> Lead:
    return services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=when)


def qualify(lead: Lead, when: datetime) -> Lead:
    return services.lead_qualify(
        lead=lead, actor=Actor.of(lead.owner), product_potential=True, purchase_timeframe_months=3, now=when
    )


def win(lead: Lead, when: datetime) -> Lead:
    return services.lead_close(lead=lead, actor=Actor.of(lead.owner), outcome="won", now=when)


def figures(sla, period: Period, team: Team | None = None, now: datetime = NOW) -> dict:
    agreements, scope = scope_for(agreements=[sla], team=team)
    return selectors.report_figures(agreements=agreements, period=period, now=now, scope=scope)


# 1. Conversion over one cohort ---------------------------------------------------------------------------


@pytest.fixture
def across_months(sla):
    """Two leads qualified in September and won in October; two qualified in October, one of them won;
    one MQL of late October accepted in November."""
    for n, (qualified, won) in enumerate([(at(9, 16), at(10, 6)), (at(9, 17), at(10, 7))]):
        lead = accept(handed_off(f"S{n}", at(9, 14)), at(9, 14, 11))
        win(qualify(lead, qualified), won)
    first = accept(handed_off("O0", at(10, 5)), at(10, 5, 11))
    win(qualify(first, at(10, 8)), at(10, 12))
    qualify(accept(handed_off("O1", at(10, 5)), at(10, 5, 11)), at(10, 9))
    late = handed_off("L0", at(10, 30))
    accept(late, at(11, 2))


def test_no_conversion_rate_exceeds_100_with_leads_that_moved_across_periods(across_months, sla):
    october = figures(sla, OCTOBER)
    # Counted the old way (won in October over qualified in October) this was 3 / 2 = 150 %.
    assert (october["won"], october["qualified"]) == (3, 2)
    assert october["conversion"]["qualified_to_won_pct"] == 50.0
    assert october["conversion_cohorts"]["qualified_to_won"] == {"cohort": 2, "converted": 1}
    # September's qualified leads were won later: their cohort says so, by now.
    september = figures(sla, SEPTEMBER)
    assert september["conversion"]["qualified_to_won_pct"] == 100.0
    assert september["conversion_cohorts"]["qualified_to_won"] == {"cohort": 2, "converted": 2}
    # October's last MQL was accepted in November: October's MQL cohort counts it, November's has none.
    assert october["conversion_cohorts"]["mql_to_accepted"] == {"cohort": 3, "converted": 3}
    assert figures(sla, NOVEMBER)["conversion"]["mql_to_accepted_pct"] is None
    for period in (SEPTEMBER, OCTOBER, NOVEMBER, parse_period("2026-Q3", "Europe/Warsaw")):
        f = figures(sla, period)
        rates = [*f["conversion"].values(), f["pickup_within_sla_pct"], f["acceptance_rate_pct"]]
        assert all(rate is None or 0 <= rate <= 100 for rate in rates), (period.label, rates)
        for cohort in f["conversion_cohorts"].values():
            assert cohort["converted"] <= cohort["cohort"]


def test_the_page_says_which_leads_a_rate_is_over(client, across_months, sla, manager):
    client.force_login(manager)
    html = client.get(reverse("reporting:dashboard"), {"period": "2026-10"}).content.decode()
    assert "1 of the 2 leads sales qualified in the period, won since" in html
    assert "3 of the 3 leads that became MQLs in the period, accepted by sales since" in html
    assert "50.0%" in html
    assert "133" not in html
    assert "150.0" not in html


# 2. The Team filter ---------------------------------------------------------------------------------------


@pytest.fixture
def two_teams(sla, rep, other_rep):
    """The agreement's reps split into two sales teams, and leads handed to each (round-robin)."""
    north = TeamFactory(name="North", department=Team.Department.SALES)
    south = TeamFactory(name="South", department=Team.Department.SALES)
    add_member(north, rep)
    add_member(south, other_rep)
    leads = [handed_off(f"T{n}", at(10, 5 + n % 3)) for n in range(5)]
    for lead in leads[:2]:
        accept(lead, lead.handed_off_at.replace(hour=11))
    return {"north": north, "south": south, "leads": [Lead.objects.get(pk=x.pk) for x in leads]}


def owned_by(leads: list[Lead], user) -> list[Lead]:
    return [lead for lead in leads if lead.owner_id == user.pk]


def test_a_sales_team_counts_its_members_leads_and_steps(two_teams, sla, rep, other_rep):
    everyone = figures(sla, OCTOBER)
    north = figures(sla, OCTOBER, two_teams["north"])
    south = figures(sla, OCTOBER, two_teams["south"])
    mine, theirs = owned_by(two_teams["leads"], rep), owned_by(two_teams["leads"], other_rep)
    assert (north["handed_off"], south["handed_off"], everyone["handed_off"]) == (len(mine), len(theirs), 5)
    assert north["mqls"] + south["mqls"] == everyone["mqls"]
    assert north["accepted"] + south["accepted"] == everyone["accepted"] == 2
    assert north["breaches"] + south["breaches"] == everyone["breaches"] == 3  # the three never picked up
    assert {r["rep"] for r in north["per_rep"]} == {"rep"}
    assert {r["rep"] for r in south["per_rep"]} == {"other_rep"}
    assert north["goals"] == []
    assert everyone["goals"]


def test_the_team_filter_changes_every_part_of_the_dashboard(client, two_teams, sla, rep, manager):
    client.force_login(manager)
    url = reverse("reporting:dashboard")
    everyone = client.get(url, {"period": "2026-10"}).context
    north = client.get(url, {"period": "2026-10", "team": two_teams["north"].pk}).context
    mine = owned_by(two_teams["leads"], rep)
    assert north["figures"]["handed_off"] == len(mine) < everyone["figures"]["handed_off"]
    assert {lead.owner_id for lead in north["breaches_now"]} == {rep.pk}
    assert len(north["breaches_now"]) < len(everyone["breaches_now"])
    handoffs = {c.slug: c for c in north["charts"]}["handed_off"]
    october = next(bar for bar in handoffs.bars if bar.month == "Oct 2026")
    assert october.value == len(mine)
    html = client.get(url, {"period": "2026-10", "team": two_teams["north"].pk}).content.decode()
    assert "Team North: the leads handed to its 1 member" in html
    assert f'href="/reporting/?period=2026-10&amp;team={two_teams["north"].pk}&amp;format=csv"' in html
    rows = csv_values(
        client.get(
            reverse("reporting:dashboard"),
            {"period": "2026-10", "team": two_teams["north"].pk, "format": "csv"},
        )
    )
    assert rows[("figures", "handed_off")] == str(len(mine))
    assert rows[("scope", "team")] == "North"


def test_a_marketing_team_counts_its_agreements(client, two_teams, sla, manager):
    assert figures(sla, OCTOBER, sla.marketing_team)["handed_off"] == 5
    elsewhere = TeamFactory(name="Events", department=Team.Department.MARKETING)
    client.force_login(manager)
    response = client.get(reverse("reporting:dashboard"), {"team": elsewhere.pk})
    assert response.status_code == 200
    assert (
        "No agreement matches these filters: Events is the marketing side of none of them"
        in response.content.decode()
    )


# 3. Missed deadlines, from the deadlines ------------------------------------------------------------------


@pytest.fixture
def overdue(sla):
    """Three leads handed off on Wed 28 October and never picked up (deadline Thu 29th, 10:00), and one
    picked up a day late; no sweep has run."""
    leads = [handed_off(f"D{n}", at(10, 28)) for n in range(4)]
    accept(leads[3], at(10, 30))
    return leads[:3]


def test_breaches_are_the_same_before_and_after_the_sweep(client, overdue, sla, manager):
    before = figures(sla, OCTOBER)
    assert before["breaches"] == 4
    client.force_login(manager)
    page = client.get(reverse("reporting:dashboard"), {"period": "2026-10"})
    assert page.context["figures"]["breaches"] == 4
    assert [lead.missed for lead in page.context["breaches_now"]] == [1, 1, 1]
    assert "4 missed deadlines" in page.content.decode()

    assert escalation.leads_escalate_overdue(now=NOW).breached == 3  # recorded in November, due in October
    after = figures(sla, OCTOBER)
    assert after["breaches"] == 4
    assert sorted((r["rep"], r["breaches"]) for r in after["per_rep"]) == sorted(
        (r["rep"], r["breaches"]) for r in before["per_rep"]
    )
    assert figures(sla, NOVEMBER)["breaches"] == 0  # the sweep moved nothing into its own month
    cache.clear()
    assert (
        client.get(reverse("reporting:dashboard"), {"period": "2026-10"}).context["figures"]["breaches"] == 4
    )


def test_reassigning_an_overdue_lead_before_the_sweep_keeps_its_missed_deadline(overdue, sla, manager, rep):
    lead = Lead.objects.get(pk=overdue[0].pk)
    other = next(u for u in (rep, *[x.owner for x in overdue]) if u.pk != lead.owner_id)
    missed_by = lead.owner.username
    services.lead_reassign(lead=lead, actor=Actor.of(manager), owner=other.username, now=NOW)
    after = figures(sla, OCTOBER)
    assert after["breaches"] == 4
    assert {r["rep"]: r["breaches"] for r in after["per_rep"]}[missed_by] >= 1
    assert escalation.leads_escalate_overdue(now=NOW).breached == 2  # the reassigned one has a new deadline
    assert figures(sla, OCTOBER)["breaches"] == 4


def test_a_deadline_still_ahead_is_no_breach(sla, manager, rep, other_rep):
    lead = handed_off("FRESH", NOW)
    other = other_rep if lead.owner_id == rep.pk else rep
    services.lead_reassign(lead=lead, actor=Actor.of(manager), owner=other.username, now=NOW)
    assert figures(sla, NOVEMBER)["breaches"] == 0


# 4. Charts ------------------------------------------------------------------------------------------------


def test_ticks_are_round_and_reach_the_top():
    assert charts.nice_ticks(17) == [0, 5, 10, 15, 20]
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(100) == [0, 25, 50, 75, 100]


def test_charts_have_axes_units_and_words(client, overdue, sla, manager):
    client.force_login(manager)
    response = client.get(reverse("reporting:dashboard"))
    chart = {c.slug: c for c in response.context["charts"]}["handed_off"]
    assert [b.short for b in chart.bars][-2:] == ["Oct", "Nov"]
    assert (chart.bars[0].month, chart.bars[0].year) == ("Dec 2025", "")  # January's "2026" is beside it
    assert [b.year for b in chart.bars if b.year] == ["2026"]
    assert [t.label for t in chart.ticks] == ["0", "1", "2", "3", "4"]
    assert chart.unit == "leads"
    assert "highest 4 leads (Oct 2026)" in chart.summary
    html = response.content.decode()
    assert '<text x="36" y="' in html
    assert 'class="tick y">4</text>' in html
    assert 'class="tick x">Oct</text>' in html
    assert 'aria-labelledby="chart-handed_off-title chart-handed_off-desc"' in html
    assert '<th scope="row">Oct 2026</th><td>4 leads</td>' in html
    line = {c.slug: c for c in response.context["charts"]}["pickup_within_sla_pct"]
    assert [t.label for t in line.ticks] == ["0", "25", "50", "75", "100"]
    assert line.unit == "%"
    assert "no pickups" in [b.text for b in line.bars]


# 5. Reassigning from the overdue table --------------------------------------------------------------------


def said(html: str) -> list[str]:
    """What the overdue row takes from the leads view's answer (the form's hx-select): the confirmation or
    refusal in the lead page's header, or the reassign form's errors."""
    header = re.search(r'<div id="lead-page">\s*<header.*?</header>', html, re.S)
    found = re.findall(
        r'<(p|div) [^>]*role="(?:status|alert)"[^>]*>(.*?)</\1>', header.group(0) if header else "", re.S
    )
    return [words for _, words in found] + re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S
    )


def test_a_manager_reassigns_an_overdue_lead_in_place(client, overdue, sla, manager, rep, other_rep):
    client.force_login(manager)
    html = client.get(reverse("reporting:dashboard")).content.decode()
    lead = Lead.objects.get(pk=overdue[0].pk)
    action = reverse("leads:reassign", args=[lead.pk])
    assert f'hx-post="{action}" hx-target="#overdue-said-{lead.pk}"' in html
    other = other_rep if lead.owner_id == rep.pk else rep
    row = html[html.index(f'id="overdue-{lead.pk}"') :].split("</tr>")[0]
    assert f'<option value="{other.username}">' in row
    assert f'<option value="{lead.owner.username}">' not in row
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": f"overdue-said-{lead.pk}"}
    response = client.post(action, {"owner": other.username}, **headers)
    assert response.status_code == 200
    assert any(f"now with {other.username}" in words for words in said(response.content.decode()))
    assert Lead.objects.get(pk=lead.pk).owner_id == other.pk
    # Refused: the rep owns it already (422), or it is no longer awaiting anyone (409); said in place.
    response = client.post(action, {"owner": other.username}, **headers)
    assert response.status_code == 422
    assert any("not one of the available choices" in words for words in said(response.content.decode()))
    gone = Lead.objects.get(pk=overdue[1].pk)
    services.lead_reject(lead=gone, actor=Actor.of(gone.owner), reason="no_fit", note="not for us", now=NOW)
    response = client.post(reverse("leads:reassign", args=[gone.pk]), {"owner": other.username}, **headers)
    assert response.status_code == 409
    assert said(response.content.decode())


def test_the_overdue_table_costs_the_same_queries_with_1_row_and_with_20(client, sla, manager):
    first = handed_off("Q0", at(10, 28))
    client.force_login(manager)
    url = reverse("reporting:dashboard")

    def count() -> tuple[int, int]:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        return len(ctx), len(response.context["breaches_now"])

    one, rows = count()
    assert rows == 1
    clone_leads(first, 19)
    assert count() == (one, 20), "each overdue row must not cost queries of its own (owner, reps)"


def test_only_managers_get_the_reassign_column(client, overdue, sla, marketer):
    client.force_login(marketer)
    html = client.get(reverse("reporting:dashboard")).content.decode()
    assert "overdue-said-" not in html
    assert '<th scope="col">Reassign</th>' not in html
    assert f'href="{reverse("leads:detail", args=[overdue[0].pk])}"' in html


# 6. Clean numbers -----------------------------------------------------------------------------------------


def csv_values(response) -> dict[tuple[str, str], str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return {(row[0], row[1]): row[2] for row in csv.reader(io.StringIO(response.content.decode()))}


NUMBER = re.compile(r"^(-?\d+(\.\d{1,2})?)?$")


def test_csv_numbers_have_no_float_noise(client, overdue, sla, manager):
    report, _ = report_build(agreement=sla, period=OCTOBER, now=NOW)
    # A report stored before figures were rounded: its CSV still reads cleanly.
    noisy = {
        **report.figures,
        "pickup_within_sla_pct": 66.00000000000001,
        "p90_pickup_business_minutes": 107.99999,
    }
    MonthlyReport.objects.filter(pk=report.pk).update(figures=noisy)
    client.force_login(manager)
    stored = csv_values(client.get(reverse("reporting:report_csv", args=[report.pk])))
    assert stored[("figures", "pickup_within_sla_pct")] == "66.0"
    assert stored[("figures", "p90_pickup_business_minutes")] == "108.0"
    live = csv_values(client.get(reverse("reporting:dashboard"), {"period": "2026-10", "format": "csv"}))
    numbers = {k: v for k, v in live.items() if k[0] not in ("scope", "period", "section")}
    assert all(NUMBER.match(value) for value in numbers.values()), numbers
    assert live[("figures", "breaches")] == "4"
    assert live[("conversion_cohort", "mql_to_accepted: cohort")] == "4"


def test_the_screen_shows_percentages_with_one_decimal_and_durations_in_hours(client, overdue, sla, manager):
    client.force_login(manager)
    html = client.get(reverse("reporting:dashboard"), {"period": "2026-10"}).content.decode()
    assert "0.0%</span>picked up in time" in html  # the one pickup was late
    assert re.search(r"<span>\d+ h( \d+ min)?</span>median pickup", html)


def test_report_csv_keeps_neutralising_formulas():
    figures_ = {
        "period": "2026-10",
        **{name: 0 for name in ("mqls", "mqls_icp_match", "handed_off", "hot", "accepted", "rejected")},
        **{name: 0 for name in ("nurturing", "in_progress", "qualified", "qualified_hot", "won", "lost")},
        "breaches": 0,
        "pickup_within_sla_pct": None,
        "median_pickup_business_minutes": None,
        "p90_pickup_business_minutes": None,
        "acceptance_rate_pct": None,
        "touches_per_account_per_month": None,
        "conversion": {},
        "rejected_by_reason": {"=cmd": 1},
        "goals": [],
        "per_rep": [],
        "temperature_matrix": {},
    }
    text = report_csv(figures_, about=[("team", "@evil")])
    assert "'=cmd" in text
    assert "'@evil" in text


# 7. Bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"team": "abc"},
        {"team": "99999999999999999999999"},
        {"agreement": "-1"},
        {"period": "2026-13"},
        {"period": "x" * 500, "team": "0"},
    ],
)
def test_bad_filters_are_said_in_place_not_a_500(client, sla, manager, params):
    client.force_login(manager)
    response = client.get(reverse("reporting:dashboard"), params)
    assert response.status_code == 400
    assert 'class="error filter-errors" role="alert"' in response.content.decode()
    assert client.get(reverse("reporting:dashboard"), {**params, "format": "csv"}).status_code == 400
    fragment = client.get(reverse("reporting:dashboard"), params, HTTP_HX_REQUEST="true")
    assert "filter-errors" in fragment.content.decode()
