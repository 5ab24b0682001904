from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Connected systems, the Connector interface, vendor modules and sandbox emulators."""

    name = "connectors"
    verbose_name = "Connectors"
