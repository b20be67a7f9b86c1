"""REST API: ask for a simulation of other clauses against an agreement's past leads, and read it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements.clauses import TEMPERATURES
from agreements.models import Agreement
from integrations.api.agreements import (
    BusinessCalendarSerializer,
    IcpCriterionSerializer,
    TemperatureRulesSerializer,
)
from integrations.api.common import COMMON_ERRORS, PROBLEM, WRITE_ERRORS, ProblemSerializer, invalid, problem
from integrations.api.serializers import CheckSerializer
from integrations.api.strict import StrictFields, StrictQuery, validated
from reporting import simulations
from reporting.models import Simulation
from reporting.services import agreement_timezone
from slaportal.converters import IdConverter
from slaportal.formats import utc_iso

CHANGED_PAGE = 50  # the changed leads a GET shows; the rest are counted


def _id(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.PATH, pattern=f"^{IdConverter.regex}$", description=f"The {what}'s id."
    )


class ChangesSerializer(StrictFields, serializers.Serializer):
    """Clauses of the version in force to change, keyed and shaped as GET /agreements/active returns them;
    the ones not named stay as they are."""

    icp_criteria = IcpCriterionSerializer(
        many=True, required=False, help_text="The whole ICP: a lead fits only when every criterion matches."
    )
    temperature = TemperatureRulesSerializer(required=False, help_text="The whole temperature section.")
    mql_threshold = serializers.ChoiceField(
        choices=list(TEMPERATURES), required=False, help_text="The coldest temperature that makes an MQL."
    )
    icp_fit_required = serializers.BooleanField(
        required=False, help_text="Whether an MQL must also fit the ICP to be handed off."
    )
    pickup_deadlines_business_hours = serializers.DictField(
        child=serializers.FloatField(),
        required=False,
        help_text="Marketing temperature -> business hours to pick up a lead handed off at it, for each "
        "temperature at or above the MQL threshold.",
    )
    calendar = BusinessCalendarSerializer(required=False, help_text="The whole business calendar.")


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


class SimulationRequestSerializer(StrictFields, serializers.Serializer):
    """What to simulate: a version of the agreement, or changes to its version in force; and when."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The number of the agreement's version to simulate (a draft, one in review, or any other).",
    )
    changes = ChangesSerializer(
        required=False, help_text='Changes to the version in force, such as {"mql_threshold": "hot"}.'
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword, so these two are added here rather than declared.
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False,
            help_text="The first day replayed, in the agreement's zone (default: 12 whole months back).",
        )
        fields["to"] = serializers.DateField(
            required=False,
            help_text="The last day replayed, in the agreement's zone (default: the last day of last month).",
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {
            name: [f"Give a day from {FIRST_DAY} to {LAST_DAY}."]
            for name in ("from", "to")
            if name in attrs and not FIRST_DAY <= attrs[name] <= LAST_DAY
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SimulationQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The simulation's id.")
    status = serializers.CharField(help_text="queued: a worker will run it.")
    url = serializers.CharField(help_text="Where to read its progress and results (GET).")


class MonthFiguresSerializer(serializers.Serializer):
    mqls = serializers.IntegerField(help_text="Leads that first became an MQL in the month.")
    mqls_icp = serializers.IntegerField(help_text="Of them, those fitting the ICP.")
    handoffs = serializers.IntegerField(help_text="Leads first handed off to sales in the month.")
    handoffs_cold = serializers.IntegerField(help_text="Of them, handed off cold.")
    handoffs_warm = serializers.IntegerField(help_text="Of them, handed off warm.")
    handoffs_hot = serializers.IntegerField(help_text="Of them, handed off hot.")
    pickups = serializers.IntegerField(
        help_text="Of the month's handoffs, those sales really picked up (accepted or rejected). A lead "
        "the simulated clauses hand off at another moment keeps the time its rep took.",
    )
    pickups_late = serializers.IntegerField(help_text="Of those pickups, the ones past the deadline.")
    pickups_in_time = serializers.FloatField(
        allow_null=True, help_text="The pickups in time, in percent; null without pickups."
    )
    reps = serializers.IntegerField(
        help_text="The reps the month's recorded handoffs went to (the reps available now, for a month "
        "without any): the round-robin the load is spread over.",
    )
    business_days = serializers.IntegerField(help_text="Working days of the month, by the calendar.")
    load_handoffs = serializers.IntegerField(
        help_text="Handoffs counted by the business day their pickup clock starts (within the month): "
        "what load_mean divides by reps × business_days."
    )
    load_mean = serializers.FloatField(
        allow_null=True, help_text="Handoffs per rep per business day, on average."
    )
    load_max = serializers.IntegerField(
        allow_null=True,
        help_text="The most handoffs round-robin gives one rep on one business day of the month.",
    )


class MonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="The month, YYYY-MM, in the agreement's zone.")
    recorded = MonthFiguresSerializer(help_text="What the pipeline did.")
    simulated = MonthFiguresSerializer(help_text="The same figures under the simulated clauses.")


class MismatchSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="data_changed, version_changed, no_version or other.")
    leads = serializers.IntegerField(help_text="The leads it explains.")
    why = serializers.CharField(help_text="The kind, in words.")


class FidelitySerializer(serializers.Serializer):
    share = serializers.FloatField(
        allow_null=True,
        help_text="Of the leads replayed, the share whose MQL moment, handoff moment, temperature and ICP "
        "fit the versions then in force reproduce; null without leads.",
    )
    leads = serializers.IntegerField(help_text="The leads replayed (with a decision in the period).")
    reproduced = serializers.IntegerField(help_text="Of them, those the versions in force reproduce.")
    mismatches = MismatchSerializer(many=True, help_text="Why the others differ, by kind.")


class SideSerializer(serializers.Serializer):
    mql_at = serializers.DateTimeField(allow_null=True, help_text="When it became an MQL (UTC).")
    handoff_at = serializers.DateTimeField(allow_null=True, help_text="When it went to sales (UTC).")
    temperature = serializers.CharField(
        allow_null=True, help_text="Its marketing temperature at the handoff."
    )
    deadline = serializers.DateTimeField(allow_null=True, help_text="Its pickup deadline (UTC).")
    checks = CheckSerializer(many=True, help_text="The deciding evaluation, clause by clause.")


class ChangedLeadSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField(help_text="The lead's id (GET /leads/{lead_id}).")
    external_id = serializers.CharField(help_text="The CRM's id of the lead.")
    url = serializers.CharField(help_text="The lead's page.")
    changes = serializers.ListField(child=serializers.CharField(), help_text="What changes, in words.")
    recorded = SideSerializer(help_text="Its path under the versions in force.")
    simulated = SideSerializer(help_text="Its path under the simulated clauses.")


class SimulationResultsSerializer(serializers.Serializer):
    months = MonthSerializer(many=True, help_text="Month by month, recorded beside simulated.")
    fidelity = FidelitySerializer(help_text="How well the replay reproduces the record.")
    changed_leads = serializers.IntegerField(help_text="The leads whose path the simulated clauses change.")
    changed = ChangedLeadSerializer(many=True, help_text=f"The first {CHANGED_PAGE} of them.")


class SimulationSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The simulation's id.")
    agreement_id = serializers.IntegerField(help_text="The agreement simulated.")
    version = serializers.IntegerField(
        allow_null=True, help_text="The version simulated, or the one in force the changes apply to."
    )
    changes = ChangesSerializer(help_text="The changes applied to that version ({} for none).")
    status = serializers.ChoiceField(
        choices=list(Simulation.Status.values), help_text="queued, running, done, failed or cancelled."
    )
    progress = serializers.FloatField(help_text="0 to 1: the share of the period's leads replayed so far.")
    period_start = serializers.DateTimeField(help_text="The first moment replayed (UTC).")
    period_end = serializers.DateTimeField(help_text="The end of the period replayed, exclusive (UTC).")
    created_at = serializers.DateTimeField(help_text="When it was asked for (UTC).")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="When it ended (UTC).")
    error = serializers.CharField(help_text="Why it failed; empty otherwise.")
    results = SimulationResultsSerializer(allow_null=True, help_text="When done: the results; null before.")


def simulation_data(simulation: Simulation) -> dict[str, Any]:
    results = simulations.stored_results(simulation) if simulation.results is not None else None
    if results is not None:
        results = {
            **results,
            "changed": [
                {**c, "url": reverse("leads:detail", args=[c["lead_id"]])}
                for c in results["changed"][:CHANGED_PAGE]
            ],
        }
    return {
        "id": simulation.pk,
        "agreement_id": simulation.agreement_id,
        "version": simulation.version.number if simulation.version else None,
        "changes": simulation.changes,
        "status": simulation.status,
        "progress": simulation.progress,
        "period_start": utc_iso(simulation.start),
        "period_end": utc_iso(simulation.end),
        "created_at": utc_iso(simulation.created_at),
        "finished_at": utc_iso(simulation.finished_at) if simulation.finished_at else None,
        "error": simulation.error,
        "results": results,
    }


def _plain(value: Any) -> Any:
    """Validated data as plain JSON values (nested serializers give ordered dicts)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _moment(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz))


class SimulationCreateView(StrictQuery, APIView):
    @extend_schema(
        summary="Simulate a version, or changes to the version in force, against past leads",
        description="Replays every lead of the agreement in the period (default: the last 12 whole months) "
        "through the evaluation with the clauses given, beside what the pipeline did. Runs in the "
        "background: the answer says where to read its progress and results. Marketing only. Nothing "
        "about the leads, their events or the reports changes.",
        parameters=[_id("agreement_id", "agreement")],
        request=SimulationRequestSerializer,
        responses={
            202: SimulationQueuedSerializer,
            (400, PROBLEM): ProblemSerializer,
            (404, PROBLEM): ProblemSerializer,
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request, agreement_id: int) -> Response:
        if not simulations.can_simulate(request.user):
            return problem(403, "Only marketing simulates an SLA.")
        agreement = get_object_or_404(Agreement, pk=agreement_id)
        data = validated(SimulationRequestSerializer, request.data)
        tz = agreement_timezone(agreement)
        version = None
        if "version" in data:
            version = agreement.versions.filter(number=data["version"]).first()
            if version is None:
                return invalid({"version": ["No version of this agreement has that number."]})
        start = _moment(data["from"], tz) if "from" in data else None
        end = _moment(data["to"] + timedelta(days=1), tz) if "to" in data else None
        try:
            simulation = simulations.simulation_request(
                agreement=agreement,
                user=request.user,
                version=version,
                changes=_plain(data["changes"]) if "changes" in data else None,
                start=start,
                end=end,
            )
        except simulations.SimulationError as exc:
            # A change's error is named by its path in the body, as the serializer names its own.
            return invalid(
                {f"changes.{k}" if k in simulations.CHANGES else k: v for k, v in exc.errors.items()}
            )
        url = reverse("api:simulation", args=[simulation.pk])
        body = {"id": simulation.pk, "status": simulation.status, "url": url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class SimulationDetailView(StrictQuery, APIView):
    @extend_schema(
        summary="A simulation: its progress, and its results once done",
        description="Marketing, both sides' approvers and sales managers may read simulations.",
        parameters=[_id("simulation_id", "simulation")],
        responses={200: SimulationSerializer, (404, PROBLEM): ProblemSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request, simulation_id: int) -> Response:
        if not simulations.can_view(request.user):
            return problem(403, "Your role does not allow this.")
        simulation = get_object_or_404(Simulation.objects.select_related("version"), pk=simulation_id)
        return Response(simulation_data(simulation))


class SimulationCancelView(StrictQuery, APIView):
    @extend_schema(
        summary="Stop a simulation that is queued or running",
        description="A finished simulation stays as it is. Marketing only.",
        parameters=[_id("simulation_id", "simulation")],
        request=None,
        responses={
            200: OpenApiResponse(SimulationSerializer, description="The simulation as it now is."),
            (404, PROBLEM): ProblemSerializer,
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request, simulation_id: int) -> Response:
        if not simulations.can_simulate(request.user):
            return problem(403, "Only marketing cancels a simulation.")
        simulation = get_object_or_404(Simulation, pk=simulation_id)
        simulation = simulations.simulation_cancel(simulation=simulation, user=request.user)
        return Response(simulation_data(simulation))
