from django.core.management.base import BaseCommand

from leads.services import leads_return_recycled


class Command(BaseCommand):
    help = (
        "Send recycled leads whose waiting time is over back to marketing's nurture "
        "(Celery beat does this hourly)."
    )

    def handle(self, *args, **options):
        moved = leads_return_recycled()
        self.stdout.write(f"{moved} recycled lead(s) returned to nurture")
