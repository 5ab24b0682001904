from django.apps import AppConfig

from integration_hub.sync import ports


class DuplicatesConfig(AppConfig):
    """Duplicate candidates with evidence, merges with survivorship and undo."""

    name = "reconciliation.duplicates"
    label = "duplicates"
    verbose_name = "Duplicates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from integration_hub.records import extensions
        from reconciliation.duplicates import record_page, signals
        from reconciliation.duplicates.sync_screen import DuplicateScreen  # reads the models: loaded once they are

        signals.connect()
        extensions.add_timeline_source(record_page.timeline_entries)
        extensions.add_page_section(record_page.page_section)
        ports.register_duplicate_screen(DuplicateScreen())
