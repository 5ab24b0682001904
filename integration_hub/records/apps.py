from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Golden records, their links to each system's ids, match keys and the record timeline.

    The label stays "hub", the label the tables were created under, so existing databases upgrade in place. The
    sync's models (integration_hub/sync/models.py) keep it too, and their migrations live here."""

    name = "integration_hub.records"
    label = "hub"
    verbose_name = "Hub"
