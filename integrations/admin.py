"""Admin: webhook subscriptions, and every outgoing e-mail and webhook delivery with a re-send action."""

from django import forms
from django.contrib import admin, messages

from integrations.models import WEBHOOK_EVENTS, ApiToken, Outbox, WebhookSubscription
from integrations.outbox import outbox_resend
from integrations.webhooks import new_secret


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in WEBHOOK_EVENTS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["url", "events", "is_active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "event_list", "is_active", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = [
        "created_by",
        "consecutive_failures",
        "failing_since",
        "disabled_at",
        "disabled_reason",
    ]

    @admin.display(description="Events")
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events)

    def save_model(self, request, obj: WebhookSubscription, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The secret is made here and shown this once; SLA Portal never shows it again.
        obj.secret = new_secret()
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        messages.warning(request, f"The signing secret of {obj.url}, shown only now: {obj.secret}")


@admin.action(description="Send again now")
def resend(modeladmin, request, queryset):
    count = outbox_resend(message_ids=list(queryset.values_list("pk", flat=True)))
    messages.success(request, f"{count} message(s) queued to be sent again.")


@admin.register(Outbox)
class OutboxAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "channel",
        "summary",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["channel", "status"]
    actions = [resend]
    readonly_fields = [
        "channel",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    ]

    @admin.display(description="What")
    def summary(self, obj: Outbox) -> str:
        if obj.channel == Outbox.Channel.WEBHOOK:
            return f"{obj.payload.get('event')} to subscription {obj.payload.get('subscription')}"
        return obj.payload.get("subject", "")

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are created where they can be shown once: the API page or create_api_token
