"""How the reports' numbers read: `{{ value|pct }}` gives "66.7%" (or "—" when there is no figure)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def pct(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):.1f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def figure(value: Any) -> str:
    """A count or a rate without float noise: 12, 2.5, 66.7 (at most two decimals); "—" for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}".rstrip("0").rstrip(".")
