from django.apps import AppConfig


class MappingConfig(AppConfig):
    """Object mappings, field rules and rule versions (filled by the field-governance issue)."""

    name = "mapping"
    verbose_name = "Field governance"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from integration_hub.records import extensions
        from mapping import record_rules

        extensions.add_sensitive_fields(record_rules.sensitive_fields)
        extensions.add_finance_fields(record_rules.finance_fields)
        extensions.add_match_keys(record_rules.match_keys)
