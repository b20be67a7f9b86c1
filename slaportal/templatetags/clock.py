"""Times for people: always in the viewer's zone (the one the request activated) and always naming it.

`{{ value|when }}` gives `<time datetime="2026-12-01T16:00:00Z">Tue 1 Dec 2026, 17:00 CET</time>`: the
words in the viewer's zone, the instant for machines. `|when:"short"` leaves out the year, `|day` gives
the date alone (a date needs no zone).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from django import template
from django.utils import timezone
from django.utils.html import format_html

from slaportal.formats import utc_iso

register = template.Library()

FORMATS = {"long": "%a %-d %b %Y, %H:%M %Z", "short": "%a %-d %b, %H:%M %Z"}


def when_text(value: datetime, style: str = "long", zone: tzinfo | None = None) -> str:
    """The words of `|when` without the markup (for messages and e-mails), in `zone` (stored words that
    cannot follow each reader: the SLA calendar's) or else the reader's."""
    return timezone.localtime(value, zone).strftime(FORMATS.get(style, FORMATS["long"]))


@register.filter
def when(value: datetime | None, style: str = "long") -> str:
    if not isinstance(value, datetime):
        return ""
    return format_html('<time datetime="{}">{}</time>', utc_iso(value), when_text(value, style))


@register.filter
def day(value: datetime | None) -> str:
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value)
    return format_html('<time datetime="{}">{}</time>', local.date().isoformat(), local.strftime("%-d %b %Y"))
