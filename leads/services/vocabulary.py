"""The words every lead service speaks: who acted (Actor) and why an operation was refused (errors).

The messages are written for the person or integration that tried; views and the API show them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leads.models import Lead, LeadEvent

Status = Lead.Status


@dataclass(frozen=True)
class Actor:
    """Who did it: a person in the browser, an integration over the API, or SLA Portal itself."""

    type: str
    user: Any = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(LeadEvent.ActorType.USER, user)

    @classmethod
    def integration(cls, user: Any) -> Actor:
        return cls(LeadEvent.ActorType.INTEGRATION, user)

    @classmethod
    def system(cls) -> Actor:
        return cls(LeadEvent.ActorType.SYSTEM, None)


class LeadError(Exception):
    """A refused operation; the message is written for the person or integration that tried."""


class NotAllowed(LeadError):
    pass


class LeadValidationError(LeadError):
    def __init__(self, errors: dict[str, Any]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class TransitionRefused(LeadError):
    """The state machine does not allow this from the lead's current status."""

    def __init__(self, *, action: str, current: str, why: str = ""):
        because = why or f"the lead is {Status(current).label.lower()}"
        super().__init__(f"Cannot {action}: {because}.")
        self.current = current


class TransitionConflict(LeadError):
    """Someone else moved the lead between our read and our write (a race, or a double click)."""

    def __init__(self, lead_id: int, action: str):
        row = Lead.objects.filter(pk=lead_id).values("status", "owner__username").first() or {}
        status = Status(row["status"]).label.lower() if row.get("status") else "gone"
        owner = f", owned by {row['owner__username']}" if row.get("owner__username") else ""
        super().__init__(f"Cannot {action}: someone else changed this lead first; it is now {status}{owner}.")
        self.current = row.get("status")


class NoAgreement(LeadError):
    pass
