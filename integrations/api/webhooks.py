"""REST API: webhook subscriptions (admins). Deliveries are listed and re-sent in the admin."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission

from integrations.api.common import COMMON_ERRORS, WRITE_ERRORS, ErrorSerializer
from integrations.api.strict import StrictFields, StrictQuery
from integrations.models import WEBHOOK_EVENTS, WebhookSubscription
from slaportal.roles import Role, has_role


class IsAdminRole(BasePermission):
    message = "Only an admin manages webhook subscriptions."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.ADMIN)


class WebhookSubscriptionSerializer(StrictFields, serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), allow_empty=False)
    secret = serializers.CharField(
        max_length=200,
        min_length=16,
        write_only=True,
        help_text="At least 16 characters; used to sign deliveries.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "secret", "events", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]


ERRORS = {400: ErrorSerializer, 404: ErrorSerializer, **COMMON_ERRORS}
WRITE = {**ERRORS, **WRITE_ERRORS}


@extend_schema_view(
    list=extend_schema(
        summary="Webhook subscriptions",
        responses={200: WebhookSubscriptionSerializer(many=True), **COMMON_ERRORS},
    ),
    create=extend_schema(
        summary="Subscribe a URL to events", responses={201: WebhookSubscriptionSerializer, **WRITE}
    ),
    retrieve=extend_schema(
        summary="A subscription", responses={200: WebhookSubscriptionSerializer, **ERRORS}
    ),
    update=extend_schema(
        summary="Replace a subscription", responses={200: WebhookSubscriptionSerializer, **WRITE}
    ),
    partial_update=extend_schema(
        summary="Change a subscription (such as is_active)",
        responses={200: WebhookSubscriptionSerializer, **WRITE},
    ),
    destroy=extend_schema(
        summary="Delete a subscription; its pending deliveries are marked failed, unsent",
        responses={204: None, **ERRORS},
    ),
)
class WebhookSubscriptionViewSet(StrictQuery, viewsets.ModelViewSet):
    queryset = WebhookSubscription.objects.order_by("pk")
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [IsAdminRole]
    pagination_class = None
