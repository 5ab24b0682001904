"""FilterSets shared by the reconciliation pages and the API."""
import django_filters
from django.db.models import Q

from mapping.models import ObjectMapping
from reconciliation.reports.models import ItemKind, ReconciliationReport, ReportItem, ReportStatus


class ReportFilterSet(django_filters.FilterSet):
    mapping = django_filters.ModelChoiceFilter(queryset=ObjectMapping.objects.all())
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices)

    class Meta:
        model = ReconciliationReport
        fields = ["mapping", "entity_type", "status"]


class ReportItemFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ItemKind.choices)
    field = django_filters.CharFilter(label="Field")
    external_id = django_filters.CharFilter(method="by_external_id", label="CRM or ERP id")

    class Meta:
        model = ReportItem
        fields = ["kind", "field", "external_id"]

    def by_external_id(self, queryset, name, value):
        return queryset.filter(Q(crm_id=value) | Q(erp_id=value)) if value else queryset
