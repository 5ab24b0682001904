from django.apps import AppConfig


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

        signals.connect()
        extensions.add_timeline_source(record_page.timeline_entries)
        extensions.add_page_section(record_page.page_section)
