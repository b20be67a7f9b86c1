"""REST API: the SLA version in force, with all its structured clauses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements import selectors
from agreements.clauses import CALENDAR_KEYS, to_data
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
from integrations.api.strict import StrictQuery
from slaportal.roles import Role


class RejectionReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    destination = serializers.ChoiceField(choices=["nurture", "disqualify", "recycle"])
    recycle_days = serializers.IntegerField(allow_null=True)


class FeedbackQuestionSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class ActiveAgreementSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The version's id (leads' sla_version).")
    agreement = serializers.CharField()
    agreement_id = serializers.IntegerField()
    version = serializers.IntegerField()
    effective_from = serializers.DateTimeField()
    terms = serializers.JSONField()
    icp_criteria = serializers.JSONField(help_text="[{field, op, value}]; all must match.")
    temperature = serializers.JSONField(help_text="Activity types, window, marketing rules, sales buckets.")
    mql_threshold = serializers.ChoiceField(choices=["cold", "warm", "hot"])
    icp_fit_required = serializers.BooleanField()
    pickup_deadlines_business_hours = serializers.DictField(child=serializers.FloatField())
    calendar = serializers.JSONField(help_text="Time zone, working days (0 = Monday), hours, holidays.")
    escalation = serializers.JSONField()
    rejection_reasons = RejectionReasonSerializer(many=True)
    feedback_questions = FeedbackQuestionSerializer(many=True)
    goals = serializers.JSONField()
    reporting = serializers.JSONField()


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
