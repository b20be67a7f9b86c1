from __future__ import annotations

from django import template

from agreements.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    return render_markdown(text)


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key) if mapping else None
