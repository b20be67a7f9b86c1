"""Words for people where a lead holds codes: its statuses, and the reasons and questions of the SLA
version it was handed off under."""

from __future__ import annotations

from typing import Any

from django import template

from agreements.selectors import signed_version
from agreements.templatetags.sla_labels import code_label
from leads.models import Lead

register = template.Library()


@register.filter
def status_label(code: str) -> str:
    return dict(Lead.Status.choices).get(code, code_label(code))


def _clauses(lead: Lead) -> Any:
    return signed_version(lead.sla_version_id).clauses if lead.sla_version_id else None


@register.filter
def question_text(code: str, lead: Lead) -> str:
    """The SLA's question for a feedback answer's code."""
    clauses = _clauses(lead)
    questions = {q.code: q.text for q in clauses.feedback.questions} if clauses else {}
    return questions.get(code, code_label(code))


@register.filter
def reason_label(code: str, lead: Lead) -> str:
    """The SLA's label for a rejection reason's code."""
    clauses = _clauses(lead)
    reasons = {r.code: r.label for r in clauses.handoff.rejection_reasons} if clauses else {}
    return reasons.get(code, code_label(code))
