"""Scheduled tasks follow their modules: the sync's tasks moved to integration_hub/sync/, the conflict queue's to
reconciliation/conflicts/, the reconciliation reports' to reconciliation/reports/. A database made before keeps
its schedules (and any an admin added), now naming tasks that exist."""
from django.db import migrations

RENAMED = (
    ("integration_hub.tasks.", "integration_hub.sync.tasks."),
    ("reconciliation.tasks.", "reconciliation.conflicts.tasks."),
    ("reconciliation.health.tasks.reconcile_", "reconciliation.reports.tasks.reconcile_"),
)


def rename(apps, schema_editor, pairs=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in pairs:
        for task in PeriodicTask.objects.filter(task__startswith=old):
            task.task = new + task.task[len(old):]
            task.save(update_fields=["task"])


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, pairs=[(new, old) for old, new in RENAMED])


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0013_sync_run_heartbeat_and_dead_writes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(rename, rename_back)]
