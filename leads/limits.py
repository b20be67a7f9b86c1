"""Input limits of the lead domain, in one place: the services enforce them, and the browser forms and the
API serializers read them from here, so a field never accepts in one door what another refuses."""

from __future__ import annotations

# Ids in the sending system (a CRM's lead id, an activity's id).
EXTERNAL_ID_MAX = 200
# Text fields of a lead, by model field (the columns are this wide).
LEAD_TEXT_MAX = {
    "email": 254,
    "first_name": 150,
    "last_name": 150,
    "job_title": 200,
    "source": 100,
    "company_name": 200,
    "company_industry": 100,
}
COMPANY_EMPLOYEES_MAX = 10**8
USERNAME_MAX = 150
# One POST of activities.
ACTIVITIES_PER_REQUEST = 1000
# Sales' answers.
REJECT_NOTE_MAX = 2000
PURCHASE_MONTHS_MAX = 240
FEEDBACK_ANSWER_MAX = 5000

# The lead list's bulk reassign works on one page of the list at most.
BULK_REASSIGN_MAX = 100

# How long after rejecting a lead its owner may take the rejection back (the Undo beside "Rejected").
REJECT_UNDO_SECONDS = 30
