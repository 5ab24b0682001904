"""The conflict queue's FilterSet, shared by the page, the bulk decision and the API."""
from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integration_hub.records.models import EntityType
from mapping.models import ApproverRole, FieldRule, ObjectMapping
from reconciliation.conflicts.models import Conflict, ConflictStatus
from reconciliation.conflicts.selectors import sla_cutoff

AGES = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def age_choices():
    return [("sla", f"Over the SLA ({settings.CONFLICT_SLA_HOURS} h)"), ("1d", "Older than a day"),
            ("7d", "Older than a week"), ("30d", "Older than 30 days")]


def known_fields() -> list[str]:
    """Fields of the published rules: suggestions for the field filter."""
    return list(FieldRule.objects.filter(version__mapping__published_version=F("version"))
                .order_by("field").values_list("field", flat=True).distinct())


def system_pair_choices():
    pairs = ObjectMapping.objects.order_by("crm_system__name", "erp_system__name") \
        .values_list("crm_system_id", "erp_system_id", "crm_system__name", "erp_system__name").distinct()
    return [(f"{crm}-{erp}", f"{crm_name} ↔ {erp_name}") for crm, erp, crm_name, erp_name in pairs]


class ConflictFilterSet(django_filters.FilterSet):
    entity_type = django_filters.ChoiceFilter(choices=EntityType.choices, label="Entity")
    field = django_filters.CharFilter(label="Field", widget=forms.TextInput(attrs={"list": "conflict-fields"}))
    systems = django_filters.ChoiceFilter(choices=system_pair_choices, method="filter_systems", label="Systems")
    approver_role = django_filters.ChoiceFilter(choices=ApproverRole.choices, label="Approver")
    age = django_filters.ChoiceFilter(choices=age_choices, method="filter_age", label="Age")
    account_owner = django_filters.CharFilter(label="Account owner")
    min_stake = django_filters.NumberFilter(field_name="amount_at_stake", lookup_expr="gte",
                                            label="Amount at stake ≥")
    status = django_filters.ChoiceFilter(choices=ConflictStatus.choices, label="Status")
    record = django_filters.NumberFilter(field_name="record_id", label="Record")

    class Meta:
        model = Conflict
        fields = ["entity_type", "field", "systems", "approver_role", "age", "account_owner", "min_stake",
                  "status", "record"]

    def filter_systems(self, queryset, name, value: str):
        crm, _, erp = value.partition("-")
        mappings = ObjectMapping.objects.filter(crm_system_id=crm, erp_system_id=erp).values_list("pk", flat=True)
        return queryset.filter(mapping_id__in=list(mappings))

    def filter_age(self, queryset, name, value: str):
        cutoff = sla_cutoff() if value == "sla" else timezone.now() - AGES[value]
        return queryset.filter(created_at__lt=cutoff)
