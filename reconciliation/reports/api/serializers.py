from rest_framework import serializers

from integration_hub.kernel.serializers import ModelValidatedSerializer
from reconciliation.reports.models import ReconciliationReport, ReportItem


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
