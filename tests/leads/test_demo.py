from __future__ import annotations

import pytest
from django.db.models import Count
from django.utils import timezone

from agreements.demo import seed_agreements
from leads.demo import seed_leads
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
