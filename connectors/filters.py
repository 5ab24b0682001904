"""FilterSets for the connected systems, shared by the page and the API."""
import django_filters

from connectors.models import ConnectedSystem


class SystemFilterSet(django_filters.FilterSet):
    class Meta:
        model = ConnectedSystem
        fields = ["role", "vendor", "rollout_stage", "auth_status"]
