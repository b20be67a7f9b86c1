"""`{% pickup_countdown lead %}`: the lead's pickup deadline in business time, kept current by app.js."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

from agreements.selectors import signed_version
from leads.deadlines import countdown
from leads.models import Lead
from slaportal.formats import utc_iso
from slaportal.templatetags.clock import when_text

register = template.Library()


@register.simple_tag
def pickup_countdown(lead: Lead) -> str:
    if lead.pickup_deadline is None:
        return ""
    if not lead.sla_version_id:
        return format_html("due {}", when_text(lead.pickup_deadline, "short"))
    calendar = signed_version(lead.sla_version_id).calendar
    shown = countdown(lead.pickup_deadline, calendar, timezone.now())
    return format_html(
        '<span class="countdown{}" data-countdown data-deadline="{}" data-windows="{}">'
        '<span data-left>{}</span>; <time datetime="{}">{}</time></span>',
        " overdue" if shown.overdue else "",
        int(shown.deadline.timestamp() * 1000),
        shown.windows_json,
        shown.text,
        utc_iso(shown.deadline),
        shown.due,
    )
