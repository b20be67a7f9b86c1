"""REST API for leads and activities: thin views over leads.services, one per operation.

The contract (paths, field names) is the product's public interface; see the OpenAPI schema at
/api/schema/ and the docs at /api/docs/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api.common import (
    COMMON_ERRORS,
    IDEMPOTENCY_HEADER,
    PROBLEM,
    WRITE_ERRORS,
    ProblemSerializer,
    actor_for,
    idempotent,
    invalid,
    require_role,
)
from integrations.api.lead_io import (
    ActivitySerializer,
    CloseSerializer,
    FeedbackSerializer,
    IngestResultSerializer,
    LeadEventSerializer,
    LeadWriteSerializer,
    QualifySerializer,
    ReassignSerializer,
    RejectSerializer,
)
from integrations.api.serializers import LeadSerializer, lead_data
from integrations.api.strict import StrictBooleanFilter, StrictCursor, StrictQuery, validated
from leads import limits, permissions, selectors, services
from leads.models import Lead, LeadEvent, Temperature
from slaportal.converters import IdConverter
from slaportal.roles import Role

# ---------------------------------------------------------------------------------------------------------
# Leads


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, compared in UTC.

    Python accepts UTC offsets up to 24 hours, PostgreSQL only up to 16: handing the database the time as
    given would turn `+20:00` into a server error instead of the right rows.
    """

    def clean(self, value: Any) -> datetime | None:
        cleaned = super().clean(value)
        if cleaned is None:
            return None
        try:
            return cleaned.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Give a time between the years 1 and 9999 (in UTC).") from None


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


SENDS_LEADS_ONLY = "Only marketing, and integrations acting for it, send leads and activities."

LEAD_ID = OpenApiParameter(
    "lead_id",
    str,
    OpenApiParameter.PATH,
    pattern=f"^{IdConverter.regex}$",
    description="The lead's id in SLA Portal (its `id`), not the CRM's external_id; GET /leads?external_id= "
    "finds it.",
)


class LeadFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Lead.Status.choices)
    marketing_temperature = filters.ChoiceFilter(choices=Temperature.choices)
    icp_fit = StrictBooleanFilter(help_text="true or false.")
    owner = filters.CharFilter(field_name="owner__username", help_text="The username of the leads' owner.")
    external_id = filters.CharFilter(help_text="The CRM's id of the lead, exactly: the lead known by it.")
    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Leads whose updated_at is at or after this ISO 8601 time, such as 2026-11-30T08:00:00Z.",
    )

    class Meta:
        model = Lead
        fields = ["status", "marketing_temperature", "icp_fit", "owner", "updated_since", "external_id"]


class LeadCursor(StrictCursor):
    ordering = ("-updated_at", "-id")
    page_size = 100
    max_page_size = 500

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return super().get_paginated_response_schema(
            {**schema, "description": "The leads on this page, most recently updated first."}
        )


class EventCursor(StrictCursor):
    ordering = ("at", "id")  # a timeline reads oldest first
    page_size = 100
    max_page_size = 500

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return super().get_paginated_response_schema(
            {**schema, "description": "The lead's steps on this page, oldest first."}
        )


class LeadListCreateView(StrictQuery, generics.ListAPIView):
    serializer_class = LeadSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = LeadFilter
    pagination_class = LeadCursor

    def get_queryset(self) -> QuerySet[Lead]:
        return selectors.leads_visible_to(user=self.request.user)

    @extend_schema(
        summary="List leads",
        description="The leads you may see, most recently updated first: a sales rep sees the leads they "
        "own and those they rejected while no one else owns them; marketing, sales managers and admins "
        "see every lead. Filters combine; follow `next` for the following pages.",
        responses={200: LeadSerializer(many=True), (400, PROBLEM): ProblemSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request, *Role)
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create or update a lead by external_id",
        description="Creates the lead the first time its external_id is sent (201), and updates it after "
        "that (200; only the fields sent change). The lead is then evaluated against the SLA in force and "
        "handed off to sales if the SLA says so.",
        request=LeadWriteSerializer,
        responses={
            201: LeadSerializer,
            200: LeadSerializer,
            (400, PROBLEM): ProblemSerializer,
            (409, PROBLEM): ProblemSerializer,
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        require_role(request, *permissions.SENDS_LEADS_ROLES, message=SENDS_LEADS_ONLY)
        data = dict(validated(LeadWriteSerializer, request.data))
        external_id = data.pop("external_id")
        data.update(data.pop("company", {}))
        lead, created = services.lead_upsert(external_id=external_id, data=data, actor=actor_for(request))
        return Response(lead_data(lead), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _lead_for(request: Request, lead_id: int) -> Lead:
    lead = get_object_or_404(Lead.objects.select_related("owner", "sla_version", "agreement"), pk=lead_id)
    if not permissions.can_view_lead(request.user, lead):
        raise services.NotAllowed("This lead belongs to another rep.")
    return lead


class LeadDetailView(StrictQuery, APIView):
    @extend_schema(
        summary="A lead",
        description="The lead, with its last evaluation against the SLA clause by clause. A sales rep sees "
        "only the leads they own and those they rejected while no one else owns them.",
        parameters=[LEAD_ID],
        responses={200: LeadSerializer, (404, PROBLEM): ProblemSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request, lead_id: int) -> Response:
        return Response(lead_data(_lead_for(request, lead_id)))


class LeadEventsView(StrictQuery, generics.ListAPIView):
    serializer_class = LeadEventSerializer
    pagination_class = EventCursor

    def get_queryset(self) -> QuerySet[LeadEvent]:
        return selectors.lead_events(lead=_lead_for(self.request, self.kwargs["lead_id"]))

    @extend_schema(
        summary="A lead's timeline, oldest first",
        description="Every step of the lead: who took it, the SLA version and clause behind it, and what it "
        "recorded.",
        parameters=[LEAD_ID],
        responses={200: LeadEventSerializer(many=True), (404, PROBLEM): ProblemSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _item_errors(errors: dict[int, Any], *, many: bool) -> serializers.ValidationError:
    """Keyed by item index for a list; a single activity's errors are its fields'."""
    if not many:
        return serializers.ValidationError(errors[0])
    return serializers.ValidationError({str(index): errors[index] for index in sorted(errors)})


class ActivityIngestView(StrictQuery, APIView):
    @extend_schema(
        summary="Record engagement: one activity or a list of up to 1,000 (all or nothing)",
        request=PolymorphicProxySerializer(
            component_name="ActivityOrList",
            serializers=[ActivitySerializer, ActivitySerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={201: IngestResultSerializer, (400, PROBLEM): ProblemSerializer, **WRITE_ERRORS},
        description=(
            "A bad item gives 400 with `errors` keyed by its index, then its field; nothing is stored."
        ),
    )
    def post(self, request: Request) -> Response:
        require_role(request, *permissions.SENDS_LEADS_ROLES, message=SENDS_LEADS_ONLY)
        many = isinstance(request.data, list)
        if many and len(request.data) > limits.ACTIVITIES_PER_REQUEST:
            message = f"At most {limits.ACTIVITIES_PER_REQUEST:,} items."
            return invalid({"non_field_errors": [message]})
        if many and not request.data:
            return invalid({"non_field_errors": ["Send at least one."]})
        raw = request.data if many else [request.data]
        now = timezone.now()  # one clock for the checks and the ingest
        shape_errors: dict[int, Any] = {}
        valid: dict[int, dict[str, Any]] = {}
        # One serializer for the whole list builds its fields once, not once per item.
        batch = ActivitySerializer(data=raw, many=True)
        if batch.is_valid():
            valid = {index: dict(item) for index, item in enumerate(batch.validated_data)}
        else:
            for index, item in enumerate(raw):
                one = ActivitySerializer(data=item)
                if one.is_valid():
                    valid[index] = dict(one.validated_data)
                else:
                    shape_errors[index] = one.errors
        if shape_errors:
            # One answer names every bad item: the rules (the service's checks) of the well-formed ones too.
            positions = sorted(valid)
            rule_errors, _ = services.activities_check([valid[i] for i in positions], now=now)
            errors = {**shape_errors, **{positions[p]: e for p, e in rule_errors.items()}}
            raise _item_errors(errors, many=many)
        try:
            result = services.activities_ingest(items=list(valid.values()), actor=actor_for(request), now=now)
        except services.LeadValidationError as exc:
            raise _item_errors(exc.errors, many=many) from None
        return Response(IngestResultSerializer(result).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------------
# Actions


class LeadActionView(StrictQuery, APIView):
    """One state-machine action; answers with the lead as it now is."""

    input_serializer: type[serializers.Serializer] | None = None

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    @idempotent
    def post(self, request: Request, lead_id: int) -> Response:
        lead = _lead_for(request, lead_id)
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            payload = self.input_serializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = dict(payload.validated_data)
        self.act(request, lead, data)
        lead = Lead.objects.select_related("owner").get(pk=lead.pk)
        return Response(lead_data(lead))


ACTION_RESPONSES = {
    200: LeadSerializer,
    (400, PROBLEM): ProblemSerializer,
    (404, PROBLEM): ProblemSerializer,
    (409, PROBLEM): OpenApiResponse(
        ProblemSerializer, description="The lead's status forbids it, or a race was lost."
    ),
    (422, PROBLEM): OpenApiResponse(
        ProblemSerializer, description="Idempotency-Key reused with a different request."
    ),
    **WRITE_ERRORS,
}


def documented(summary: str) -> Callable[[type[LeadActionView]], type[LeadActionView]]:
    """The action's schema: its summary, its input serializer as the body, the responses every action has."""

    def decorate(view: type[LeadActionView]) -> type[LeadActionView]:
        schema = extend_schema(
            summary=summary,
            request=view.input_serializer,
            responses=ACTION_RESPONSES,
            parameters=[LEAD_ID, IDEMPOTENCY_HEADER],
        )
        return extend_schema_view(post=schema)(view)

    return decorate


@documented("Erase the person's data (GDPR Art. 17; admins): the anonymous steps remain, so do reports")
class EraseView(LeadActionView):
    token_scope = "erase"  # a token's own right to erase, beside its user's role (TokenScope)

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_erase(lead=lead, actor=actor_for(request))


@documented("Accept a lead handed off to you")
class AcceptView(LeadActionView):
    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_accept(lead=lead, actor=actor_for(request))


@documented("Reject a lead handed off to you, with a reason of the SLA")
class RejectView(LeadActionView):
    input_serializer = RejectSerializer

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_reject(lead=lead, actor=actor_for(request), **data)


@documented("Qualify an accepted lead (sets the sales temperature)")
class QualifyView(LeadActionView):
    input_serializer = QualifySerializer

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_qualify(lead=lead, actor=actor_for(request), **data)


@documented("Close a lead as won or lost")
class CloseView(LeadActionView):
    input_serializer = CloseSerializer

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_close(lead=lead, actor=actor_for(request), outcome=data["outcome"])


@documented("Give a lead to another available rep (sales managers)")
class ReassignView(LeadActionView):
    input_serializer = ReassignSerializer

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_reassign(lead=lead, actor=actor_for(request), owner=data["owner"])


@documented("Answer the SLA's feedback questions about a lead you accepted")
class FeedbackView(LeadActionView):
    input_serializer = FeedbackSerializer

    def act(self, request: Request, lead: Lead, data: dict[str, Any]) -> Any:
        return services.lead_feedback(lead=lead, actor=actor_for(request), answers=data["answers"])


class PingView(StrictQuery, APIView):
    """Authenticated no-op: checks a token, and is the baseline the benchmarks compare with."""

    @extend_schema(
        summary="Check a token",
        responses={
            200: inline_serializer(
                "Ping", {"user": serializers.CharField(help_text="The username the token acts for.")}
            ),
            **COMMON_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return Response({"user": request.user.username})
