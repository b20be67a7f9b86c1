"""REST API: report figures for a period (live) and the stored monthly reports."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api.common import (
    AGREEMENT_PARAM,
    COMMON_ERRORS,
    PROBLEM,
    ProblemSerializer,
    agreement_param,
    invalid,
    problem,
    require_role,
)
from integrations.api.serializers import NumberField
from integrations.api.strict import StrictCursor, StrictQuery
from reporting import selectors
from reporting.models import MonthlyReport
from reporting.periods import PeriodError, parse_period, period_containing
from reporting.services import agreement_timezone
from slaportal.roles import Role


# Kept as the reports have always sent it: pairs, not objects. `items` is for tools that do not read
# prefixItems (and keeps Spectral's array-items rule); with maxItems 2 it adds no constraint of its own.
@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "array",
            "prefixItems": [
                {"type": "string", "description": "The rejection reason's code."},
                {"type": "integer", "description": "The rejections for it in the period."},
            ],
            "items": {"type": ["string", "integer"]},
            "minItems": 2,
            "maxItems": 2,
        },
    }
)
class ReasonCountsField(serializers.ListField):
    """[reason code, rejections] pairs."""


class RepFiguresSerializer(serializers.Serializer):
    """One rep's pickups and missed deadlines in the period."""

    rep = serializers.CharField(help_text="The rep's username.")
    pickups = serializers.IntegerField(help_text="Leads the rep accepted or rejected.")
    accepted = serializers.IntegerField(help_text="Leads the rep accepted.")
    rejected = serializers.IntegerField(help_text="Leads the rep rejected.")
    within_sla_pct = serializers.FloatField(
        allow_null=True, help_text="The percentage of the rep's pickups made in time; null without pickups."
    )
    avg_pickup_business_minutes = serializers.FloatField(
        allow_null=True,
        help_text="The mean business minutes from handoff to the rep's pickup; null without pickups.",
    )
    breaches = serializers.IntegerField(help_text="Pickup deadlines the rep missed.")


class GoalProgressSerializer(serializers.Serializer):
    """One goal of the SLA version in force at the period's end, and the figure that measures it."""

    department = serializers.CharField(help_text="The side the goal is for: marketing or sales.")
    goal = serializers.CharField(help_text="The goal, in words.")
    clause = serializers.CharField(
        help_text="The version and clause that set it, such as v2 §goals.sales.won."
    )
    target = NumberField(
        help_text="The target: a monthly count times the period's months, a monthly rate, or a percentage."
    )
    actual = NumberField(
        allow_null=True, help_text="The period's figure to compare with it; null when it cannot be computed."
    )
    met = serializers.BooleanField(
        allow_null=True, help_text="Whether the figure reached the target; null when the figure is null."
    )


class ConversionSerializer(serializers.Serializer):
    """Each rate follows one group of leads: those that reached a stage in the period, and the share of them
    that reached the next stage by the time the figures were made (so no rate exceeds 100)."""

    mql_to_accepted_pct = serializers.FloatField(
        allow_null=True, help_text="Acceptances per MQL, in percent; null without MQLs."
    )
    accepted_to_qualified_pct = serializers.FloatField(
        allow_null=True, help_text="Leads qualified per acceptance, in percent; null without acceptances."
    )
    qualified_to_won_pct = serializers.FloatField(
        allow_null=True, help_text="Deals won per lead qualified, in percent; null without qualified leads."
    )


# A stored report's figures come back from PostgreSQL's jsonb with the keys of each object reordered. These
# fields send the nested figures exactly as before (as computed, or as stored), and the schema describes
# their members with the serializers above; re-serializing them would put the keys back in declared order.
@extend_schema_field(ConversionSerializer)
class ConversionField(serializers.DictField):
    """Each rate as a float or null, in the order held."""


@extend_schema_field(RepFiguresSerializer(many=True))
class RepFiguresField(serializers.ListField):
    """The reps' figures, each object as held."""


@extend_schema_field(GoalProgressSerializer(many=True))
class GoalProgressField(serializers.ListField):
    """The goals' rows, each object as held."""


class FiguresSerializer(serializers.Serializer):
    """The report's figures; names as in the reporting issue and the CSV. Counts are of the period's events
    (up to now for the current period); percentages have one decimal."""

    period = serializers.CharField(help_text="The period: a month (2026-10) or a quarter (2026-Q4).")
    period_start = serializers.DateTimeField(
        help_text="When the period starts (UTC); periods follow the SLA's time zone."
    )
    period_end = serializers.DateTimeField(
        help_text="When the period ends (UTC, excluded), even while it has not ended yet."
    )
    complete = serializers.BooleanField(help_text="False for the current period (figures to date).")
    mqls = serializers.IntegerField(help_text="Leads that first became MQLs in the period.")
    mqls_icp_match = serializers.IntegerField(
        help_text="Of those, the leads that fit the ICP (by their latest evaluation)."
    )
    handed_off = serializers.IntegerField(help_text="Handoffs to sales (a reassignment is not a new one).")
    hot = serializers.IntegerField(help_text="Handoffs of leads that were hot when handed off.")
    accepted = serializers.IntegerField(help_text="Acceptances by sales.")
    rejected = serializers.IntegerField(help_text="Rejections by sales.")
    rejected_by_reason = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rejection reason code -> rejections, most first."
    )
    top_rejection_reasons = ReasonCountsField(
        child=serializers.ListField(),
        help_text="The five most frequent rejection reasons, as [reason code, rejections] pairs, most first.",
    )
    nurturing = serializers.IntegerField(
        help_text="Leads in marketing's nurture at the period's end (now, for the current period)."
    )
    in_progress = serializers.IntegerField(
        help_text="Leads in progress with sales (accepted or qualified) at the period's end (now, for the "
        "current period)."
    )
    qualified = serializers.IntegerField(help_text="Leads sales qualified.")
    qualified_hot = serializers.IntegerField(help_text="Leads sales qualified as hot.")
    won = serializers.IntegerField(help_text="Leads closed as won.")
    lost = serializers.IntegerField(help_text="Leads closed as lost.")
    breaches = serializers.IntegerField(help_text="Pickup deadlines missed.")
    pickup_within_sla_pct = serializers.FloatField(
        allow_null=True,
        help_text="The percentage of pickups (acceptances and rejections) made by the deadline; null "
        "without pickups.",
    )
    median_pickup_business_minutes = serializers.FloatField(
        allow_null=True,
        help_text="The median business minutes from handoff to pickup; null when there are none.",
    )
    p90_pickup_business_minutes = serializers.FloatField(
        allow_null=True,
        help_text="The 90th percentile of business minutes from handoff to pickup; null when there are none.",
    )
    acceptance_rate_pct = serializers.FloatField(
        allow_null=True,
        help_text="Acceptances as a percentage of pickups; null without pickups.",
    )
    touches_per_account_per_month = serializers.FloatField(
        allow_null=True,
        help_text="Activities per company (counted by name) per month, with two decimals; null without "
        "activities.",
    )
    conversion = ConversionField(
        child=serializers.FloatField(allow_null=True), help_text="From each stage of the funnel to the next."
    )
    per_rep = RepFiguresField(
        child=serializers.DictField(),
        help_text="Each rep who picked up a lead or missed a deadline, in order of username.",
    )
    temperature_matrix = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Marketing temperature at handoff -> sales temperature -> leads qualified in the period.",
    )
    goals = GoalProgressField(
        child=serializers.DictField(),
        help_text="Each goal of the SLA version in force at the period's end (now, for the current period), "
        "against its figure; empty when no version was in force.",
    )


class MonthlyReportSerializer(serializers.ModelSerializer):
    figures = FiguresSerializer(help_text="The figures as they were when the report was built.")

    class Meta:
        model = MonthlyReport
        fields = [
            "id",
            "agreement",
            "kind",
            "period",
            "period_start",
            "period_end",
            "sla_version",
            "built_at",
            "figures",
        ]
        extra_kwargs = {
            "id": {"help_text": "The report's id."},
            "agreement": {"help_text": "The agreement's id."},
            "kind": {"help_text": "A month's report, or a quarter's when the SLA reports quarterly."},
            "period": {"help_text": "The period: a month (2026-10) or a quarter (2026-Q4)."},
            "period_start": {
                "help_text": "When the period starts (UTC); periods follow the SLA's time zone."
            },
            "period_end": {"help_text": "When the period ends (UTC, excluded)."},
            "built_at": {"help_text": "When the report was built (UTC)."},
        }
        read_only_fields = fields  # an answer only, so every member is always sent (and documented so)


class ReportView(StrictQuery, APIView):
    query_params = ("month", "quarter", "agreement")

    @extend_schema(
        summary="Report figures for a month or a quarter, computed now",
        description="The figures of one month or quarter of an agreement, counted from its leads' steps at "
        "the time of the request. Periods follow the SLA's time zone; the current period's figures are to "
        "date (`complete` is false), and a period that has not begun is refused with 400.",
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM; the current month by default."),
            OpenApiParameter("quarter", str, description="YYYY-QN, instead of month."),
            AGREEMENT_PARAM,
        ],
        responses={
            200: FiguresSerializer,
            (400, PROBLEM): ProblemSerializer,
            (404, PROBLEM): ProblemSerializer,
            **COMMON_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        require_role(request, *Role)
        agreement = agreement_param(request)
        if agreement is None:
            return problem(404, "No such agreement.")
        tz = agreement_timezone(agreement)
        month, quarter = request.query_params.get("month"), request.query_params.get("quarter")
        field = "quarter" if quarter else "month"
        if month and quarter:
            return invalid({"quarter": ["Give month or quarter, not both."]})
        try:
            if month or quarter:
                period = parse_period(month or quarter, tz)
                if period.kind != ("month" if month else "quarter"):
                    raise PeriodError("Use YYYY-MM for month and YYYY-QN for quarter.")
            else:
                period = period_containing(timezone.now(), "month", tz)
        except PeriodError as exc:
            return invalid({field: [str(exc)]})
        if not 1970 <= period.year <= 9998:
            return invalid({field: ["Give a year from 1970 to 9998."]})
        if period.start > timezone.now():
            # Figures of a period to come would all be zero: a mistyped year, not a question.
            message = f"{period.label} has not begun yet; give this or an earlier {period.kind}."
            return invalid({field: [message]})
        return Response(
            FiguresSerializer(selectors.report_figures(agreements=[agreement], period=period)).data
        )


class ReportCursor(StrictCursor):
    ordering = ("-period_start", "-id")
    page_size = 24
    max_page_size = 200

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return super().get_paginated_response_schema(
            {**schema, "description": "The reports on this page, newest period first."}
        )


class MonthlyReportListView(StrictQuery, generics.ListAPIView):
    serializer_class = MonthlyReportSerializer
    pagination_class = ReportCursor

    def get_queryset(self):
        return MonthlyReport.objects.order_by("-period_start", "pk")

    @extend_schema(
        summary="Stored reports, newest first",
        description="The reports SLA Portal built as each period ended (months, or quarters when the SLA "
        "reports quarterly), of every agreement. Each keeps its figures as they were when it was built.",
        responses={200: MonthlyReportSerializer(many=True), **COMMON_ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        require_role(request, *Role)
        return super().get(request, *args, **kwargs)
