from django.core.management import call_command
from django.core.management.base import BaseCommand

from leads.services.escalation import check_overdue_pickups


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
        self.stdout.write(f"{result.breached} breach(es), {result.reminded} reminder(s)")
        if not options["no_send"]:
            # The e-mails wait in the integrations' outbox; its own command sends what is due.
            call_command("deliver_outbox", stdout=self.stdout)
