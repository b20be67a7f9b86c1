"""Words for people where the data holds codes, for what the SLA itself defines: section keys, codes
without a label of their own, and business minutes. (Leads' own codes: leads' lead_labels.)"""

from __future__ import annotations

from typing import Any

from django import template

from agreements.clauses import SECTIONS, activity_label

register = template.Library()


@register.filter
def code_label(code: Any) -> str:
    """`ebook_download` -> "Ebook download": for codes with no label of their own."""
    text = str(code or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def activity_name(code: Any) -> str:
    """`ebook_download` -> "E-book download": the activity types of the SLA's temperature rules."""
    return code_label(activity_label(str(code or "")))


@register.filter
def section_title(key: str) -> str:
    section = SECTIONS.get(key)
    return section.title if section else code_label(key)


@register.filter
def business_time(minutes: Any) -> str:
    """322.4 -> "5 h 22 min" (business time, as the SLA counts it)."""
    if minutes is None or minutes == "":
        return "—"
    total = round(float(minutes))
    hours, rest = divmod(total, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
