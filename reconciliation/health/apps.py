from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HealthConfig(AppConfig):
    """Sync health: the metrics, their charts, alert rules and alerts."""

    name = "reconciliation.health"
    label = "health"
    verbose_name = "Reconciliation and health"

    def ready(self) -> None:
        from reconciliation.health import schedules  # models can be imported only once the app registry is ready

        post_migrate.connect(schedules.ensure_health_schedules, sender=self, dispatch_uid="health-schedules")
