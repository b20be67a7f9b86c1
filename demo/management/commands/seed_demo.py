from django.core.management.base import BaseCommand

from demo.history import seed_leads
from demo.simulations import seed_simulations
from demo.sla import DEMO_PASSWORD, DEMO_USERS, seed_agreements
from reporting.services import reports_build_due


class Command(BaseCommand):
    help = "Create the demo users, teams and signed SLA (idempotent: existing data is left as it is)."

    def handle(self, *args, **options):
        created = seed_agreements()
        leads = seed_leads()
        if leads:
            created.append(f"{leads} demo leads over the last 12 months")
        # Reports of the months that have ended, as the daily job would have published them.
        reports = reports_build_due()
        if reports:
            created.append(f"{len(reports)} monthly reports ({reports[0].period} to {reports[-1].period})")
        ran = seed_simulations()
        if ran:
            created.append(f"a draft v2 and {ran} simulations of past leads")
        for line in created:
            self.stdout.write(f"created {line}")
        if not created:
            self.stdout.write("demo data already present; nothing changed")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for spec in DEMO_USERS:
            roles = ", ".join(role.value for role in spec.roles)
            self.stdout.write(f"  {spec.username:<15} {roles}")
