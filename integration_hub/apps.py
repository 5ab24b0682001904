from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProjectConfig(AppConfig):
    """The project's own wiring: the demo's management commands and the hub's default schedules."""

    name = "integration_hub"
    verbose_name = "Integration Hub"

    def ready(self) -> None:
        from integration_hub import schedules  # models can be imported only once the app registry is ready

        # Sent per app with models: once, after the hub's own tables (this app has none of its own).
        post_migrate.connect(schedules.ensure_default_schedules, sender=self.apps.get_app_config("hub"),
                             dispatch_uid="hub-schedules")
