"""The OpenAPI document's own parts: which paths it shows, and the `webhooks` section (OpenAPI 3.1), one
entry per event of the catalogue, each with its payload and the Standard Webhooks headers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema

from integrations.api.payloads import (
    LeadEventPayloadSerializer,
    ReportPayloadSerializer,
    TestPayloadSerializer,
)
from integrations.webhooks import TEST_EVENT
from slaportal.publishing import EVENTS


def documented_paths_only(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list:
    """Drop the paths with a trailing slash: they answer like the documented ones, for clients written
    when the API's paths ended with one, but the contract is the path without it."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


# Standard Webhooks' three headers. drf-spectacular keeps no parameters or security on a webhook, so
# `describe_webhook_signing` adds them to each once the document is built.
HEADERS = {
    "webhook-id": (
        {"type": "string", "pattern": "^msg_[0-9]+$"},
        "The delivery's id (`msg_…`), the same on every retry: de-duplicate by it.",
    ),
    "webhook-timestamp": (
        {"type": "integer"},
        "When this attempt was signed, in seconds since the Unix epoch; refuse one more than 5 minutes off.",
    ),
    "webhook-signature": (
        {"type": "string"},
        'Space-separated `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, one per '
        "secret of the subscription (two while a rotated-out secret still signs).",
    ),
}
SIGNATURE_SCHEME = "standardWebhooksSignature"


def finish(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: what drf-spectacular cannot say through its decorators."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            # Every POST and PUT that has a body needs it (an empty one is a 400), a list of activities too.
            if method in ("post", "put") and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            # Some client generators read a parameter's description only from its schema.
            for parameter in operation.get("parameters", []):
                if parameter.get("description") and "$ref" not in parameter.get("schema", {}):
                    parameter["schema"].setdefault("description", parameter["description"])
    return describe_webhook_signing(result)


def describe_webhook_signing(result: dict[str, Any]) -> dict[str, Any]:
    """Postprocessing hook: each webhook's headers, and its signature as the scheme that secures it."""
    result.setdefault("components", {}).setdefault("securitySchemes", {})[SIGNATURE_SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": (
            "Standard Webhooks signature with the subscription's secret (`whsec_…`, shown once when the "
            "subscription is made or its secret rotated). Verify it with any Standard Webhooks library."
        ),
    }
    for event, item in result.get("webhooks", {}).items():
        for operation in item.values():
            operation["parameters"] = [
                {"name": name, "in": "header", "required": True, "schema": schema, "description": text}
                for name, (schema, text) in HEADERS.items()
            ]
            operation["security"] = [{SIGNATURE_SCHEME: []}]
            # The payload's schema is shared by every lead event; each webhook pins its own name.
            body = operation["requestBody"]["content"]["application/json"]
            body["schema"] = {"allOf": [body["schema"], {"properties": {"event": {"const": event}}}]}
    return result


RECEIVED = {
    "2XX": OpenApiResponse(description="Received. Any other answer, or none in 10 seconds, is retried."),
}


def _webhook(event: str, summary: str, payload: type, sent_to: str = "") -> OpenApiWebhook:
    sent_to = sent_to or f"each active subscription that chose `{event}`"
    return OpenApiWebhook(
        name=event,
        decorator=extend_schema(
            summary=summary,
            description=(
                f"Sent as `POST` to {sent_to}, signed as Standard Webhooks (standardwebhooks.com) specify."
            ),
            operation_id="webhook_" + event.replace(".", "_"),
            tags=["webhooks"],
            request=payload,
            responses=RECEIVED,
        ),
    )


WEBHOOKS = [
    _webhook(
        event,
        description,
        ReportPayloadSerializer if event.startswith("report.") else LeadEventPayloadSerializer,
    )
    for event, description in EVENTS.items()
] + [
    _webhook(
        TEST_EVENT,
        "A test delivery, sent on request.",
        TestPayloadSerializer,
        sent_to="the one subscription named in `POST /webhooks/{id}/test`, whatever events it chose",
    )
]
