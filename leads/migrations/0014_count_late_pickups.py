from datetime import UTC

from django.db import migrations
from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform


def count_late_pickups(apps, schema_editor):
    # A pickup now says when it came after a deadline no sweep recorded (`unrecorded_breach`), and the
    # tallies count it then (leads.services.sales, leads.services.tallies). The stored pickups, which
    # stay as they were written, are counted into the tallies by the rule the report works them out with
    # (reporting.breaches, case 3), if the installation has tallies.
    LeadEvent = apps.get_model("leads", "LeadEvent")
    Tally = apps.get_model("leads", "Tally")
    before = (
        LeadEvent.objects.filter(lead=OuterRef("lead"), kind__in=["handed_off", "reassigned", "breached"])
        .filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk")))
        .annotate(hours=KeyTextTransform("pickup_hours", "details"))
        .order_by("-at", "-pk")
        .annotate(
            unrecorded=Case(
                When(kind="handed_off", hours__isnull=False, then=Value(1)),
                When(kind="reassigned", clause__startswith="handoff.pickup.", then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    )
    following = LeadEvent.objects.filter(lead=OuterRef("lead"), pk__gt=OuterRef("pk")).order_by("pk")
    late = (
        LeadEvent.objects.filter(kind__in=["accepted", "rejected"], details__within_deadline=False)
        .annotate(
            unrecorded=Subquery(before.values("unrecorded")[:1]),
            next_kind=Subquery(following.values("kind")[:1]),
        )
        .filter(unrecorded=1)
        .select_related("actor", "sla_version")
        .order_by("pk")
    )
    if not Tally.objects.exists():
        return
    if schema_editor.connection.vendor == "postgresql":
        # Writers of the running release wait, so none is both kept and counted again.
        schema_editor.execute("LOCK TABLE leads_tally IN EXCLUSIVE MODE")
    # Counted afresh, whatever a process already running this release tallied before the migration.
    Tally.objects.filter(figure="late_pickups").delete()
    tallies = []
    for event in late.iterator(chunk_size=2000):
        # A rejection its rep took back is no pickup: its tallies were taken back with it.
        undone = event.kind == "rejected" and event.next_kind == "rejection_undone"
        if event.sla_version_id and not undone:
            hour = event.at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            key = event.actor.username if event.actor_id else ""
            tallies.append(
                Tally(
                    agreement_id=event.sla_version.agreement_id,
                    hour=hour,
                    figure="late_pickups",
                    key=key,
                    n=1,
                )
            )
        if len(tallies) >= 2000:
            Tally.objects.bulk_create(tallies)
            tallies = []
    Tally.objects.bulk_create(tallies)


def forget(apps, schema_editor):
    apps.get_model("leads", "Tally").objects.filter(figure="late_pickups").delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0013_lead_mql_index")]

    operations = [migrations.RunPython(count_late_pickups, forget)]
