from datetime import UTC

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncHour, TruncMonth


def count_touches(apps, schema_editor):
    # Touches per account now come from tallies of the activities stored (`touches`, by the hour they
    # happened) and from one row per account and UTC month (leads.services.touches). An installation"s
    # activities are counted in, afresh, as the report counts them: for the company each lead names now.
    Activity = apps.get_model("leads", "Activity")
    AccountMonth = apps.get_model("leads", "AccountMonth")
    Tally = apps.get_model("leads", "Tally")
    if not Activity.objects.exists():
        return
    if schema_editor.connection.vendor == "postgresql":
        # Writers of the running release wait, so none is both kept and counted again.
        schema_editor.execute("LOCK TABLE leads_tally, leads_accountmonth IN EXCLUSIVE MODE")
    Tally.objects.filter(figure="touches").delete()
    AccountMonth.objects.all().delete()
    hours = (
        Activity.objects.values_list("lead__agreement_id", TruncHour("occurred_at", tzinfo=UTC))
        .annotate(n=Count("pk"))
        .order_by()
    )
    Tally.objects.bulk_create(
        (
            Tally(agreement_id=a, hour=hour, figure="touches", key="", n=n, folded=True)
            for a, hour, n in hours.iterator(5000)
        ),
        batch_size=5000,
    )
    months = (
        Activity.objects.values_list(
            "lead__agreement_id", "lead__company_name", TruncMonth("occurred_at", tzinfo=UTC)
        )
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by()
    )
    AccountMonth.objects.bulk_create(
        (
            AccountMonth(agreement_id=a, account=account, month=month, first_at=first, last_at=last)
            for a, account, month, first, last in months.iterator(5000)
        ),
        batch_size=5000,
    )


def forget(apps, schema_editor):
    apps.get_model("leads", "Tally").objects.filter(figure="touches").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("agreements", "0003_service_clock_timestamps_not_editable"),
        ("leads", "0018_count_conversions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account", models.CharField(blank=True, max_length=200)),
                ("month", models.DateTimeField(help_text="The first moment of the UTC month.")),
                ("first_at", models.DateTimeField()),
                ("last_at", models.DateTimeField()),
            ],
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["agreement", "company_name"], name="lead_account_idx"),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(fields=["occurred_at"], name="activity_time_idx"),
        ),
        migrations.AddField(
            model_name="accountmonth",
            name="agreement",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="agreements.agreement"),
        ),
        migrations.AddIndex(
            model_name="accountmonth",
            index=models.Index(fields=["agreement", "month"], name="account_month_idx"),
        ),
        migrations.AddConstraint(
            model_name="accountmonth",
            constraint=models.UniqueConstraint(fields=("agreement", "account", "month"), name="account_month_unique"),
        ),
        migrations.RunPython(count_touches, forget),
    ]
