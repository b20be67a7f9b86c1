from collections import Counter
from datetime import UTC

from django.db import migrations
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import TruncHour

FIGURES = ("converted_mql", "converted_accepted", "converted_qualified")


def count_conversions(apps, schema_editor):
    # The conversion cohorts now come from tallies written as a step completes one, dated by the
    # cohort's step (leads.services.tallies, reporting.conversion). An installation with tallies counts
    # its history in, afresh, by the same rules: an MQL accepted since, an acceptance whose next status
    # was qualified, a first qualification whose next status was won.
    Lead = apps.get_model("leads", "Lead")
    LeadEvent = apps.get_model("leads", "LeadEvent")
    Tally = apps.get_model("leads", "Tally")
    if not Tally.objects.exists():
        return
    if schema_editor.connection.vendor == "postgresql":
        # Writers of the running release wait, so none is both kept and counted again.
        schema_editor.execute("LOCK TABLE leads_tally IN EXCLUSIVE MODE")
    Tally.objects.filter(figure__in=FIGURES).delete()
    cells = Counter()
    accepted = LeadEvent.objects.filter(lead=OuterRef("pk"), kind="accepted", at__gte=OuterRef("mql_at"))
    mqls = (
        Lead.objects.filter(mql_at__isnull=False)
        .filter(Exists(accepted))
        .values_list("agreement_id", TruncHour("mql_at", tzinfo=UTC))
        .annotate(n=Count("pk"))
        .order_by()
    )
    for agreement_id, hour, n in mqls:
        cells[(agreement_id, hour, "converted_mql")] += n
    later = (
        LeadEvent.objects.filter(lead=OuterRef("lead"))
        .filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
        .exclude(from_status=F("to_status"))
        .order_by("at", "pk")
    )
    steps = (
        LeadEvent.objects.filter(sla_version__isnull=False)
        .filter(Q(kind="accepted") | Q(kind="qualified", from_status="accepted"))
        .annotate(next_kind=Subquery(later.values("kind")[:1]))
        .filter(Q(kind="accepted", next_kind="qualified") | Q(kind="qualified", next_kind="won"))
        .values_list("sla_version__agreement_id", "kind", TruncHour("at", tzinfo=UTC))
        .annotate(n=Count("pk"))
        .order_by()
    )
    for agreement_id, kind, hour, n in steps:
        cells[(agreement_id, hour, "converted_accepted" if kind == "accepted" else "converted_qualified")] += n
    Tally.objects.bulk_create(
        (Tally(agreement_id=a, hour=h, figure=f, key="", n=n, folded=True) for (a, h, f), n in cells.items()),
        batch_size=5000,
    )


def forget(apps, schema_editor):
    apps.get_model("leads", "Tally").objects.filter(figure__in=FIGURES).delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0017_time_indexes")]

    operations = [migrations.RunPython(count_conversions, forget)]
