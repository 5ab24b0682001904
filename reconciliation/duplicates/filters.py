"""One FilterSet for the duplicate queue page and the API."""
import django_filters

from integration_hub.records.models import EntityType
from reconciliation.duplicates.models import CandidateKind, CandidateStatus, DuplicateCandidate
from reconciliation.duplicates.scoring import ENTITY_TYPES


class CandidateFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CandidateStatus.choices, empty_label="Any status")
    entity_type = django_filters.ChoiceFilter(
        choices=[c for c in EntityType.choices if c[0] in ENTITY_TYPES], label="Entity")
    kind = django_filters.ChoiceFilter(choices=CandidateKind.choices)
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score at least")
    record = django_filters.NumberFilter(field_name="records", label="Record id")

    class Meta:
        model = DuplicateCandidate
        fields = ["status", "entity_type", "kind", "min_score", "record"]
