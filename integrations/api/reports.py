"""REST API: report figures for a period (live) and the stored monthly reports."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from integrations.api.strict import StrictCursor, StrictQuery
from reporting import selectors
from reporting.models import MonthlyReport
from reporting.periods import PeriodError, parse_period, period_containing
from reporting.services import agreement_timezone
from slaportal.roles import Role


class FiguresSerializer(serializers.Serializer):
    """The report's figures; names as in the reporting issue and the CSV."""

    period = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    complete = serializers.BooleanField(help_text="False for the current period (figures to date).")
    mqls = serializers.IntegerField()
    mqls_icp_match = serializers.IntegerField()
    handed_off = serializers.IntegerField()
    hot = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rejected_by_reason = serializers.DictField(child=serializers.IntegerField())
    top_rejection_reasons = serializers.ListField(child=serializers.ListField())
    nurturing = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    qualified = serializers.IntegerField()
    qualified_hot = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    breaches = serializers.IntegerField()
    pickup_within_sla_pct = serializers.FloatField(allow_null=True)
    median_pickup_business_minutes = serializers.FloatField(allow_null=True)
    p90_pickup_business_minutes = serializers.FloatField(allow_null=True)
    acceptance_rate_pct = serializers.FloatField(allow_null=True)
    touches_per_account_per_month = serializers.FloatField(allow_null=True)
    conversion = serializers.DictField(child=serializers.FloatField(allow_null=True))
    per_rep = serializers.ListField(child=serializers.DictField())
    temperature_matrix = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
    goals = serializers.ListField(child=serializers.DictField())


class MonthlyReportSerializer(serializers.ModelSerializer):
    figures = FiguresSerializer()

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


class ReportView(StrictQuery, APIView):
    query_params = ("month", "quarter", "agreement")

    @extend_schema(
        summary="Report figures for a month or a quarter, computed now",
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


class MonthlyReportListView(StrictQuery, generics.ListAPIView):
    serializer_class = MonthlyReportSerializer
    pagination_class = ReportCursor

    def get_queryset(self):
        return MonthlyReport.objects.order_by("-period_start", "pk")

    @extend_schema(
        summary="Stored reports, newest first",
        responses={200: MonthlyReportSerializer(many=True), **COMMON_ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        require_role(request, *Role)
        return super().get(request, *args, **kwargs)
