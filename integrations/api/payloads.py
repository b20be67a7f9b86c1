"""What webhooks carry, typed for the OpenAPI document: an event's envelope, the SLA behind a step, and
what each step records in its `details` (the same in the lead's events)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.api.serializers import LeadSerializer
from leads.models import Temperature
from slaportal.publishing import EVENTS

LEAD_EVENTS = [event for event in EVENTS if event.startswith("lead.")]


class _PickupBefore(serializers.Serializer):
    owner_id = serializers.IntegerField(allow_null=True, help_text="The owner's user id.")
    pickup_deadline = serializers.DateTimeField(allow_null=True, help_text="The pickup deadline.")
    reminder_at = serializers.DateTimeField(allow_null=True, help_text="When the owner was to be reminded.")
    rejection_reason = serializers.CharField(allow_blank=True, help_text="An earlier rejection's reason.")
    recycle_at = serializers.DateTimeField(allow_null=True, help_text="An earlier recycle date.")
    nurture_since = serializers.DateTimeField(allow_null=True, help_text="When it last went back to nurture.")
    picked_up_at = serializers.DateTimeField(allow_null=True, help_text="An earlier pickup.")
    pickup_business_minutes = serializers.IntegerField(allow_null=True, help_text="That pickup's time.")
    pickup_within_sla = serializers.BooleanField(allow_null=True, help_text="Whether it was in time.")


class _EventDetails(serializers.Serializer):
    source = serializers.CharField(required=False, help_text="created: where the lead came from.")
    changed = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="updated: the fields the CRM changed."
    )
    marketing_temperature = serializers.ChoiceField(
        choices=Temperature.choices,
        required=False,
        allow_null=True,
        help_text="evaluated: the marketing temperature reached.",
    )
    icp_fit = serializers.BooleanField(required=False, help_text="evaluated: whether the lead fits the ICP.")
    is_mql = serializers.BooleanField(required=False, help_text="evaluated: whether the lead is an MQL.")
    temperature = serializers.ChoiceField(
        choices=Temperature.choices, required=False, help_text="handed_off: the temperature at handoff."
    )
    pickup_hours = serializers.FloatField(
        required=False, allow_null=True, help_text="handed_off: business hours sales has to pick it up."
    )
    owner = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="handed_off, reminded: the rep's username (null when no rep was available).",
    )
    assignment = serializers.CharField(
        required=False, help_text="handed_off: the clause that chose the rep, or why none was chosen."
    )
    within_deadline = serializers.BooleanField(
        required=False, help_text="accepted, rejected: picked up before the deadline."
    )
    business_minutes = serializers.IntegerField(
        required=False, allow_null=True, help_text="accepted, rejected: business minutes from handoff."
    )
    unrecorded_breach = serializers.BooleanField(
        required=False,
        help_text="accepted, rejected: true when the pickup came after a deadline no escalation sweep had "
        "recorded yet; the reports count it as a missed deadline.",
    )
    converts_mql = serializers.DateTimeField(
        required=False,
        help_text="accepted: when the lead became an MQL, on its first acceptance since (the MQL cohort it "
        "converts).",
    )
    converts_accepted = serializers.DateTimeField(
        required=False, help_text="qualified: the acceptance this qualification follows (its cohort)."
    )
    converts_qualified = serializers.DateTimeField(
        required=False, help_text="won: the first qualification this win follows (its cohort)."
    )
    note = serializers.CharField(required=False, help_text="rejected: the rep's note (erased: '[erased]').")
    destination = serializers.ChoiceField(
        choices=["nurture", "disqualify", "recycle"],
        required=False,
        help_text="rejected: where the rejection reason sends the lead.",
    )
    recycle_days = serializers.IntegerField(
        required=False, allow_null=True, help_text="rejected: days before a recycled lead returns."
    )
    before = _PickupBefore(
        required=False,
        help_text="rejected: the lead's pickup fields as they stood (what undoing the rejection restores).",
    )
    rejected_at = serializers.DateTimeField(
        required=False, help_text="rejection_undone: when the rejection taken back was made."
    )
    sales_temperature = serializers.ChoiceField(
        choices=Temperature.choices, required=False, help_text="qualified: the sales temperature."
    )
    detail = serializers.CharField(required=False, help_text="qualified: how the clause read it.")
    handoff_temperature = serializers.ChoiceField(
        choices=Temperature.choices,
        required=False,
        allow_null=True,
        help_text="qualified: the marketing temperature the lead was handed off with.",
    )
    missed_by = serializers.CharField(
        required=False, allow_null=True, help_text="breached: the rep who missed the deadline."
    )
    deadline = serializers.DateTimeField(required=False, help_text="breached: the deadline that passed.")
    new_owner = serializers.CharField(
        required=False, allow_null=True, help_text="breached: the rep the escalation gave the lead to."
    )
    answers = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="feedback: each question's text to its answer ('[erased]' after erasure).",
    )
    fields = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="erased: the fields erased."
    )


# A reassignment records "from", a Python keyword, so the class is made with type().
EventDetailsSerializer = type(
    "EventDetailsSerializer",
    (_EventDetails,),
    {
        "__doc__": "What a step recorded. Each kind of step writes its own members; all are optional.",
        "__module__": __name__,
        "from": serializers.CharField(
            required=False, allow_null=True, help_text="reassigned: the previous owner's username."
        ),
        "to": serializers.CharField(required=False, help_text="reassigned: the new owner's username."),
    },
)


@extend_schema_field(EventDetailsSerializer)
class EventDetailsField(serializers.JSONField):
    """Sent as recorded; the schema describes its members."""


class SlaReferenceSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        allow_null=True, help_text="The SLA version's number behind the step (null when none was in force)."
    )
    clause = serializers.CharField(help_text="The clause that decided the step, such as handoff.pickup.hot.")
    reason = serializers.CharField(help_text="A rejection's reason code; empty for other steps.")


class LeadEventDataSerializer(serializers.Serializer):
    lead = LeadSerializer(help_text="The lead after the step, exactly as GET /leads/{lead_id} shows it.")
    sla = SlaReferenceSerializer(help_text="The SLA version, clause and reason behind the step.")
    details = EventDetailsField(help_text="What the step recorded.")


class LeadEventPayloadSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=LEAD_EVENTS, help_text="The event's name in the catalogue.")
    occurred_at = serializers.DateTimeField(help_text="When the step happened (UTC).")
    data = LeadEventDataSerializer(help_text="The lead, the SLA behind the step and its details.")


class ReportDataSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The report's id (GET /reports/monthly lists them).")
    agreement = serializers.IntegerField(help_text="The SLA's id.")
    period = serializers.CharField(help_text="The period, such as 2026-11 or 2026-Q4.")
    url = serializers.URLField(help_text="The report's page in SLA Portal.")


class ReportPayloadSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=["report.published"], help_text="The event's name.")
    occurred_at = serializers.DateTimeField(help_text="When the report was published (UTC).")
    data = ReportDataSerializer(help_text="Which report, and where to read it.")


class TestDataSerializer(serializers.Serializer):
    subscription = serializers.IntegerField(help_text="The subscription the test was sent to.")


class TestPayloadSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=["webhook.test"], help_text="Always webhook.test.")
    occurred_at = serializers.DateTimeField(help_text="When the test was asked for (UTC).")
    data = TestDataSerializer(help_text="Which subscription.")
