from collections import Counter
from datetime import UTC

from django.db import migrations, models
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import TruncHour


def count_statuses(apps, schema_editor):
    # The leads in each status now add up from tallies of every status move (leads.services.tallies,
    # `in_status`). An installation with tallies counts its history in: each lead's creation (into
    # nurturing, where every lead begins) and each event that moved a lead, but neither a rejection taken
    # back nor its undo.
    Lead = apps.get_model("leads", "Lead")
    LeadEvent = apps.get_model("leads", "LeadEvent")
    Tally = apps.get_model("leads", "Tally")
    if not Lead.objects.exists():
        return
    if schema_editor.connection.vendor == "postgresql":
        # Writers of the running release wait, so none is both kept and counted again.
        schema_editor.execute("LOCK TABLE leads_tally IN EXCLUSIVE MODE")
    # Counted afresh, whatever a process already running this release tallied before the migration.
    Tally.objects.filter(figure="in_status").delete()
    cells = Counter()
    hour = TruncHour("created_at", tzinfo=UTC)
    for agreement_id, at, n in Lead.objects.values_list("agreement_id", hour).annotate(n=Count("pk")).order_by():
        cells[(agreement_id, at, "nurturing")] += n
    following = LeadEvent.objects.filter(lead=OuterRef("lead"), pk__gt=OuterRef("pk")).order_by("pk")
    moves = (
        LeadEvent.objects.exclude(kind__in=["created", "rejection_undone"])
        .exclude(from_status=F("to_status"))
        .alias(next_kind=Subquery(following.values("kind")[:1]))
        .filter(~Q(kind="rejected") | Q(next_kind__isnull=True) | ~Q(next_kind="rejection_undone"))
        .values_list("lead__agreement_id", TruncHour("at", tzinfo=UTC), "from_status", "to_status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for agreement_id, at, from_status, to_status, n in moves:
        cells[(agreement_id, at, from_status)] -= n
        cells[(agreement_id, at, to_status)] += n
    Tally.objects.bulk_create(
        (
            Tally(agreement_id=a, hour=h, figure="in_status", key=k, n=n, folded=True)
            for (a, h, k), n in cells.items()
            if n
        ),
        batch_size=5000,
    )


def forget(apps, schema_editor):
    apps.get_model("leads", "Tally").objects.filter(figure="in_status").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("agreements", "0003_service_clock_timestamps_not_editable"),
        ("leads", "0015_count_temperature_matrix"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="tally",
            index=models.Index(fields=["agreement", "figure", "hour"], name="tally_figure_idx"),
        ),
        migrations.RunPython(count_statuses, forget),
    ]
