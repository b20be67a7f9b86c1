"""Webhook secrets are sealed in the database with a key from the settings: a copy of the database alone
does not give them away, and the key can be rotated."""

from __future__ import annotations

import io
from importlib import import_module

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client

from integrations.models import WebhookSubscription
from integrations.webhooks import subscription_create, subscription_rotate_secret

pytestmark = pytest.mark.django_db


def stored(subscription: WebhookSubscription) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret, previous_secret FROM integrations_webhooksubscription WHERE id = %s",
            [subscription.pk],
        )
        return cursor.fetchone()


def test_the_database_holds_the_secret_sealed_and_the_app_reads_it_plain(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    subscription, secret = subscription_create(url="https://hooks.example.com/in", events=["lead.closed"])
    subscription_rotate_secret(subscription=subscription)
    current, previous = stored(subscription)
    assert current.startswith("fernet:")
    assert previous.startswith("fernet:")
    assert secret not in current + previous
    subscription.refresh_from_db()
    assert subscription.previous_secret == secret
    assert subscription.secret.startswith("whsec_")


def test_a_new_key_goes_first_and_reseal_moves_every_secret_to_it(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_KEYS = [old]
    _, secret = subscription_create(url="https://hooks.example.com/in", events=["lead.closed"])
    settings.SECRETS_KEYS = [new, old]
    assert WebhookSubscription.objects.get().secret == secret  # the old key still opens it
    out = io.StringIO()
    call_command("reseal_secrets", stdout=out)
    assert "1 subscription(s) sealed" in out.getvalue()
    settings.SECRETS_KEYS = [new]  # the old key is gone
    assert WebhookSubscription.objects.get().secret == secret
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="does not open with any key"):
        WebhookSubscription.objects.get()


def test_secrets_stored_in_the_clear_before_are_sealed_by_the_migration():
    subscription = WebhookSubscription.objects.create(
        url="https://hooks.example.com/in", secret="x", events=["lead.closed"]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_webhooksubscription SET secret = %s WHERE id = %s",
            ["a-client-chosen-secret", subscription.pk],
        )
    assert WebhookSubscription.objects.get().secret == "a-client-chosen-secret"  # read as it was
    migration = import_module("integrations.migrations.0007_sealed_webhook_secrets")
    migration.seal_existing(apps, None)
    assert stored(subscription)[0].startswith("fernet:")
    assert WebhookSubscription.objects.get().secret == "a-client-chosen-secret"


def test_the_admin_never_shows_a_secret(admin_user, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    subscription, secret = subscription_create(url="https://hooks.example.com/in", events=["lead.closed"])
    client = Client()
    client.force_login(admin_user)
    for path in (
        "/admin/integrations/webhooksubscription/",
        f"/admin/integrations/webhooksubscription/{subscription.pk}/change/",
    ):
        page = client.get(path).content.decode()
        assert secret not in page
        assert "fernet:" not in page


def test_secrets_sealed_with_the_derived_key_open_after_moving_to_configured_keys(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    settings.SECRETS_KEYS = []
    _, secret = subscription_create(url="https://hooks.example.com/in", events=["lead.closed"])
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    assert WebhookSubscription.objects.get().secret == secret
    # And across a SECRET_KEY rotation, through Django's own fallbacks.
    settings.SECRETS_KEYS = []
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert WebhookSubscription.objects.get().secret == secret


def test_the_sealing_migration_goes_back_to_the_clear():
    subscription = WebhookSubscription.objects.create(
        url="https://hooks.example.com/in", secret="whsec_abc", events=["lead.closed"]
    )
    assert stored(subscription)[0].startswith("fernet:")
    migration = import_module("integrations.migrations.0007_sealed_webhook_secrets")
    migration.unseal_all(apps, connection.schema_editor())
    assert stored(subscription)[0] == "whsec_abc"
