from rest_framework import serializers

from connectors.models import ConnectedSystem
from mapping.models import FieldRule, ObjectMapping
from mapping.rule_checks import rule_problems


class ObjectMappingSerializer(serializers.ModelSerializer):
    crm_system = serializers.SlugRelatedField(slug_field="slug", queryset=ConnectedSystem.objects.filter(role="crm"))
    erp_system = serializers.SlugRelatedField(slug_field="slug", queryset=ConnectedSystem.objects.filter(role="erp"))
    published_version = serializers.IntegerField(source="published_version.number", read_only=True, default=None)

    class Meta:
        model = ObjectMapping
        fields = ("id", "entity_type", "crm_system", "erp_system", "crm_object", "erp_object", "match_keys",
                  "crm_creates", "crm_create_trigger", "erp_creates", "erp_create_trigger", "erp_create_defaults",
                  "cadence", "interval_minutes", "daily_at", "is_enabled", "published_version")

    def validate_erp_create_defaults(self, value):
        from mapping.create_defaults import shape_problems

        if problems := shape_problems(value):
            raise serializers.ValidationError(problems)
        return value


class FieldRuleSerializer(serializers.ModelSerializer):
    entity = serializers.CharField(source="version.mapping.entity_type", read_only=True)
    mapping = serializers.IntegerField(source="version.mapping_id", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    version_status = serializers.CharField(source="version.status", read_only=True)
    crm_field = serializers.CharField(source="crm_path")
    erp_field = serializers.CharField(source="erp_path")

    class Meta:
        model = FieldRule
        fields = ("id", "entity", "mapping", "version", "version_number", "version_status", "field", "field_type",
                  "crm_field", "erp_field", "system_of_record", "conflict_policy", "non_owner_policy",
                  "approver_role", "crm_transforms", "erp_transforms", "validation", "sensitive", "position")

    def validate(self, attrs):
        version = attrs.get("version") or (self.instance.version if self.instance else None)
        if version is not None and not version.is_draft:
            raise serializers.ValidationError(
                {"version": "Rules can only be added to or changed in a draft version; open a draft first."})
        merged = {**(self.instance.as_dict() if self.instance else {}),
                  **{k: v for k, v in attrs.items() if k != "version"}}
        candidate = FieldRule(**merged)
        problems = rule_problems(candidate)
        if problems:
            raise serializers.ValidationError(
                {("non_field_errors" if k == "__all__" else k): v for k, v in problems.items()})
        return attrs
