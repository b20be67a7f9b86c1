"""API tokens, idempotency keys, webhook subscriptions and the outbox move to the integrations app.

Their tables are renamed to integrations_* (rows, indexes and constraints stay as they are) and leave
this app's state; integrations.0001 takes them into its state without touching the database again.
"""

from django.db import migrations

MOVED = ("apitoken", "idempotencyrecord", "outbox", "webhooksubscription")


def _rename_like_index(apps, schema_editor, source, target):
    """PostgreSQL's extra pattern index of a unique text column is found by a name computed from the
    table's: rename it with the table, or a later change of the column would leave it behind."""
    if schema_editor.connection.vendor != "postgresql":
        return
    old = schema_editor._create_index_name(f"{source}_apitoken", ["key_hash"], suffix="_like")
    new = schema_editor._create_index_name(f"{target}_apitoken", ["key_hash"], suffix="_like")
    schema_editor.execute(f'ALTER INDEX IF EXISTS "{old}" RENAME TO "{new}"')


def like_index_to_integrations(apps, schema_editor):
    _rename_like_index(apps, schema_editor, "leads", "integrations")


def like_index_to_leads(apps, schema_editor):
    _rename_like_index(apps, schema_editor, "integrations", "leads")


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0006_activity_created_at_from_ingest_clock'),
    ]

    operations = [
        *(migrations.AlterModelTable(name=name, table=f"integrations_{name}") for name in MOVED),
        migrations.RunPython(like_index_to_integrations, like_index_to_leads),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='apitoken', name='user'),
                migrations.RemoveField(model_name='idempotencyrecord', name='user'),
                *(migrations.DeleteModel(name=name) for name in MOVED),
            ],
        ),
    ]
