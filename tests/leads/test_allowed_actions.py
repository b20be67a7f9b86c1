"""`allowed_actions` (what the pages offer) and the services (what they accept) give the same answer for
every status of a lead and every person."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from leads import services
from leads.models import Lead
from leads.services import Actor
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


def accepted_by_service(action: str, lead_id: int, user, other_rep) -> bool:
    lead = Lead.objects.get(pk=lead_id)  # as it is, not as an undone action left the object in memory
    actor = Actor.of(user)
    calls = {
        "accept": lambda: services.lead_accept(lead=lead, actor=actor),
        "reject": lambda: services.lead_reject(lead=lead, actor=actor, reason="no_fit", note="not ours"),
        "qualify": lambda: services.lead_qualify(
            lead=lead, actor=actor, product_potential=True, purchase_timeframe_months=3
        ),
        "close": lambda: services.lead_close(lead=lead, actor=actor, outcome="won"),
        "reassign": lambda: services.lead_reassign(lead=lead, actor=actor, owner=other_rep.username),
        "feedback": lambda: services.lead_feedback(
            lead=lead, actor=actor, answers={"talk": "Yes, on Monday."}
        ),
    }
    try:
        with transaction.atomic():
            calls[action]()
            raise _Undo  # roll the action back: the next one starts from the same lead
    except _Undo:
        return True
    except (services.NotAllowed, services.TransitionRefused):
        return False


def test_the_pages_offer_exactly_what_the_services_accept(pipeline, rep, other_rep, manager, marketer):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert lead.owner == rep
    offered_somewhere = set()
    for status in Lead.Status:
        Lead.objects.filter(pk=lead.pk).update(status=status)
        lead.refresh_from_db()
        for user in (rep, other_rep, manager, marketer):
            offered = services.allowed_actions(lead, user)
            accepted = {action: accepted_by_service(action, lead.pk, user, other_rep) for action in offered}
            assert offered == accepted, (status, user.username)
            offered_somewhere |= {action for action, yes in offered.items() if yes}
    assert offered_somewhere == set(services.ACTIONS)  # every action is offered to someone, somewhere
