"""`{% allowed lead "reassign" as can_reassign %}`: the state machine's answer, for a template."""

from __future__ import annotations

from typing import Any

from django import template

from leads.models import Lead
from leads.services import allowed_actions

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed(context: dict[str, Any], lead: Lead, action: str) -> bool:
    return allowed_actions(lead, context["request"].user)[action]
