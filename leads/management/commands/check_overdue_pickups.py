from django.core.management.base import BaseCommand

from leads.escalation import check_overdue_pickups
from leads.outbox import outbox_deliver


class Command(BaseCommand):
    help = (
        "Remind owners of leads near their pickup deadline and escalate the overdue ones "
        "(Celery beat does this every minute)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-send", action="store_true", help="Leave the e-mails in the outbox for Celery."
        )

    def handle(self, *args, **options):
        result = check_overdue_pickups()
        sent = 0 if options["no_send"] else outbox_deliver()
        self.stdout.write(
            f"{result.breached} breach(es), {result.reminded} reminder(s), {sent} e-mail(s) sent"
        )
