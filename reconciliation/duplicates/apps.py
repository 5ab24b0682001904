from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    """Duplicate candidates with evidence, merges with survivorship and undo."""

    name = "reconciliation.duplicates"
    label = "duplicates"
    verbose_name = "Duplicates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from reconciliation.duplicates import signals

        signals.connect()
