from django.apps import AppConfig


class HealthConfig(AppConfig):
    """Reconciliation reports, sync health metrics and alerts."""

    name = "reconciliation.health"
    label = "health"
    verbose_name = "Reconciliation and health"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reconciliation.health import schedules

        post_migrate.connect(schedules.ensure_health_schedules, sender=self, dispatch_uid="health-schedules")
