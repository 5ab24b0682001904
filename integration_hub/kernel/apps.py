from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KernelConfig(AppConfig):
    """Audit and actors, roles and permissions, the value formatting the pages share (template tags), and the
    locks and vendor budgets every process shares (its one table: locks without Redis)."""

    name = "integration_hub.kernel"
    label = "kernel"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from integration_hub.kernel import audit, roles  # they import models: loaded once the registry is ready

        audit.connect_signals()
        # Models added by later migrations join the roles' permissions automatically.
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="hub-sync-roles")
