from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agreements.models import Agreement
from reporting.periods import PeriodError, parse_period
from reporting.services import agreement_timezone, report_build, reports_build_due


class Command(BaseCommand):
    help = (
        "Build the reports whose period has ended and that do not exist yet (Celery beat does this daily), "
        "or with --month the report of one month (or quarter, YYYY-QN) for every agreement."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (or YYYY-QN for a quarter)")

    def handle(self, *args, **options):
        if options["month"]:
            built = []
            for agreement in Agreement.objects.all():
                try:
                    period = parse_period(options["month"], agreement_timezone(agreement))
                except PeriodError as exc:
                    raise CommandError(str(exc)) from None
                if period.end > timezone.now():
                    # A snapshot of an unfinished period would stand in for the real one forever.
                    raise CommandError(f"{period.label} has not ended yet; the dashboard shows it to date.")
                report, created = report_build(agreement=agreement, period=period)
                self.stdout.write(f"{agreement} {report.period}: {'built' if created else 'already built'}")
                built += [report] if created else []
        else:
            built = reports_build_due()
            for report in built:
                self.stdout.write(f"{report.agreement} {report.period}: built")
        self.stdout.write(f"{len(built)} report(s) built")
        call_command("deliver_outbox", stdout=self.stdout)  # the integrations' outbox sends the e-mails
