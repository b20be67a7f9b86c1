"""The lead as integrations see it: in API responses and in webhook payloads alike."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.api.strict import StrictFields
from leads import limits
from leads.models import Lead, Temperature

TEXT = limits.LEAD_TEXT_MAX


class CompanySerializer(StrictFields, serializers.Serializer):
    name = serializers.CharField(
        max_length=TEXT["company_name"], required=False, allow_blank=True, source="company_name"
    )
    employees = serializers.IntegerField(
        min_value=0,
        max_value=limits.COMPANY_EMPLOYEES_MAX,
        required=False,
        allow_null=True,
        source="company_employees",
    )
    annual_revenue = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        coerce_to_string=False,
        source="company_annual_revenue",
    )
    industry = serializers.CharField(
        max_length=TEXT["company_industry"], required=False, allow_blank=True, source="company_industry"
    )
    country = serializers.CharField(
        max_length=2,
        min_length=2,
        required=False,
        allow_blank=True,
        source="company_country",
        help_text="ISO 3166 two-letter code, such as PL.",
    )


class LeadSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="E-mail address; empty when the CRM sent none.")
    company = serializers.SerializerMethodField()
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    sla_version = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    marketing_temperature = serializers.ChoiceField(
        choices=Temperature.choices, allow_null=True, read_only=True
    )
    sales_temperature = serializers.ChoiceField(choices=Temperature.choices, allow_null=True, read_only=True)
    explanation = serializers.JSONField(read_only=True, help_text="The last evaluation, clause by clause.")

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

    @extend_schema_field(CompanySerializer)
    def get_company(self, lead: Lead) -> dict[str, Any]:
        return CompanySerializer(lead).data
