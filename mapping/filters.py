import django_filters

from integration_hub.records.models import EntityType
from mapping.models import FieldRule, ObjectMapping


class MappingFilterSet(django_filters.FilterSet):
    entity_type = django_filters.ChoiceFilter(choices=EntityType.choices, label="Entity")

    class Meta:
        model = ObjectMapping
        fields = ["entity_type", "crm_system", "erp_system", "is_enabled"]


class FieldRuleFilterSet(django_filters.FilterSet):
    entity = django_filters.ChoiceFilter(field_name="version__mapping__entity_type", choices=EntityType.choices)
    mapping = django_filters.NumberFilter(field_name="version__mapping")
    version = django_filters.NumberFilter(field_name="version", label="Version id (default: published)")

    class Meta:
        model = FieldRule
        fields = ["entity", "mapping", "version", "system_of_record", "approver_role", "field_type"]
