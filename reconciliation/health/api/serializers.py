from rest_framework import serializers

from reconciliation.health.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    metric = serializers.CharField(source="rule.metric", read_only=True)
    threshold = serializers.FloatField(source="rule.threshold", read_only=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", read_only=True, default=None)

    class Meta:
        model = Alert
        fields = ["id", "rule", "rule_name", "metric", "threshold", "subject", "subject_label", "status", "value",
                  "message", "opened_at", "last_seen_at", "acknowledged_by", "acknowledged_at", "resolved_at"]
        read_only_fields = fields
