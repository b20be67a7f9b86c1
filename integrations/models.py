"""What integrations hold: API tokens, idempotency keys, webhook subscriptions and the outbox of e-mails and
webhook deliveries. The domain apps know none of these; they publish what happened (slaportal.publishing).

These tables began in the leads app; migration 0001 takes them over with their rows (see its docstring).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.crypto import SealedTextField
from integrations.netguard import AddressRefused, check_url
from slaportal.publishing import EVENTS


class Outbox(models.Model):
    """Messages written in the same transaction as the change that caused them and sent after it commits.

    A broker or mail server that is down delays them; it does not lose them (integrations.outbox delivers and
    retries with backoff; beat sweeps what is due every minute)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    # One destination: "email", or "webhook:<subscription id>". Each lane is delivered on its own, so a slow
    # receiver holds up its own messages only (integrations.outbox).
    # db_default too: processes of the version before, still running while this one migrates, insert
    # rows without it.
    lane = models.CharField(max_length=40, default="email", db_default="email")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim while it sends (a lease): others leave the message alone until then, and a claim
    # left by a worker that died lapses by itself.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # integrations.outbox: what is due, lane by lane
            models.Index(
                fields=["lane", "next_attempt_at"], condition=Q(status="pending"), name="outbox_due_lane_idx"
            ),
            # a subscription's deliveries, newest first (integrations.webhooks.deliveries_of)
            models.Index(fields=["lane", "-created_at"], name="outbox_lane_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} ({self.pk})"


def default_token_scopes() -> list[str]:
    return ["read", "write"]


class ApiToken(models.Model):
    """A bearer token for integrations. Only its SHA-256 is stored; the token is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # What the token may do, within what its user may do: integrations.tokens.SCOPES.
    scopes = models.JSONField(default=default_token_scopes)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the token does not expire.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an Idempotency-Key; a retry gets it back unchanged."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty while in progress."
    )
    # Text, not JSON: a replay must be byte for byte the first response, and jsonb reorders keys.
    response = models.TextField(blank=True, help_text="The first response's body, exactly as sent.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]
        # integrations.idempotency.idempotency_purge deletes by age every hour.
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} of {self.user_id}"


WEBHOOK_EVENTS = tuple(EVENTS)  # the catalogue: every event SLA Portal publishes


def validate_webhook_url(url: str) -> None:
    # On the model rather than in a form, so the admin and the API refuse the same URLs.
    try:
        check_url(url)
    except AddressRefused as exc:
        raise ValidationError(str(exc)) from None


def validate_webhook_events(events: Any) -> None:
    if not isinstance(events, list) or not events:
        raise ValidationError(f"Give a list of one or more of: {', '.join(WEBHOOK_EVENTS)}.")
    unknown = [str(e) for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        raise ValidationError(
            f"Unknown event(s): {', '.join(unknown)}. Use any of: {', '.join(WEBHOOK_EVENTS)}."
        )


class WebhookSubscription(models.Model):
    """Where to POST notifications of lead and report events, signed as Standard Webhooks specifies."""

    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    # Made by SLA Portal (whsec_ and 32 random bytes in base64) and shown once, when it is made. A
    # subscription made before that keeps the secret its client chose until it is rotated. Sealed in the
    # database (integrations.crypto): a copy of the database alone does not give it away.
    secret = SealedTextField(editable=False)
    # After a rotation the old secret signs too, until this time, so receivers can switch over.
    previous_secret = SealedTextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    events = models.JSONField(
        default=list,
        validators=[validate_webhook_events],
        help_text=f"A list of event names: {', '.join(WEBHOOK_EVENTS)}.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Told by e-mail if the subscription is turned off for failing.",
    )
    # The receiver's health: failed deliveries since the last success, and when that run began. A receiver
    # that keeps failing is turned off (integrations.webhooks.WEBHOOK_DISABLE_AFTER_*).
    consecutive_failures = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Turned on again (API or admin) after SLA Portal turned it off: its failures start from nothing.
        if self.is_active and self.disabled_at is not None:
            self.disabled_at, self.disabled_reason = None, ""
            self.consecutive_failures, self.failing_since = 0, None
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {
                    *kwargs["update_fields"],
                    "disabled_at",
                    "disabled_reason",
                    "consecutive_failures",
                    "failing_since",
                }
        super().save(*args, **kwargs)
