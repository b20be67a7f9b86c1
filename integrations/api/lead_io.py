"""What the lead endpoints read and answer besides the lead itself: a lead's fields as a CRM sends them,
its events, activities, and the bodies of the lead actions. Input is strict (StrictFields): an unknown
member is an error, never ignored."""

from __future__ import annotations

from rest_framework import serializers

from integrations.api.payloads import EventDetailsField
from integrations.api.serializers import CompanySerializer
from integrations.api.strict import StrictFields
from leads import limits
from leads.limits import LEAD_TEXT_MAX as TEXT
from leads.models import LeadEvent


class LeadWriteSerializer(StrictFields, serializers.Serializer):
    """A lead as the CRM sends it. On an update only the fields sent change; the others keep their value."""

    external_id = serializers.CharField(
        max_length=limits.EXTERNAL_ID_MAX,
        trim_whitespace=False,  # an id is used exactly as sent; the service refuses one padded with spaces
        help_text="The CRM's id: create or update by it.",
    )
    email = serializers.EmailField(
        max_length=TEXT["email"],
        required=False,
        allow_blank=True,
        help_text="E-mail address; empty for none.",
    )
    first_name = serializers.CharField(
        max_length=TEXT["first_name"], required=False, allow_blank=True, help_text="First name."
    )
    last_name = serializers.CharField(
        max_length=TEXT["last_name"], required=False, allow_blank=True, help_text="Last name."
    )
    job_title = serializers.CharField(
        max_length=TEXT["job_title"],
        required=False,
        allow_blank=True,
        help_text="Job title; an ICP criterion may compare it, without regard to case.",
    )
    source = serializers.CharField(
        max_length=TEXT["source"],
        required=False,
        allow_blank=True,
        help_text="Where the lead came from, in the CRM's words, such as webinar.",
    )
    company = CompanySerializer(required=False, help_text="The company; only the members sent change.")


class LeadEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_label",
        read_only=True,
        help_text="Who took the step: a username, '<username> (integration)' for a call with an API token, "
        "SLA Portal for its own steps, or 'deleted user'.",
    )
    sla_version = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The id of the SLA version the step applied; null for none.",
    )
    details = EventDetailsField(read_only=True, help_text="What the step recorded.")

    class Meta:
        model = LeadEvent
        fields = [
            "kind",
            "at",
            "actor",
            "actor_type",
            "from_status",
            "to_status",
            "sla_version",
            "clause",
            "reason",
            "details",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "kind": {"help_text": "What happened."},
            "at": {"help_text": "When it happened (UTC)."},
            "actor_type": {
                "help_text": "user (a person), integration (an API token) or system (SLA Portal itself)."
            },
            "from_status": {"help_text": "The lead's status before the step."},
            "to_status": {"help_text": "The lead's status after the step; the same when it changed none."},
            "clause": {
                "help_text": "The SLA clause behind the step, such as handoff.pickup.hot; empty for none."
            },
            "reason": {"help_text": "A rejection's reason code; empty for other steps."},
        }


class ActivitySerializer(StrictFields, serializers.Serializer):
    lead_external_id = serializers.CharField(
        max_length=limits.EXTERNAL_ID_MAX,
        trim_whitespace=False,
        help_text="The external_id of the lead it is about; send the lead first.",
    )
    type = serializers.CharField(max_length=50, help_text="One of the activity types of the SLA in force.")
    occurred_at = serializers.DateTimeField(
        help_text="When it happened, with a time zone (such as Z); not in the future."
    )
    external_id = serializers.CharField(
        max_length=limits.EXTERNAL_ID_MAX,
        trim_whitespace=False,
        help_text="The same external_id twice is stored once.",
    )
    details = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="The CRM's own data about the activity, kept as sent; SLA Portal reads none of it. Emptied "
        "when the person's data is erased.",
    )


class IngestResultSerializer(serializers.Serializer):
    stored = serializers.IntegerField(help_text="The activities stored.")
    duplicates = serializers.IntegerField(
        help_text="The activities not stored again: their external_id was stored before, or came twice."
    )
    lead_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The ids of the leads that got new activities and were evaluated again, ascending.",
    )


class RejectSerializer(StrictFields, serializers.Serializer):
    reason = serializers.CharField(
        max_length=50, help_text="A rejection reason code of the lead's SLA version."
    )
    note = serializers.CharField(
        max_length=limits.REJECT_NOTE_MAX,
        help_text="Why, in a few words: marketing learns from it. Replaced by '[erased]' if the person's "
        "data is erased.",
    )


class QualifySerializer(StrictFields, serializers.Serializer):
    product_potential = serializers.BooleanField(
        help_text="Whether the lead could use the product; false makes it cold, whatever the timeframe."
    )
    purchase_timeframe_months = serializers.IntegerField(
        min_value=0,
        max_value=limits.PURCHASE_MONTHS_MAX,
        help_text="Months until the lead means to buy; the SLA's sales timeframes (temperature of GET "
        "/agreements/active) turn it into the sales temperature.",
    )


class CloseSerializer(StrictFields, serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["won", "lost"], help_text="How the deal ended.")


class ReassignSerializer(StrictFields, serializers.Serializer):
    owner = serializers.CharField(
        max_length=limits.USERNAME_MAX, help_text="Username of an available sales rep."
    )


class FeedbackSerializer(StrictFields, serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.CharField(max_length=limits.FEEDBACK_ANSWER_MAX, allow_blank=True),
        help_text="Question code -> answer, for the feedback questions of the lead's SLA version.",
    )
