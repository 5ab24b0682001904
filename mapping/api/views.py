from django.db.models import F
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from mapping.api.serializers import FieldRuleSerializer, ObjectMappingSerializer
from mapping.filters import FieldRuleFilterSet, MappingFilterSet
from mapping.models import FieldRule, FrozenVersionError, ObjectMapping
from mapping.services import mapping_sync_schedule


class ObjectMappingViewSet(viewsets.ModelViewSet):
    """Object mappings; read for every role, written by RevOps admins."""

    queryset = ObjectMapping.objects.select_related("crm_system", "erp_system", "published_version")
    serializer_class = ObjectMappingSerializer
    filterset_class = MappingFilterSet
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def perform_create(self, serializer):
        mapping_sync_schedule(mapping=serializer.save())

    def perform_update(self, serializer):
        mapping_sync_schedule(mapping=serializer.save())


class FieldRuleViewSet(viewsets.ModelViewSet):
    """Field rules; by default those of the published versions, filterable by entity."""

    serializer_class = FieldRuleSerializer
    filterset_class = FieldRuleFilterSet

    def get_queryset(self):
        rules = FieldRule.objects.select_related("version__mapping").order_by("version__mapping", "position", "field")
        if self.action == "list" and "version" not in self.request.query_params:
            rules = rules.filter(version__mapping__published_version=F("version"))
        return rules

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except FrozenVersionError as exc:
            raise ValidationError(exc.messages) from None

    def perform_update(self, serializer):
        try:
            serializer.save()
        except FrozenVersionError as exc:
            raise ValidationError(exc.messages) from None
