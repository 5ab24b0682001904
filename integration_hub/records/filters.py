"""FilterSets shared by the pages and the API, so both filter the same way."""
import django_filters

from connectors.models import ConnectedSystem
from integration_hub.records.models import EntityType, Record


class RecordFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="display_name", lookup_expr="icontains", label="Name contains")
    entity_type = django_filters.ChoiceFilter(choices=EntityType.choices, label="Entity")
    system = django_filters.ModelChoiceFilter(
        field_name="links__system", queryset=ConnectedSystem.objects.all(), label="Linked in", distinct=True)
    external_id = django_filters.CharFilter(field_name="links__external_id", label="External id", distinct=True)

    class Meta:
        model = Record
        fields = ["q", "entity_type", "system", "external_id"]

