from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reconciliation reports: each side's records and money totals compared with the hub's.

    Its models keep the app label ("health") and tables they were created with, so an existing database upgrades
    in place; their migrations are in reconciliation/health/migrations."""

    name = "reconciliation.reports"
    label = "reports"
    verbose_name = "Reconciliation reports"
