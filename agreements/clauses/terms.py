"""Section 1, Terms: what a lead is for each side, and the glossary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements.clauses.kit import Section, _Collector, _list, _obj, _text, _unique

GLOSSARY_TERM_MAX = 100


@dataclass(frozen=True)
class GlossaryEntry:
    term: str
    definition: str


@dataclass(frozen=True)
class Terms:
    marketing_lead_definition: str
    sales_lead_definition: str
    glossary: tuple[GlossaryEntry, ...]


def parse_terms(data: Any) -> Terms:
    errs = _Collector()
    data = _obj(data, ("marketing_lead_definition", "sales_lead_definition", "glossary"), errs)
    marketing = _text(data, "marketing_lead_definition", errs, "")
    sales = _text(data, "sales_lead_definition", errs, "")
    entries = []
    for index, raw in enumerate(_list(data, "glossary", errs, "")):
        path = f"glossary.{index}."
        raw = _obj(raw, ("term", "definition"), errs, path.rstrip("."))
        entries.append(
            GlossaryEntry(
                _text(raw, "term", errs, path, max_len=GLOSSARY_TERM_MAX),
                _text(raw, "definition", errs, path),
            )
        )
    _unique(entries, "term", errs, "glossary", "term")
    errs.raise_if_any()
    return Terms(marketing, sales, tuple(entries))


def to_data(section: Terms) -> dict[str, Any]:
    return {
        "marketing_lead_definition": section.marketing_lead_definition,
        "sales_lead_definition": section.sales_lead_definition,
        "glossary": [{"term": e.term, "definition": e.definition} for e in section.glossary],
    }


def sentences(section: Terms) -> list[tuple[str, str]]:
    return [
        ("terms.lead.marketing", f'For marketing, a lead is: "{section.marketing_lead_definition}"'),
        ("terms.lead.sales", f'For sales, a lead is: "{section.sales_lead_definition}"'),
        *((f"terms.glossary.{e.term}", f'"{e.term}" means: {e.definition}') for e in section.glossary),
    ]


SECTION = Section("terms", "1. Terms", Terms, parse_terms, to_data, sentences)
