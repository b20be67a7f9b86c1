from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Count
from django.utils import timezone

from agreements.models import AgreementVersion, VersionEvent
from demo.history import seed_leads
from demo.sla import seed_agreements
from leads.models import Lead, LeadEvent

pytestmark = pytest.mark.django_db


def test_demo_leads_are_consistent_with_the_demo_sla():
    seed_agreements()
    now = timezone.now()
    assert seed_leads(count=120, now=now) == 120
    assert seed_leads(count=120, now=now) == 0  # idempotent
    statuses = dict(Lead.objects.values_list("status").annotate(n=Count("pk")))
    assert set(statuses) == set(Lead.Status.values), statuses
    assert not Lead.objects.filter(updated_at__gt=now).exists()
    assert not LeadEvent.objects.filter(at__gt=now).exists()
    for lead in Lead.objects.filter(status="handed_off"):
        assert lead.pickup_deadline
        assert lead.sla_version_id
        assert lead.owner_id
    assert Lead.objects.exclude(status="nurturing").filter(sla_version=None).count() == 0
    assert Lead.objects.filter(created_at__lt=now - timezone.timedelta(days=300)).exists()


def test_the_demo_sla_was_written_signed_and_in_force_on_one_history():
    seed_agreements()
    version = AgreementVersion.objects.get(number=1)
    assert version.status == AgreementVersion.Status.ACTIVE
    # Signed a year ago, and in force from the second signature: no date of today among them.
    assert version.created_at < version.submitted_at < version.marketing_signed_at < version.sales_signed_at
    assert version.sales_signed_at == version.effective_from < timezone.now() - timezone.timedelta(days=300)
    assert version.updated_at == version.effective_from
    events = list(VersionEvent.objects.filter(version=version).order_by("pk").values_list("kind", "at"))
    assert [kind for kind, _ in events] == ["created", "submitted", "signed", "signed", "activated"]
    assert [at for _, at in events] == sorted(at for _, at in events)
    assert events[-1][1] == version.effective_from


@pytest.mark.time_machine(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # the figures depend on the calendar
def test_the_demo_opens_with_two_simulations_with_sensible_numbers():
    from demo.simulations import seed_simulations
    from reporting.models import Simulation

    seed_agreements()
    seed_leads(count=120, now=timezone.now())
    assert seed_simulations() == 2
    assert seed_simulations() == 0  # idempotent
    slower_hot, hot_only = Simulation.objects.order_by("pk")
    for simulation in (slower_hot, hot_only):
        assert simulation.status == "done"
        assert simulation.results["fidelity"]["share"] >= 0.995
    # A draft giving two business hours for a hot lead: the same leads go to sales at the same moments,
    # with later deadlines.
    assert (slower_hot.version.number, slower_hot.version.status, slower_hot.changes) == (2, "draft", {})
    assert slower_hot.version.clauses.handoff.pickup_hours["hot"] == 2
    assert slower_hot.results["changed_leads"] > 0
    assert {tuple(c["changes"]) for c in slower_hot.results["changed"]} == {("has a later pickup deadline",)}
    months = slower_hot.results["months"]
    for figure in ("mqls", "handoffs", "handoffs_hot", "pickups", "load_handoffs"):
        assert [m["recorded"][figure] for m in months] == [m["simulated"][figure] for m in months]
    # Some hot leads picked up after one business hour, within two: fewer late pickups.
    late = [sum(m[side]["pickups_late"] for m in months) for side in ("recorded", "simulated")]
    assert late[0] > late[1] > 0, late
    # Only hot leads handed off, as a change to the version in force: fewer handoffs, none warm.
    assert (hot_only.version.status, hot_only.changes) == ("active", {"mql_threshold": "hot"})
    months = hot_only.results["months"]
    recorded = sum(m["recorded"].get("handoffs", 0) for m in months)
    simulated = sum(m["simulated"].get("handoffs", 0) for m in months)
    assert 0 < simulated < recorded
    assert sum(m["simulated"].get("handoffs_warm", 0) for m in months) == 0


def test_the_demo_leaves_a_draft_it_finds_alone():
    from agreements import services as agreement_services
    from demo.simulations import seed_simulations
    from reporting.models import Simulation

    seed_agreements()
    seed_leads(count=20, now=timezone.now())
    agreement = AgreementVersion.objects.get(number=1).agreement
    marketer = agreement.versions.get(number=1).created_by
    theirs = agreement_services.version_create_draft(agreement=agreement, actor=marketer)
    assert seed_simulations() == 0
    assert not Simulation.objects.exists()
    assert list(agreement.versions.order_by("number")) == [agreement.versions.get(number=1), theirs]


def test_a_seed_stopped_before_its_simulations_leaves_no_draft_behind(monkeypatch):
    from demo.simulations import seed_simulations
    from reporting import simulations

    seed_agreements()
    seed_leads(count=20, now=timezone.now())

    def refused(**kwargs):
        raise RuntimeError("stopped")

    monkeypatch.setattr(simulations, "simulation_request", refused)
    with pytest.raises(RuntimeError):
        seed_simulations()
    assert not AgreementVersion.objects.filter(status="draft").exists()
    monkeypatch.undo()
    assert seed_simulations() == 2  # the next seed does it all
