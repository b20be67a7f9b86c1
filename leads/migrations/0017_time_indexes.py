from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("agreements", "0003_service_clock_timestamps_not_editable"),
        ("leads", "0016_tally_figure_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["created_at"], name="lead_created_idx"),
        ),
        migrations.AddIndex(
            model_name="leadevent",
            index=models.Index(fields=["at"], name="leadevent_time_idx"),
        ),
    ]
