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
            for pk in WebhookSubscription.objects.values_list("pk", flat=True):
                raw = WebhookSubscription.objects.filter(pk=pk).values("secret", "previous_secret").get()
                # values() reads through the field too, so these are plain; saving seals with the first key.
                WebhookSubscription.objects.filter(pk=pk).update(
                    secret=raw["secret"], previous_secret=raw["previous_secret"]
                )
                count += 1
        self.stdout.write(f"{count} subscription(s) sealed with the first key.")
