"""Section 6, Reporting: how often the SLA report is built and who receives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements.clauses.kit import Section, _choice, _Collector, _list, _obj

CADENCES = {"monthly": "monthly", "quarterly": "quarterly"}


@dataclass(frozen=True)
class Reporting:
    cadence: str
    recipients: tuple[str, ...]


def parse_reporting(data: Any) -> Reporting:
    errs = _Collector()
    data = _obj(data, ("cadence", "recipients"), errs)
    cadence = _choice(data, "cadence", CADENCES, errs, "")
    recipients = []
    for index, raw in enumerate(_list(data, "recipients", errs, "", min_items=1)):
        if not isinstance(raw, str) or not raw.strip():
            errs.add(f"recipients.{index}", "Give a username.")
        else:
            recipients.append(raw.strip())
    errs.raise_if_any()
    return Reporting(cadence, tuple(dict.fromkeys(recipients)))


def to_data(section: Reporting) -> dict[str, Any]:
    return {"cadence": section.cadence, "recipients": list(section.recipients)}


def sentences(section: Reporting) -> list[tuple[str, str]]:
    return [
        (
            "reporting.cadence",
            f"Reports are built {CADENCES[section.cadence]} and sent to {', '.join(section.recipients)}.",
        )
    ]


SECTION = Section("reporting", "6. Reporting", Reporting, parse_reporting, to_data, sentences)
