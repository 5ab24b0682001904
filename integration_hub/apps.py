from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HubConfig(AppConfig):
    """The hub core: golden records, links, audit, roles."""

    name = "integration_hub"
    label = "hub"
    verbose_name = "Hub"

    def ready(self) -> None:
        from integration_hub import audit, roles, schedules

        audit.connect_signals()
        # Models added by later migrations join the roles' permissions automatically.
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="hub-sync-roles")
        post_migrate.connect(schedules.ensure_default_schedules, sender=self, dispatch_uid="hub-schedules")
