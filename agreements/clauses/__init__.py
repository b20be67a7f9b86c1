"""The SLA's structured clauses: their schema, validation and readable sentences.

Pure Python, no database. Each section of a version stores a JSON object; `parse_section` turns it into
frozen dataclasses or raises `ClauseError` whose keys are field paths ("criteria.1.value"), so the
browser editor and the API can put each message next to the field it concerns.

Every clause has a stable id ("icp.1", "temperature.marketing.hot", "handoff.pickup.warm") that
evaluations and lead events cite together with the version number.

One module per section owns its dataclasses, parser, JSON form (`to_data`) and sentences; `kit` holds
what they share. This module owns the registry of sections (their order is the document's), the
dispatch through it, and `Clauses`, the whole parsed document. Everything the rest of the project uses
is re-exported here; only the section editors (agreements/editors.py) reach into a section module, for the
limits and field lists they share with its parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements.clauses import feedback, goals, handoff, icp, reporting, temperature, terms
from agreements.clauses.feedback import Feedback, FeedbackQuestion, parse_feedback
from agreements.clauses.goals import Goals, parse_goals
from agreements.clauses.handoff import (
    CALENDAR_KEYS,
    DESTINATIONS,
    WEEKDAYS,
    Handoff,
    RejectionReason,
    hours_phrase,
    known_timezones,
    parse_handoff,
    supported_holiday_countries,
    weekdays_phrase,
)
from agreements.clauses.icp import (
    ICP_FIELDS,
    NUMBER_OPERATORS,
    OPERATORS,
    TEXT_OPERATORS,
    Icp,
    IcpCriterion,
    criterion_sentence,
    parse_icp,
)
from agreements.clauses.kit import MAX_LIST, MAX_TEXT, TEMPERATURES, ClauseError, Section, format_number
from agreements.clauses.reporting import CADENCES, Reporting, parse_reporting
from agreements.clauses.temperature import (
    DEFAULT_ACTIVITY_TYPES,
    SIDES,
    Temperature,
    activity_label,
    parse_temperature,
    temperature_rule_sentence,
)
from agreements.clauses.terms import GlossaryEntry, Terms, parse_terms

SECTIONS: dict[str, Section] = {
    section.key: section
    for section in (
        terms.SECTION,
        icp.SECTION,
        temperature.SECTION,
        goals.SECTION,
        handoff.SECTION,
        reporting.SECTION,
        feedback.SECTION,
    )
}
SECTION_KEYS: tuple[str, ...] = tuple(SECTIONS)
SECTION_TITLES: dict[str, str] = {key: section.title for key, section in SECTIONS.items()}


@dataclass(frozen=True)
class Clauses:
    """All seven sections of one version, parsed."""

    terms: Terms
    icp: Icp
    temperature: Temperature
    goals: Goals
    handoff: Handoff
    reporting: Reporting
    feedback: Feedback


def parse_section(key: str, data: Any) -> Any:
    if key not in SECTIONS:
        raise ClauseError({"": [f"Unknown section {key!r}."]})
    return SECTIONS[key].parse(data)


def parse_clauses(sections: dict[str, Any]) -> Clauses:
    """Parse a whole version. Errors are keyed "<section>.<path>"."""
    parsed: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key in SECTION_KEYS:
        try:
            parsed[key] = parse_section(key, sections.get(key))
        except ClauseError as exc:
            for path, messages in exc.errors.items():
                errors[f"{key}.{path}" if path else key] = messages
    if errors:
        raise ClauseError(errors)
    return Clauses(**parsed)


def to_data(section: Any) -> dict[str, Any]:
    """The JSON form of a parsed section (inverse of its parser)."""
    for entry in SECTIONS.values():
        if isinstance(section, entry.cls):
            return entry.to_data(section)
    raise TypeError(f"not a section: {section!r}")


def sentences(key: str, section: Any) -> list[tuple[str, str]]:
    """(clause id, sentence) for every clause of a parsed section."""
    entry = SECTIONS.get(key)
    return entry.sentences(section) if entry else []


__all__ = [
    "CADENCES",
    "CALENDAR_KEYS",
    "DEFAULT_ACTIVITY_TYPES",
    "DESTINATIONS",
    "ICP_FIELDS",
    "MAX_LIST",
    "MAX_TEXT",
    "NUMBER_OPERATORS",
    "OPERATORS",
    "SECTIONS",
    "SECTION_KEYS",
    "SECTION_TITLES",
    "SIDES",
    "TEMPERATURES",
    "TEXT_OPERATORS",
    "WEEKDAYS",
    "ClauseError",
    "Clauses",
    "Feedback",
    "FeedbackQuestion",
    "GlossaryEntry",
    "Goals",
    "Handoff",
    "Icp",
    "IcpCriterion",
    "RejectionReason",
    "Reporting",
    "Section",
    "Temperature",
    "Terms",
    "activity_label",
    "criterion_sentence",
    "format_number",
    "hours_phrase",
    "known_timezones",
    "parse_clauses",
    "parse_feedback",
    "parse_goals",
    "parse_handoff",
    "parse_icp",
    "parse_reporting",
    "parse_section",
    "parse_temperature",
    "parse_terms",
    "sentences",
    "supported_holiday_countries",
    "temperature_rule_sentence",
    "to_data",
    "weekdays_phrase",
]
