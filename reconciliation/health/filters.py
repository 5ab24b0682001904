"""FilterSets shared by the pages and the API."""
import django_filters

from reconciliation.health.models import Alert, AlertStatus


class AlertFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)

    class Meta:
        model = Alert
        fields = ["status", "rule"]
