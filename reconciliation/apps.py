from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    """Conflicts, duplicates, reconciliation reports, health (filled by later issues)."""

    name = "reconciliation"
    verbose_name = "Reconciliation"
