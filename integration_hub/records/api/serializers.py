"""API serializers: credentials are write-only and never returned."""
from rest_framework import serializers

from integration_hub.records import selectors
from integration_hub.records.models import Record, RecordLink


class RecordLinkSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = RecordLink
        fields = ("system", "entity_type", "external_id", "status", "remote_updated_at", "last_synced_at")


class RecordSerializer(serializers.ModelSerializer):
    links = RecordLinkSerializer(many=True, read_only=True)

    class Meta:
        model = Record
        fields = ("id", "entity_type", "display_name", "values", "provenance", "links", "created_at", "updated_at")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            per_entity = self.context.setdefault("hidden_fields", {})  # one query per entity type, not per row
            if instance.entity_type not in per_entity:
                per_entity[instance.entity_type] = selectors.hidden_fields_for(request.user, instance.entity_type)
            data["values"] = selectors.masked_values(data["values"], per_entity[instance.entity_type])
        return data


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class TimelineEntrySerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    actor = serializers.CharField()
    reason = serializers.CharField()
    correlation_id = serializers.CharField()
    changes = FieldChangeSerializer(many=True)

