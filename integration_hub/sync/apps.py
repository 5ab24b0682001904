from django.apps import AppConfig
from django.core import checks

from integration_hub.sync import ports


class SyncConfig(AppConfig):
    """Sync runs, the engine, the outbox, webhooks intake and the `sync` command."""

    name = "integration_hub.sync"
    label = "sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from integration_hub.records import extensions
        from integration_hub.sync import record_page

        extensions.add_timeline_source(record_page.timeline_entries)
        extensions.add_page_section(record_page.page_section)
        checks.register(ports.registration_check)  # reconciliation registers the ports in its own ready()
