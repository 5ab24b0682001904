from rest_framework import serializers

from connectors.models import ConnectedSystem
from integration_hub.kernel.serializers import ModelValidatedSerializer
from mapping.models import FieldRule, ObjectMapping


class ObjectMappingSerializer(ModelValidatedSerializer):
    crm_system = serializers.SlugRelatedField(slug_field="slug", queryset=ConnectedSystem.objects.filter(role="crm"))
    erp_system = serializers.SlugRelatedField(slug_field="slug", queryset=ConnectedSystem.objects.filter(role="erp"))
    published_version = serializers.IntegerField(source="published_version.number", read_only=True, default=None)

    class Meta:
        model = ObjectMapping
        fields = ("id", "entity_type", "crm_system", "erp_system", "crm_object", "erp_object", "match_keys",
                  "crm_creates", "crm_create_trigger", "erp_creates", "erp_create_trigger", "erp_create_defaults",
                  "cadence", "interval_minutes", "daily_at", "is_enabled", "published_version")


class FieldRuleSerializer(ModelValidatedSerializer):
    entity = serializers.CharField(source="version.mapping.entity_type", read_only=True)
    mapping = serializers.IntegerField(source="version.mapping_id", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    version_status = serializers.CharField(source="version.status", read_only=True)
    crm_field = serializers.CharField(source="crm_path", required=False, allow_blank=True, max_length=300)
    erp_field = serializers.CharField(source="erp_path", required=False, allow_blank=True, max_length=300)

    class Meta:
        model = FieldRule
        fields = ("id", "entity", "mapping", "version", "version_number", "version_status", "field", "field_type",
                  "reference_to", "crm_field", "erp_field", "system_of_record", "conflict_policy", "non_owner_policy",
                  "approver_role", "crm_transforms", "erp_transforms", "validation", "sensitive", "position")

    def validate(self, attrs):
        version = attrs.get("version") or (self.instance.version if self.instance else None)
        if version is not None and not version.is_draft:
            raise serializers.ValidationError(
                {"version": "Rules can only be added to or changed in a draft version; open a draft first."})
        return super().validate(attrs)  # the rule's own checks (FieldRule.clean: rule_problems)
