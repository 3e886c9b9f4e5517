"""Install the periodic tasks of astro/schedules.py on a fresh database, so a bare
`migrate` gives beat a working schedule (`setup_periodic_tasks` does the same later)."""

from django.db import migrations


def install(apps, schema_editor):
    from astro.schedules import install_schedules

    install_schedules(
        periodic_task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0002_held_snapshot_and_queue"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
