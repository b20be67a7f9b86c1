"""Touches per account from the account months (leads.models.AccountMonth) against the activities: random
histories of activities, with CRMs renaming leads' companies and admins erasing leads, must count the same
accounts both ways for every window: whole months, a zone's months (cut from inside UTC months), `now`, and
windows cut from inside one month."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from leads import services
from leads.models import AccountMonth, Activity, Lead
from leads.services import Actor, recount, touches
from reporting import rollups, selectors
from reporting.periods import Period
from tests.factories import make_lead

NOW = datetime(2026, 12, 3, 9, 41, 17, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "")
START = datetime(2026, 9, 20, tzinfo=UTC)


def _activities(lead: Lead, rnd: random.Random, n: int, tag: str) -> None:
    services.activities_ingest(
        items=[
            {
                "lead_external_id": lead.external_id,
                "type": "email_click",
                "occurred_at": START + timedelta(minutes=rnd.randrange(0, 70 * 24 * 60)),
                "external_id": f"{lead.external_id}-{tag}-{k}",
            }
            for k in range(n)
        ],
        actor=Actor.system(),
        now=NOW,
    )


def _history(seed: int, pipeline, admin_user) -> list[Lead]:
    rnd = random.Random(seed)
    leads = [
        make_lead(
            external_id=f"T{seed}-{n}",
            now=START,
            agreement=pipeline,
            company_name=rnd.choice(COMPANIES),
        )
        for n in range(24)
    ]
    for n, lead in enumerate(leads):
        _activities(lead, rnd, rnd.randrange(1, 5), "a")
        if rnd.random() < 0.35:  # the CRM corrects the company the lead works for
            services.lead_upsert(
                external_id=lead.external_id,
                data={"company_name": rnd.choice(COMPANIES)},
                actor=Actor.system(),
                now=NOW,
            )
            _activities(lead, rnd, rnd.randrange(0, 3), "b")
        if n % 7 == 3:  # the person asked to be forgotten
            services.lead_erase(lead=lead, actor=Actor.of(admin_user), now=NOW)
    # The same activity sent again counts once.
    activity = Activity.objects.select_related("lead").first()
    services.activities_ingest(
        items=[
            {
                "lead_external_id": activity.lead.external_id,
                "type": "email_click",
                "occurred_at": activity.occurred_at,
                "external_id": activity.external_id,
            }
        ],
        actor=Actor.system(),
        now=NOW,
    )
    return leads


def _windows(rnd: random.Random) -> list[tuple[datetime, datetime]]:
    periods = [
        Period("month", 2026, 10, "Europe/Warsaw"),
        Period("month", 2026, 11, "America/New_York"),  # -05:00: both edges inside UTC months
        Period("month", 2026, 12, "America/New_York"),  # up to now, from inside December
        Period("month", 2026, 11, "Asia/Kolkata"),
        Period("quarter", 2026, 4, "UTC"),
    ]
    windows = [(p.start, min(p.end, NOW)) for p in periods]
    for _ in range(12):  # cut from inside a month, or across a few
        a = START + timedelta(minutes=rnd.randrange(0, 70 * 24 * 60))
        windows.append((a, a + timedelta(minutes=rnd.randrange(1, 60 * 24 * rnd.choice((2, 10, 40))))))
    return windows


def _raw(agreement_id: int, start: datetime, end: datetime) -> dict[str, int]:
    activities = Activity.objects.filter(
        lead__agreement_id=agreement_id, occurred_at__gte=start, occurred_at__lt=end
    )
    return activities.aggregate(n=Count("pk"), accounts=Count("lead__company_name", distinct=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_accounts_touched_from_the_account_months_equal_the_activities(seed, pipeline, admin_user):
    _history(seed, pipeline, admin_user)
    assert Lead.objects.filter(erased_at__isnull=False).exists()
    assert Lead.objects.values("company_name").distinct().count() > 3
    assert touches.touches_verify() == []
    assert recount.tallies_verify() == []
    rnd = random.Random(seed)
    cut_inside = 0
    for start, end in _windows(rnd):
        raw = _raw(pipeline.pk, start, end)
        assert rollups.accounts_touched((pipeline.pk,), start, end) == raw["accounts"], (start, end)
        assert rollups.counted((pipeline.pk,), start, end).counts["touches"] == raw["n"], (start, end)
        cut_inside += touches.month_of(start) == touches.month_of(end - timedelta(microseconds=1))
    assert cut_inside >= 3  # windows that need the activities of accounts touched around them


def test_an_account_touched_around_a_window_but_not_in_it_does_not_count(pipeline):
    lead = make_lead(external_id="around", now=START, agreement=pipeline, company_name="Acme")
    for n, at in enumerate((datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))):
        services.activities_ingest(
            items=[
                {
                    "lead_external_id": "around",
                    "type": "email_click",
                    "occurred_at": at,
                    "external_id": f"x{n}",
                }
            ],
            actor=Actor.system(),
            now=NOW,
        )
    ids = (pipeline.pk,)
    assert AccountMonth.objects.get(account="Acme").first_at == datetime(2026, 11, 2, tzinfo=UTC)
    assert (
        rollups.accounts_touched(ids, datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
        == 0
    )
    assert (
        rollups.accounts_touched(ids, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
        == 1
    )
    assert (
        rollups.accounts_touched(ids, datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
        == 1
    )
    assert lead.pk


def test_a_renamed_company_takes_its_touches_along_and_the_dashboard_says_so(pipeline):
    for n, company in enumerate(("Acme", "Acme", "Globex")):
        make_lead(
            external_id=f"r{n}",
            now=datetime(2026, 11, 10, tzinfo=UTC),
            agreement=pipeline,
            company_name=company,
        )
        services.activities_ingest(
            items=[
                {
                    "lead_external_id": f"r{n}",
                    "type": "email_click",
                    "occurred_at": datetime(2026, 11, 10 + n, tzinfo=UTC),
                    "external_id": f"r{n}-1",
                }
            ],
            actor=Actor.system(),
            now=NOW,
        )
    period = Period("month", 2026, 11, "UTC")
    figures = selectors.report_figures(agreements=[pipeline], period=period, now=NOW)
    assert figures["touches_per_account_per_month"] == 1.5  # 3 touches, 2 accounts
    services.lead_upsert(external_id="r2", data={"company_name": "Acme"}, actor=Actor.system(), now=NOW)
    assert set(AccountMonth.objects.values_list("account", flat=True)) == {"Acme"}
    figures = selectors.report_figures(agreements=[pipeline], period=period, now=NOW)
    assert figures["touches_per_account_per_month"] == 3.0
    services.lead_upsert(external_id="r0", data={"company_name": "Globex"}, actor=Actor.system(), now=NOW)
    acme = AccountMonth.objects.get(account="Acme")
    assert acme.first_at == datetime(2026, 11, 11, tzinfo=UTC)  # r0's touch on the 10th went to Globex
    assert touches.touches_verify() == []


def test_verify_names_a_difference_and_rebuild_mends_it(pipeline):
    make_lead(
        external_id="v", now=START, agreement=pipeline, company_name="Acme", activities=("email_click",)
    )
    assert touches.touches_verify() == []
    AccountMonth.objects.update(account="Wrong")
    problems = touches.touches_verify()
    assert len(problems) == 2
    assert "'Wrong'" in problems[0] + problems[1]
    assert touches.touches_rebuild() == 1
    assert touches.touches_verify() == []


def test_a_rebuild_counts_history_a_crm_sent_from_before_its_leads(pipeline):
    """A CRM's first sync sends a lead with its old activities: the rebuild must count them too."""
    make_lead(external_id="old", now=NOW - timedelta(days=2), agreement=pipeline, company_name="Acme")
    old = datetime(2026, 9, 5, 10, 0, tzinfo=UTC)
    services.activities_ingest(
        items=[{"lead_external_id": "old", "type": "email_click", "occurred_at": old, "external_id": "o1"}],
        actor=Actor.system(),
        now=NOW,
    )
    september = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    before = rollups.counted((pipeline.pk,), *september).counts["touches"]
    assert before == 1
    recount.tallies_rebuild()
    assert rollups.counted((pipeline.pk,), *september).counts["touches"] == before
    assert recount.tallies_verify() == []
