from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.models import WebhookSubscription


class Command(BaseCommand):
    help = (
        "Seal every stored webhook secret with the first key of SECRETS_KEYS: after putting a new key "
        "first, and before removing an old one."
    )

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            # The field reads through every key, and seals what it writes with the first.
            subscriptions = WebhookSubscription.objects.select_for_update().only("secret", "previous_secret")
            for sub in subscriptions:
                WebhookSubscription.objects.filter(pk=sub.pk).update(
                    secret=sub.secret, previous_secret=sub.previous_secret
                )
                count += 1
        self.stdout.write(f"{count} subscription(s) sealed with the first key.")
