"""REST API: the SLA version in force, with all its structured clauses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements import selectors
from agreements.clauses import CADENCES, CALENDAR_KEYS, ICP_FIELDS, OPERATORS, SIDES, to_data
from agreements.models import Agreement
from integrations.api.common import (
    AGREEMENT_PARAM,
    COMMON_ERRORS,
    PROBLEM,
    ProblemSerializer,
    agreement_param,
    problem,
    require_role,
)
from integrations.api.serializers import NumberField
from integrations.api.strict import StrictQuery
from slaportal.roles import Role


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "description": "gte, lte: the bound."},
            {
                "type": "array",
                "items": {"type": "number"},
                "minItems": 2,
                "maxItems": 2,
                "description": "between: [lowest, highest], both included.",
            },
            {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "in, not_in: the values; countries as ISO 3166 two-letter codes.",
            },
        ]
    }
)
class CriterionValueField(serializers.JSONField):
    """A criterion's value: its shape depends on the operator."""


class GlossaryEntrySerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The term, such as MQL.")
    definition = serializers.CharField(help_text="What both sides mean by it.")


class TermsSerializer(serializers.Serializer):
    marketing_lead_definition = serializers.CharField(help_text="What a lead is for marketing.")
    sales_lead_definition = serializers.CharField(help_text="What a lead is for sales.")
    glossary = GlossaryEntrySerializer(many=True, help_text="Terms both sides use, with their meaning.")


class IcpCriterionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(
        choices=list(ICP_FIELDS),
        help_text="The lead's field compared: the company's employees, annual revenue, industry or country, "
        "or the job title.",
    )
    op = serializers.ChoiceField(
        choices=list(OPERATORS),
        help_text="gte (at least), lte (at most) and between compare numbers; in and not_in compare text, "
        "without regard to case. A lead without the value never matches.",
    )
    value = CriterionValueField(help_text="What the field is compared with; its shape depends on op.")


class MarketingRulesSerializer(serializers.Serializer):
    """Activity type -> the least number of activities of that type within the window. A level is reached
    when every minimum is met; the hottest level reached is the lead's marketing temperature."""

    cold = serializers.DictField(child=serializers.IntegerField(), help_text="What makes a lead cold.")
    warm = serializers.DictField(child=serializers.IntegerField(), help_text="What makes a lead warm.")
    hot = serializers.DictField(child=serializers.IntegerField(), help_text="What makes a lead hot.")


class TemperatureRulesSerializer(serializers.Serializer):
    activity_types = serializers.ListField(
        child=serializers.CharField(),
        help_text="The activity types counted; an activity's type must be one of them (POST /activities).",
    )
    window_days = serializers.IntegerField(help_text="Activities older than this many days do not count.")
    owner = serializers.ChoiceField(
        choices=list(SIDES), help_text="The side that owns the temperature classification."
    )
    marketing_rules = MarketingRulesSerializer(
        help_text="Marketing's rules: the activities that make a lead cold, warm or hot."
    )
    sales_hot_below_months = serializers.IntegerField(
        help_text="Sales rates a lead with product potential hot when it will buy in fewer months than this."
    )
    sales_warm_up_to_months = serializers.IntegerField(
        help_text="Warm when it will buy in at most this many months (and is not hot); later, or without "
        "product potential, cold."
    )


class BusinessCalendarSerializer(serializers.Serializer):
    timezone = serializers.CharField(
        help_text="The IANA time zone of the working hours, such as Europe/Warsaw."
    )
    working_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="The working days, 0 (Monday) to 6 (Sunday), in ascending order.",
    )
    workday_start = serializers.CharField(help_text="When the working day starts, HH:MM (24-hour clock).")
    workday_end = serializers.CharField(help_text="When the working day ends, HH:MM (24-hour clock).")
    holiday_country = serializers.CharField(
        help_text="The country (ISO 3166 two-letter code) whose public holidays are not working days; "
        "empty for none."
    )
    holiday_subdivision = serializers.CharField(
        help_text="The region of that country whose own holidays count too, such as BY; empty for the "
        "national holidays alone."
    )


class EscalationSerializer(serializers.Serializer):
    notify_manager = serializers.BooleanField(
        help_text="Whether the sales managers are e-mailed when a pickup deadline passes (the rep always is)."
    )
    reassign = serializers.BooleanField(
        help_text="Whether the lead then goes to another available rep with a fresh deadline (to the sales "
        "manager, without one, when no rep is available)."
    )
    assignment = serializers.ChoiceField(
        choices=["round_robin"], help_text="How reps get leads: in turn, among the available reps."
    )


class GoalsSerializer(serializers.Serializer):
    mqls_icp_per_month = serializers.IntegerField(help_text="ICP-fit MQLs marketing delivers a month.")
    touches_per_account_per_month = serializers.IntegerField(
        help_text="How many times a month marketing touches each target account."
    )
    pickup_within_sla_pct = NumberField(
        help_text="The percentage (0–100) of handed-off leads sales picks up within the deadline."
    )
    acceptance_rate_pct = NumberField(help_text="The percentage (0–100) of handed-off leads sales accepts.")
    deals_won_per_month = serializers.IntegerField(help_text="Deals sales wins a month.")


class ReportingSerializer(serializers.Serializer):
    cadence = serializers.ChoiceField(
        choices=list(CADENCES), help_text="How often the report is built and sent."
    )
    recipients = serializers.ListField(
        child=serializers.CharField(), help_text="The usernames of the people the report is sent to."
    )


class RejectionReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The reason's code: the `reason` of POST /leads/{lead_id}/reject.")
    label = serializers.CharField(help_text="The reason, in words.")
    destination = serializers.ChoiceField(
        choices=["nurture", "disqualify", "recycle"],
        help_text="Where a lead rejected for it goes: back to marketing's nurture, disqualified, or "
        "recycled (back to nurture after recycle_days).",
    )
    recycle_days = serializers.IntegerField(
        allow_null=True, help_text="recycle: the days before the lead returns to nurture; null otherwise."
    )


class FeedbackQuestionSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The question's code: its key in the `answers` of a feedback.")
    text = serializers.CharField(help_text="The question.")


class ActiveAgreementSerializer(serializers.Serializer):
    """The SLA version in force, with every clause that drives the pipeline."""

    id = serializers.IntegerField(help_text="The version's id (leads' sla_version).")
    agreement = serializers.CharField(help_text="The agreement's name.")
    agreement_id = serializers.IntegerField(help_text="The agreement's id: the `agreement` parameter.")
    version = serializers.IntegerField(
        help_text="The version's number within the agreement (webhooks' sla.version)."
    )
    effective_from = serializers.DateTimeField(help_text="When the version came into force (UTC).")
    terms = TermsSerializer(help_text="What a lead is for each side, and the glossary.")
    icp_criteria = IcpCriterionSerializer(
        many=True, help_text="The Ideal Customer Profile: a lead fits only when every criterion matches."
    )
    temperature = TemperatureRulesSerializer(
        help_text="Lead temperature: marketing's rules (activities within a window) and sales' timeframes."
    )
    mql_threshold = serializers.ChoiceField(
        choices=["cold", "warm", "hot"],
        help_text="A lead is an MQL when its marketing temperature is this or hotter.",
    )
    icp_fit_required = serializers.BooleanField(
        help_text="Whether an MQL must also fit the ICP to be handed off to sales."
    )
    pickup_deadlines_business_hours = serializers.DictField(
        child=serializers.FloatField(),
        help_text="Marketing temperature -> the business hours sales has to accept or reject a lead handed "
        "off at it, for each temperature at or above the MQL threshold.",
    )
    calendar = BusinessCalendarSerializer(
        help_text="The business hours that pickup deadlines are counted in."
    )
    escalation = EscalationSerializer(help_text="What happens when a pickup deadline passes.")
    rejection_reasons = RejectionReasonSerializer(
        many=True, help_text="The reasons sales may reject a lead for, and where each sends it."
    )
    feedback_questions = FeedbackQuestionSerializer(
        many=True, help_text="The questions a rep answers about a lead after contacting it."
    )
    goals = GoalsSerializer(help_text="Each side's monthly targets, which the reports measure.")
    reporting = ReportingSerializer(help_text="How often the report is built, and who receives it.")


def active_agreement_data(agreement: Agreement) -> dict[str, Any] | None:
    version = selectors.active_version_for_evaluation(agreement_id=agreement.pk)
    if version is None:
        return None
    c = version.clauses
    handoff = to_data(c.handoff)
    return {
        "id": version.pk,
        "agreement": agreement.name,
        "agreement_id": agreement.pk,
        "version": version.number,
        "effective_from": version.effective_from,
        "terms": to_data(c.terms),
        "icp_criteria": to_data(c.icp)["criteria"],
        "temperature": to_data(c.temperature),
        "mql_threshold": c.handoff.mql_threshold,
        "icp_fit_required": c.handoff.icp_fit_required,
        "pickup_deadlines_business_hours": dict(c.handoff.pickup_hours),
        "calendar": {k: handoff[k] for k in CALENDAR_KEYS},
        "escalation": {
            "notify_manager": c.handoff.escalation_notify_manager,
            "reassign": c.handoff.escalation_reassign,
            "assignment": "round_robin",
        },
        "rejection_reasons": handoff["rejection_reasons"],
        "feedback_questions": to_data(c.feedback)["questions"],
        "goals": to_data(c.goals),
        "reporting": to_data(c.reporting),
    }


class ActiveAgreementView(StrictQuery, APIView):
    query_params = ("agreement",)

    @extend_schema(
        summary="The SLA version in force",
        description="Every clause of the agreement's version in force, as SLA Portal applies them to leads: "
        "the ICP, the temperature rules, the handoff's deadlines, calendar and escalation, the rejection "
        "reasons, the feedback questions, the goals and the reporting. 404 when no version is in force.",
        parameters=[AGREEMENT_PARAM],
        responses={
            200: ActiveAgreementSerializer,
            (400, PROBLEM): ProblemSerializer,
            (404, PROBLEM): ProblemSerializer,
            **COMMON_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        require_role(request, *Role)
        agreement = agreement_param(request)
        data = active_agreement_data(agreement) if agreement else None
        if data is None:
            return problem(404, "No SLA version is in force.")
        return Response(ActiveAgreementSerializer(data).data)
