from django.db import migrations


def count_history(apps, schema_editor):
    # An installation upgraded with events already stored counts them once, so its reports keep their
    # history; a new database has nothing to count. The rules are the running release's (see
    # leads.services.tallies): `manage.py tallies --rebuild` does the same by hand.
    if not apps.get_model("leads", "LeadEvent").objects.exists():
        return
    from leads.services.recount import tallies_rebuild

    tallies_rebuild()


class Migration(migrations.Migration):
    dependencies = [("leads", "0011_tally")]

    operations = [migrations.RunPython(count_history, migrations.RunPython.noop)]
