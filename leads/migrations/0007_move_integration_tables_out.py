"""API tokens, idempotency keys, webhook subscriptions and the outbox move to the integrations app.

Their tables are renamed to integrations_* (rows, indexes and constraints stay as they are) and leave
this app's state; integrations.0001 takes them into its state without touching the database again.
"""

from django.db import migrations

MOVED = ("apitoken", "idempotencyrecord", "outbox", "webhooksubscription")


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0006_activity_created_at_from_ingest_clock'),
    ]

    operations = [
        *(migrations.AlterModelTable(name=name, table=f"integrations_{name}") for name in MOVED),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='apitoken', name='user'),
                migrations.RemoveField(model_name='idempotencyrecord', name='user'),
                *(migrations.DeleteModel(name=name) for name in MOVED),
            ],
        ),
    ]
