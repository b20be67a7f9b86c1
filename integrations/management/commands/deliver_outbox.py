from django.core.management.base import BaseCommand

from integrations.outbox import outbox_deliver


class Command(BaseCommand):
    help = "Send the e-mails and webhook deliveries that are due now (Celery beat does this every minute)."

    def handle(self, *args, **options):
        self.stdout.write(f"{outbox_deliver()} message(s) sent")
