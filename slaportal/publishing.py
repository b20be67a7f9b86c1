"""The publishing hook: the domain apps say what happened and who must be told; integrations decides how.

Two signals, sent inside the transaction of the change that caused them, so whatever a receiver records
(an outbox row) commits or rolls back with that change. The domain apps import only this module;
`integrations` connects the receivers (its AppConfig.ready) and so decides who hears what: webhook
subscribers for events, the outbox's mail sender for notices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal

# event: "lead.accepted", "report.published" ...; subject: the Lead or MonthlyReport; sla: the version,
# clause and reason behind it; now: the clock of the change.
happened = Signal()
# to: e-mail addresses; subject, body: the text; now: the clock of the change.
notice = Signal()


def _in_the_change() -> None:
    # Outside a transaction a receiver's outbox row would commit alone, even if the change then failed.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Publish inside the transaction of the change that caused it.")


def publish(event: str, *, subject: Any, now: datetime, sla: dict[str, Any] | None = None) -> None:
    """Say that `event` happened to `subject`. Call inside the transaction that made the change."""
    _in_the_change()
    happened.send(sender=type(subject), event=event, subject=subject, sla=sla or {}, now=now)


def tell(*, to: list[str], subject: str, body: str, now: datetime) -> None:
    """Ask for a notice (an e-mail) to `to`. Call inside the transaction that made the change."""
    _in_the_change()
    notice.send(sender=None, to=to, subject=subject, body=body, now=now)
