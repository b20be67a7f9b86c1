"""The lead as integrations see it: in API responses and in webhook payloads alike."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from integrations.api.strict import StrictFields, built_once
from leads import limits
from leads.models import Lead, Temperature

TEXT = limits.LEAD_TEXT_MAX


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.JSONField):
    """A number sent as it is held: 90 stays 90 (FloatField would send 90.0), 92.5 stays 92.5."""


class CompanySerializer(StrictFields, serializers.Serializer):
    name = serializers.CharField(
        max_length=TEXT["company_name"],
        required=False,
        allow_blank=True,
        source="company_name",
        help_text="The company's name; empty when not known or erased.",
    )
    employees = serializers.IntegerField(
        min_value=0,
        max_value=limits.COMPANY_EMPLOYEES_MAX,
        required=False,
        allow_null=True,
        source="company_employees",
        help_text="The number of employees; null when not known.",
    )
    annual_revenue = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        coerce_to_string=False,
        source="company_annual_revenue",
        help_text="Annual revenue, a plain amount (the ICP compares it as a number); null when not known.",
    )
    industry = serializers.CharField(
        max_length=TEXT["company_industry"],
        required=False,
        allow_blank=True,
        source="company_industry",
        help_text="The industry, in the CRM's words; empty when not known.",
    )
    country = serializers.CharField(
        max_length=2,
        min_length=2,
        required=False,
        allow_blank=True,
        source="company_country",
        help_text="ISO 3166 two-letter code, such as PL.",
    )


@extend_schema_serializer(component_name="Company")
class CompanyAnswerSerializer(CompanySerializer):
    """The lead's company as answers show it: every member is always sent (empty or null when unknown)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


class CheckSerializer(serializers.Serializer):
    clause = serializers.CharField(help_text="The clause checked, such as icp.1.")
    matched = serializers.BooleanField(help_text="Whether the lead met the clause.")
    rule = serializers.CharField(help_text="The clause, in a sentence.")
    detail = serializers.CharField(help_text="What the lead had (erased: '[erased]').")


class ExplanationSerializer(serializers.Serializer):
    """The lead's last evaluation against the SLA in force, clause by clause; `{}` before the first."""

    version_id = serializers.IntegerField(required=False, help_text="The SLA version's id.")
    version = serializers.IntegerField(required=False, help_text="The SLA version's number.")
    evaluated_at = serializers.DateTimeField(required=False, help_text="When it was evaluated (UTC).")
    icp_fit = serializers.BooleanField(required=False, help_text="Whether every ICP clause matched.")
    marketing_temperature = serializers.ChoiceField(
        choices=Temperature.choices, required=False, allow_null=True, help_text="The temperature reached."
    )
    is_mql = serializers.BooleanField(required=False, help_text="At or above the SLA's MQL threshold.")
    transfer = serializers.BooleanField(required=False, help_text="Whether the lead goes (went) to sales.")
    checks = CheckSerializer(many=True, required=False, help_text="Each clause checked, in order.")
    error = serializers.CharField(required=False, help_text="Why the lead could not be evaluated.")


@extend_schema_field(ExplanationSerializer)
class ExplanationField(serializers.JSONField):
    """Sent as stored; the schema describes its members."""


class LeadSerializer(serializers.ModelSerializer):
    email = serializers.CharField(
        read_only=True, help_text="E-mail address; empty when the CRM sent none or the data was erased."
    )
    company = serializers.SerializerMethodField(help_text="The lead's company.")
    owner = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The username of the sales rep (or, after a missed deadline, the manager) who has the "
        "lead; null when nobody has it.",
    )
    sla_version = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The id of the SLA version that governed the lead's latest handoff (as in GET "
        "/agreements/active); null before its first handoff.",
    )
    marketing_temperature = serializers.ChoiceField(
        choices=Temperature.choices,
        allow_null=True,
        read_only=True,
        help_text="The hottest level whose marketing rules the lead's recent activities meet; null when "
        "none is met or before the first evaluation.",
    )
    sales_temperature = serializers.ChoiceField(
        choices=Temperature.choices,
        allow_null=True,
        read_only=True,
        help_text="The temperature sales gave the lead when qualifying it; null until then.",
    )
    explanation = ExplanationField(read_only=True, help_text="The last evaluation, clause by clause.")

    class Meta:
        model = Lead
        fields = [
            "id",
            "external_id",
            "email",
            "first_name",
            "last_name",
            "job_title",
            "source",
            "company",
            "status",
            "marketing_temperature",
            "sales_temperature",
            "icp_fit",
            "owner",
            "handed_off_at",
            "pickup_deadline",
            "accepted_at",
            "pickup_breaches",
            "sla_version",
            "explanation",
            "created_at",
            "updated_at",
            "erased_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The lead's id in SLA Portal: the {lead_id} of its paths."},
            "external_id": {"help_text": "The CRM's id of the lead; erased-<id> once its data is erased."},
            "first_name": {"help_text": "First name; empty when not known or erased."},
            "last_name": {"help_text": "Last name; empty when not known or erased."},
            "job_title": {"help_text": "Job title; empty when not known or erased."},
            "source": {"help_text": "Where the lead came from, as the CRM sent it; empty when not known."},
            "status": {"help_text": "Where the lead is in the pipeline."},
            "icp_fit": {"help_text": "Whether the lead fits the ICP; null until first evaluated."},
            "handed_off_at": {
                "help_text": "When the lead was last handed off to sales (UTC); null if never."
            },
            "pickup_deadline": {
                "help_text": "The pickup deadline of the latest handoff or reassignment (UTC), counted in "
                "the SLA's business hours; null when none applies."
            },
            "accepted_at": {
                "help_text": "When sales accepted the lead after its latest handoff (UTC); null until then."
            },
            "pickup_breaches": {"help_text": "How many pickup deadlines the lead has missed."},
            "created_at": {"help_text": "When the lead was created in SLA Portal (UTC)."},
            "updated_at": {
                "help_text": "When the lead last changed (UTC): its data, an evaluation or a step. Lists are "
                "ordered by it."
            },
            "erased_at": {"help_text": "When the person's data was erased (UTC); null if it was not."},
        }

    @extend_schema_field(CompanyAnswerSerializer)
    def get_company(self, lead: Lead) -> dict[str, Any]:
        return built_once(CompanySerializer).to_representation(lead)


def lead_data(lead: Lead) -> dict[str, Any]:
    """The lead as GET /leads/{id} answers it (and webhooks send it)."""
    return built_once(LeadSerializer).to_representation(lead)
