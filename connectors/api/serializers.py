"""API serializers for connected systems: credentials are write-only and never returned."""
from rest_framework import serializers

from connectors.models import ConnectedSystem
from connectors.services import system_save
from integration_hub.kernel.serializers import ModelValidatedSerializer


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
        credentials = validated_data.pop("credentials", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        system_save(system=instance, credentials=credentials)
        return instance
