"""REST API: webhook subscriptions (admins). Deliveries are listed and re-sent in the admin."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.api.common import COMMON_ERRORS, PROBLEM, WRITE_ERRORS, ProblemSerializer
from integrations.api.strict import StrictCursor, StrictFields, StrictQuery, page_parameters
from integrations.authentication import TokenScope
from integrations.models import WEBHOOK_EVENTS, Outbox, WebhookSubscription
from integrations.webhooks import (
    deliveries_of,
    delivery_id,
    subscription_create,
    subscription_rotate_secret,
    webhook_send_test,
)
from slaportal.roles import Role, has_role


class IsAdminRole(BasePermission):
    message = "Only an admin manages webhook subscriptions."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.ADMIN)


class WebhookSubscriptionSerializer(StrictFields, serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
        allow_empty=False,
        help_text="The events delivered to the URL (the document's `webhooks` describe each); at least one.",
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "events",
            "is_active",
            "created_at",
            "previous_secret_until",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = ["id", "created_at", "previous_secret_until", "disabled_at", "disabled_reason"]
        extra_kwargs = {
            "id": {"help_text": "The subscription's id."},
            "url": {
                "help_text": "Where deliveries are POSTed: an http or https URL whose host resolves to "
                "public addresses only."
            },
            "is_active": {
                "help_text": "Whether events are delivered. While false none are queued, and those still "
                "pending fail unsent."
            },
            "created_at": {"help_text": "When the subscription was made (UTC)."},
            "previous_secret_until": {
                "help_text": "After a rotation, the old secret also signs until this time; null otherwise."
            },
            "disabled_at": {
                "help_text": "When SLA Portal turned the subscription off because its receiver kept failing; "
                "null otherwise. Setting is_active to true again clears it."
            },
            "disabled_reason": {"help_text": "Why it was turned off; empty unless disabled_at is set."},
        }


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.SerializerMethodField(help_text="The delivery's webhook-id header.")
    event = serializers.SerializerMethodField(help_text="The event delivered, such as lead.accepted.")

    class Meta:
        model = Outbox
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "sent_at",
            "last_error",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending until the receiver answers 2XX (sent) or SLA Portal gives up (failed): "
                "its retries used up, its subscription deleted or deactivated, or the person's data erased."
            },
            "attempts": {"help_text": "The attempts made so far (an admin's re-send starts again from 0)."},
            "created_at": {"help_text": "When the delivery was queued (UTC)."},
            "next_attempt_at": {
                "help_text": "When the next attempt is due (UTC); it means something only while pending."
            },
            "sent_at": {"help_text": "When the receiver accepted it (UTC); null until then."},
            "last_error": {
                "help_text": "Why the last attempt failed, or why it was not sent; empty before any failure "
                "and once sent."
            },
        }

    def get_id(self, message: Outbox) -> str:
        return delivery_id(message)

    def get_event(self, message: Outbox) -> str:
        return message.payload.get("event", "")


class DeliveryCursor(StrictCursor):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return super().get_paginated_response_schema(
            {**schema, "description": "The deliveries on this page, newest first."}
        )


class SubscriptionCursor(StrictCursor):
    ordering = ("id",)
    page_size = 100
    max_page_size = 500

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return super().get_paginated_response_schema(
            {**schema, "description": "The subscriptions on this page, oldest first."}
        )


class SubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="whsec_<base64>: the key that signs deliveries (Standard Webhooks). Shown only in this "
        "response; keep it secret.",
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


ERRORS = {(400, PROBLEM): ProblemSerializer, (404, PROBLEM): ProblemSerializer, **COMMON_ERRORS}
WRITE = {**ERRORS, **WRITE_ERRORS}


@extend_schema_view(
    list=extend_schema(
        summary="Webhook subscriptions",
        description="Every subscription, oldest first. Their secrets are never shown again.",
        responses={200: WebhookSubscriptionSerializer(many=True), **COMMON_ERRORS},
    ),
    create=extend_schema(
        summary="Subscribe a URL to events",
        description="The response holds the signing secret, made by SLA Portal; it is never shown again.",
        request=WebhookSubscriptionSerializer,
        responses={201: SubscriptionWithSecretSerializer, **WRITE},
    ),
    retrieve=extend_schema(
        summary="A subscription",
        description="The subscription, without its secret.",
        responses={200: WebhookSubscriptionSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a subscription",
        description="Replaces url and events (and is_active, when sent); the secret stays as it is.",
        responses={200: WebhookSubscriptionSerializer, **WRITE},
    ),
    partial_update=extend_schema(
        summary="Change a subscription (such as is_active)",
        description="Changes the members sent and keeps the others; the secret stays as it is.",
        responses={200: WebhookSubscriptionSerializer, **WRITE},
    ),
    destroy=extend_schema(
        summary="Delete a subscription; its pending deliveries are marked failed, unsent",
        description="Nothing more is delivered to its URL. Deliveries still pending fail unsent.",
        responses={204: None, **ERRORS},
    ),
)
class WebhookSubscriptionViewSet(StrictQuery, viewsets.ModelViewSet):
    queryset = WebhookSubscription.objects.order_by("pk")
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [IsAdminRole, TokenScope]
    pagination_class = SubscriptionCursor

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        subscription, secret = subscription_create(**payload.validated_data, created_by=request.user)
        subscription.secret = secret
        return Response(SubscriptionWithSecretSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Send a test event",
        description='Queues a `webhook.test` delivery, `{"event": "webhook.test", "occurred_at", '
        '"data": {"subscription": <id>}}`, to this subscription alone, signed and retried like any '
        "other; see it in the deliveries.",
        request=None,
        responses={202: DeliverySerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, pk: str | None = None) -> Response:
        message = webhook_send_test(subscription=self.get_object())
        return Response(DeliverySerializer(message).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=page_parameters(DeliveryCursor),
        summary="A subscription's deliveries, newest first",
        description="Each event queued for this subscription, with where its delivery stands: attempts, "
        "the next one due, the last error. Admins re-send failed ones in the admin.",
        responses={200: DeliverySerializer(many=True), **ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=DeliveryCursor)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        page = self.paginate_queryset(deliveries_of(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Rotate the signing secret",
        description="A new secret, shown only in this response. The old one keeps signing too (two "
        "`v1,` signatures) until `previous_secret_until`, 24 hours from now, so receivers can switch.",
        request=None,
        responses={200: SubscriptionWithSecretSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        subscription = self.get_object()
        secret = subscription_rotate_secret(subscription=subscription)
        subscription.secret = secret
        return Response(SubscriptionWithSecretSerializer(subscription).data)
