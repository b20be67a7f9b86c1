"""Writes to leads, one module per job. Views, the API, management commands and Celery tasks call these.

- `vocabulary`: who acted (Actor) and why an operation was refused (the errors).
- `transitions`: the state machine (TRANSITIONS), the transition core that writes every LeadEvent, and
  `allowed_actions`, what a person may do to a lead now.
- `assignment`: round-robin among the available reps, and pickup deadlines in business hours.
- `evaluation`: a lead against the SLA in force, and the handoff it decides.
- `ingest`: leads and activities as CRMs send them.
- `sales`: accept, reject, qualify, close, reassign, feedback.
- `escalation`: reminders and breaches of the pickup deadline, and recycled leads going back to nurture.
- `privacy`: erasing a person's data (GDPR Art. 17).
"""

from leads.services.assignment import RoundRobin, Turns, deadline_fields
from leads.services.escalation import check_overdue_pickups, leads_return_recycled
from leads.services.evaluation import InForce, leads_evaluate
from leads.services.ingest import (
    LEAD_FIELDS,
    IngestResult,
    activities_check,
    activities_ingest,
    clean_lead_data,
    lead_upsert,
)
from leads.services.privacy import lead_erase
from leads.services.sales import (
    lead_accept,
    lead_close,
    lead_feedback,
    lead_qualify,
    lead_reassign,
    lead_reject,
    lead_undo_reject,
    leads_reassign_many,
)
from leads.services.transitions import (
    ACTIONS,
    ALLOWED,
    DESTINATION_STATUS,
    FEEDBACK_STATUSES,
    PUBLISHED_EVENTS,
    REJECTED_STATUSES,
    TRANSITIONS,
    allowed_actions,
    lead_transition,
    record_event,
)
from leads.services.vocabulary import (
    Actor,
    LeadError,
    LeadValidationError,
    NoAgreement,
    NotAllowed,
    TransitionConflict,
    TransitionRefused,
)

__all__ = [
    "ACTIONS",
    "ALLOWED",
    "DESTINATION_STATUS",
    "FEEDBACK_STATUSES",
    "LEAD_FIELDS",
    "PUBLISHED_EVENTS",
    "REJECTED_STATUSES",
    "TRANSITIONS",
    "Actor",
    "InForce",
    "IngestResult",
    "LeadError",
    "LeadValidationError",
    "NoAgreement",
    "NotAllowed",
    "RoundRobin",
    "TransitionConflict",
    "TransitionRefused",
    "Turns",
    "activities_check",
    "activities_ingest",
    "allowed_actions",
    "check_overdue_pickups",
    "clean_lead_data",
    "deadline_fields",
    "lead_accept",
    "lead_close",
    "lead_erase",
    "lead_feedback",
    "lead_qualify",
    "lead_reassign",
    "lead_reject",
    "lead_transition",
    "lead_undo_reject",
    "lead_upsert",
    "leads_evaluate",
    "leads_reassign_many",
    "leads_return_recycled",
    "record_event",
]
