from django.apps import AppConfig


class SyncConfig(AppConfig):
    """Sync runs, the engine, the outbox, webhooks intake and the `sync` command."""

    name = "integration_hub.sync"
    label = "sync"
    verbose_name = "Sync"
