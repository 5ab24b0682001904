"""The held fields' FilterSet, shared by the data-quality page, its CSV and the API, so all filter the same way."""
from __future__ import annotations

import django_filters
from django import forms

from connectors.models import ConnectedSystem
from integration_hub.kernel.form_ids import MAX_ID
from integration_hub.sync.held_selectors import cause_filter
from integration_hub.sync.models import HeldField
from mapping.models import ObjectMapping


class HeldStatus:
    HELD = "held"
    CLEARED = "cleared"
    ALL = "all"
    CHOICES = ((HELD, "Still held"), (CLEARED, "Cleared"), (ALL, "All"))


SIDE_CHOICES = (("crm", "CRM"), ("erp", "ERP"))


class HeldFieldFilterSet(django_filters.FilterSet):
    """By field, reason, cause (a reason with its values taken out), system, mapping, side, run, record and
    status; without a status, the fields still held."""

    field = django_filters.CharFilter(label="Field")
    reason = django_filters.CharFilter(lookup_expr="icontains", label="Reason contains")
    cause = django_filters.CharFilter(method="filter_cause", label="Cause",
                                      widget=forms.TextInput(attrs={"size": 30}))
    system = django_filters.ModelChoiceFilter(queryset=ConnectedSystem.objects.order_by("name"), label="System")
    mapping = django_filters.ModelChoiceFilter(queryset=ObjectMapping.objects.all(), label="Mapping")
    side = django_filters.ChoiceFilter(choices=SIDE_CHOICES, label="Side")
    kind = django_filters.ChoiceFilter(choices=HeldField._meta.get_field("kind").choices,
                                       label="Held, or flowed as typed")
    status = django_filters.ChoiceFilter(choices=HeldStatus.CHOICES, method="filter_status", empty_label=None,
                                         label="Status")
    # Ids as the database can hold them: anything else is a form error, never a server error.
    run = django_filters.NumberFilter(field_name="run", label="Sync run", min_value=1, max_value=MAX_ID,
                                      decimal_places=0)
    record = django_filters.NumberFilter(field_name="record", label="Record", min_value=1, max_value=MAX_ID,
                                         decimal_places=0)

    class Meta:
        model = HeldField
        fields = ["field", "reason", "cause", "system", "mapping", "side", "kind", "status", "run", "record"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data if data is not None else {}, *args, **kwargs)  # bound: the default status applies

    def filter_cause(self, queryset, name, value):
        return queryset.filter(cause_filter(value))

    def filter_status(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also knows when no status was given

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        status = self.form.cleaned_data.get("status") or HeldStatus.HELD
        if status == HeldStatus.HELD:
            return queryset.filter(cleared_at__isnull=True)
        if status == HeldStatus.CLEARED:
            return queryset.filter(cleared_at__isnull=False)
        return queryset
