"""API serializers: credentials are write-only and never returned."""
from rest_framework import serializers

from connectors.models import ConnectedSystem
from integration_hub import selectors
from integration_hub.api.validation import ModelValidatedSerializer
from integration_hub.models import Record, RecordLink, SyncRun


class ConnectedSystemSerializer(ModelValidatedSerializer):
    credentials = serializers.JSONField(write_only=True, required=False,
                                        help_text="Encrypted at rest; never returned.")
    has_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = ConnectedSystem
        fields = ("id", "slug", "name", "role", "vendor", "base_url", "credentials", "has_credentials",
                  "rollout_stage", "is_active", "auth_status", "auth_message", "auth_checked_at")
        read_only_fields = ("auth_status", "auth_message", "auth_checked_at")

    def validate_credentials(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Credentials must be a JSON object.")
        return value

    def create(self, validated_data):
        return self.update(ConnectedSystem(), validated_data)

    def update(self, instance, validated_data):
        """Saved by the service: a new base URL or vendor without new credentials clears the stored ones."""
        from connectors.services import system_save

        credentials = validated_data.pop("credentials", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        system_save(system=instance, credentials=credentials)
        return instance


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


class SyncRunSerializer(ModelValidatedSerializer):
    rule_version = serializers.IntegerField(source="rule_version.number", read_only=True, default=None)

    class Meta:
        model = SyncRun
        fields = ("id", "mapping", "trigger", "mode", "full", "status", "rule_version", "processed", "counts",
                  "cursor_before", "cursor_after", "error", "created_at", "started_at", "finished_at")
        read_only_fields = ("trigger", "status", "rule_version", "processed", "counts", "cursor_before",
                            "cursor_after", "error", "created_at", "started_at", "finished_at")
