"""The tables that leads.0007 renamed to integrations_* enter this app's state; the database is not touched
again. Their content types (and so their permissions and admin history) follow them."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import integrations.models
from django.conf import settings
from django.db import migrations, models


MOVED = ("apitoken", "idempotencyrecord", "outbox", "webhooksubscription")


def _relabel(apps, schema_editor, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    moving = types.filter(app_label=source, model__in=MOVED)
    # A target row made early (code that looked a type up before migrate ended) holds nothing yet.
    types.filter(app_label=target, model__in=moving.values("model")).delete()
    moving.update(app_label=target)


def move_content_types(apps, schema_editor):
    _relabel(apps, schema_editor, "leads", "integrations")


def move_content_types_back(apps, schema_editor):
    _relabel(apps, schema_editor, "integrations", "leads")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
        ('leads', '0007_move_integration_tables_out'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='WebhookSubscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(max_length=500, validators=[integrations.models.validate_webhook_url])),
                ('secret', models.CharField(help_text='Shared secret for the HMAC-SHA256 signature; at least 16 characters.', max_length=200, validators=[django.core.validators.MinLengthValidator(16)])),
                ('events', models.JSONField(default=list, help_text='A list of event names: lead.handed_off, lead.accepted, lead.rejected, lead.pickup_overdue, lead.reassigned, lead.closed, report.published.', validators=[integrations.models.validate_webhook_events])),
                ('is_active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['pk'],
            },
        ),
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('prefix', models.CharField(help_text="The token's first characters, to recognise it.", max_length=16)),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Outbox',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(choices=[('email', 'E-mail'), ('webhook', 'Webhook')], max_length=10)),
                ('payload', models.JSONField()),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed (gave up)')], default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField()),
                ('last_error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(condition=models.Q(('status', 'pending')), fields=['next_attempt_at'], name='outbox_due_idx')],
            },
        ),
        migrations.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=200)),
                ('request_hash', models.CharField(help_text='SHA-256 of method, path and body.', max_length=64)),
                ('status_code', models.PositiveSmallIntegerField(blank=True, help_text='Empty while in progress.', null=True)),
                ('response', models.TextField(blank=True, help_text="The first response's body, exactly as sent.")),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['created_at'], name='idempotency_created_idx')],
                'constraints': [models.UniqueConstraint(fields=('user', 'key'), name='idempotency_key_once_per_user')],
            },
        ),
        ]),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
