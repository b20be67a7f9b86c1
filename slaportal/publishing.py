"""The publishing hook: the domain apps say what happened and who must be told; integrations decides how.

Two signals, sent inside the transaction of the change that caused them, so whatever a receiver records
(an outbox row) commits or rolls back with that change. The domain apps import only this module;
`integrations` connects the receivers (its AppConfig.ready) and so decides who hears what: webhook
subscribers for events, the outbox's mail sender for notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal

# The events SLA Portal publishes, in one catalogue: the publishers name them, webhook subscribers choose
# among them, and the API guide and schema list them with these words.
EVENTS: dict[str, str] = {
    "lead.created": "A CRM sent a lead SLA Portal did not know yet.",
    "lead.handed_off": "Marketing handed the lead to sales: it has an owner and a pickup deadline.",
    "lead.accepted": "Its owner picked the lead up.",
    "lead.rejected": "Its owner rejected the lead with one of the SLA's reasons (details say where it went).",
    "lead.rejection_undone": "Its owner took the rejection back at once: it awaits their pickup again.",
    "lead.qualified": "Sales qualified the lead; product potential and timeframe set its sales temperature.",
    "lead.closed": "Sales closed the lead as won or lost.",
    "lead.reassigned": "A sales manager gave the lead to another rep.",
    "lead.pickup_overdue": "The lead's pickup deadline passed; the SLA's escalation applied.",
    "lead.returned_to_nurture": "A recycled lead's waiting time ended; it is back with marketing.",
    "lead.feedback": "The lead's owner answered the SLA's feedback questions (details hold the answers).",
    "lead.erased": "The lead's personal data was erased (GDPR Art. 17); its anonymous steps remain.",
    "report.published": "A period's report was built and published.",
}

# event: a name of EVENTS; subject: the Lead or MonthlyReport; sla: the version, clause and reason behind
# it; details: what the step recorded; now: the clock of the change.
happened = Signal()


def _in_the_change() -> None:
    # Outside a transaction a receiver's outbox row would commit alone, even if the change then failed.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Publish inside the transaction of the change that caused it.")


def publish(
    event: str,
    *,
    subject: Any,
    now: datetime,
    sla: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Say that `event` happened to `subject`. Call inside the transaction that made the change."""
    if event not in EVENTS:
        raise ValueError(f"{event!r} is not in the catalogue of events (slaportal.publishing.EVENTS).")
    _in_the_change()
    happened.send(
        sender=type(subject), event=event, subject=subject, sla=sla or {}, details=details or {}, now=now
    )


@dataclass(frozen=True)
class Publication:
    """One subject's part of an event published for many at once (a batch transition)."""

    subject: Any
    sla: dict[str, Any]
    details: dict[str, Any]


# event: a name of EVENTS; publications: each subject with its sla and details; now: the clock.
happened_many = Signal()


def publish_many(event: str, publications: list[Publication], *, now: datetime) -> None:
    """`publish` for many subjects of one event: a receiver can answer them all at once (one check of
    who subscribes, one multi-row insert)."""
    if event not in EVENTS:
        raise ValueError(f"{event!r} is not in the catalogue of events (slaportal.publishing.EVENTS).")
    _in_the_change()
    if publications:
        happened_many.send(
            sender=type(publications[0].subject), event=event, publications=publications, now=now
        )


@dataclass(frozen=True)
class Mail:
    to: list[str]
    subject: str
    body: str


# mails: the Mail of each notice (to: addresses; subject, body: the text); now: the clock of the change.
notice = Signal()


def tell_many(mails: list[Mail], *, now: datetime) -> None:
    """`tell` for many notices at once (a batch transition): one multi-row insert."""
    _in_the_change()
    if mails:
        notice.send(sender=None, mails=mails, now=now)


def tell(*, to: list[str], subject: str, body: str, now: datetime) -> None:
    """Ask for a notice (an e-mail) to `to`. Call inside the transaction that made the change."""
    tell_many([Mail(to, subject, body)], now=now)
