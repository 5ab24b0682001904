from rest_framework import serializers

from integration_hub.api.validation import ModelValidatedSerializer
from reconciliation.health.models import Alert, ReconciliationReport, ReportItem


class ReportItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportItem
        fields = ["id", "kind", "field", "currency", "record", "crm_id", "erp_id", "crm_value", "erp_value",
                  "hub_value", "lineage", "detail"]


class ReconciliationReportSerializer(ModelValidatedSerializer):
    mapping_name = serializers.CharField(source="mapping.__str__", read_only=True)
    rule_version = serializers.IntegerField(source="rule_version.number", read_only=True, default=None)
    url = serializers.HyperlinkedIdentityField(view_name="reconciliationreport-detail")

    class Meta:
        model = ReconciliationReport
        fields = ["id", "url", "mapping", "mapping_name", "entity_type", "rule_version", "trigger", "status",
                  "counts", "only_crm", "only_erp", "compared", "mismatched", "in_flight", "consistency_score",
                  "field_mismatches", "compared_fields", "skipped_fields", "money", "money_mismatches", "error",
                  "created_at", "finished_at"]
        read_only_fields = [f for f in fields if f != "mapping"]


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
