"""Approvers hear when a version awaits their signature; its writers when it is sent back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements import services
from integrations.models import Outbox
from slaportal.models import Notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(pipeline, v2, marketer):
    services.version_submit(version=v2, actor=marketer)
    return v2


def test_both_sides_approvers_are_asked_to_sign(submitted, marketing_approver, manager, client):
    asked = {n.user: n.text for n in Notice.objects.filter(text__contains=f"{submitted.label} awaits")}
    assert asked[marketing_approver].endswith("awaits your signature for marketing.")
    assert asked[manager].endswith("awaits your signature for sales.")
    mails = Outbox.objects.filter(channel="email", payload__subject__endswith=f"{submitted.label}")
    assert mails.count() == 2
    client.force_login(manager)
    page = client.get(reverse("home")).content.decode()
    assert "SLA versions awaiting my signature (1)" in page
    assert "to sign for sales" in page


def test_the_writer_hears_why_the_draft_was_sent_back(submitted, marketer, manager, client):
    services.version_return_to_draft(version=submitted, actor=manager, comment="Too strict for SMB.")
    (told,) = Notice.objects.filter(user=marketer, text__contains="back to draft")
    assert "“Too strict for SMB.”" in told.text
    assert not Notice.objects.filter(user=manager, text__contains="back to draft").exists()
    client.force_login(marketer)
    page = client.get(reverse("home")).content.decode()
    assert "Drafts sent back to me (1)" in page
    assert "Too strict for SMB." in page


def test_a_request_to_sign_is_settled_once_its_side_signs(submitted, marketing_approver, manager):
    services.version_sign(version=submitted, side="marketing", actor=marketing_approver)
    asks = Notice.objects.filter(text__contains=f"{submitted.label} awaits")
    assert asks.get(user=marketing_approver).read_at is not None
    assert asks.get(user=manager).read_at is None  # sales has not signed yet
    services.version_sign(version=submitted, side="sales", actor=manager)
    assert not asks.filter(read_at__isnull=True).exists()
