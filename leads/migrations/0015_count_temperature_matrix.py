from datetime import UTC

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform


def count_matrix(apps, schema_editor):
    # The temperature matrix now counts qualifications as they happen, by the temperature the lead was
    # handed off with and the one sales gave it (leads.services.tallies). The stored qualifications are
    # counted into the tallies, if the installation has them, with the temperature of the handoff before
    # each (a revised qualification is no new one).
    LeadEvent = apps.get_model("leads", "LeadEvent")
    Tally = apps.get_model("leads", "Tally")
    if not Tally.objects.exists():
        return
    if schema_editor.connection.vendor == "postgresql":
        # Writers of the running release wait, so none is both kept and counted again.
        schema_editor.execute("LOCK TABLE leads_tally IN EXCLUSIVE MODE")
    # Counted afresh, whatever a process already running this release tallied before the migration.
    Tally.objects.filter(figure="matrix").delete()
    handoffs = (
        LeadEvent.objects.filter(lead=OuterRef("lead"), kind="handed_off", at__lte=OuterRef("at"))
        .order_by("-at", "-pk")
        .annotate(t=KeyTextTransform("temperature", "details"))
    )
    qualified = (
        LeadEvent.objects.filter(kind="qualified", sla_version__isnull=False)
        .exclude(from_status="qualified")
        .annotate(handed=Subquery(handoffs.values("t")[:1]))
        .select_related("sla_version")
        .order_by("pk")
    )
    tallies = []
    for event in qualified.iterator(chunk_size=2000):
        handed = event.details.get("handoff_temperature", event.handed)
        given = event.details.get("sales_temperature")
        if handed and given:
            hour = event.at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            tallies.append(
                Tally(
                    agreement_id=event.sla_version.agreement_id,
                    hour=hour,
                    figure="matrix",
                    key=f"{handed}:{given}",
                    n=1,
                )
            )
        if len(tallies) >= 2000:
            Tally.objects.bulk_create(tallies)
            tallies = []
    Tally.objects.bulk_create(tallies)


def forget(apps, schema_editor):
    apps.get_model("leads", "Tally").objects.filter(figure="matrix").delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0014_count_late_pickups")]

    operations = [migrations.RunPython(count_matrix, forget)]
