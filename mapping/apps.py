from django.apps import AppConfig


class MappingConfig(AppConfig):
    """Object mappings, field rules and rule versions (filled by the field-governance issue)."""

    name = "mapping"
    verbose_name = "Field governance"
