"""API serializers for sync runs."""
from rest_framework import serializers

from integration_hub.kernel.serializers import ModelValidatedSerializer
from integration_hub.sync.models import SyncRun


class SyncRunSerializer(ModelValidatedSerializer):
    rule_version = serializers.IntegerField(source="rule_version.number", read_only=True, default=None)

    class Meta:
        model = SyncRun
        fields = ("id", "mapping", "trigger", "mode", "full", "status", "rule_version", "processed", "counts",
                  "cursor_before", "cursor_after", "error", "created_at", "started_at", "finished_at")
        read_only_fields = ("trigger", "status", "rule_version", "processed", "counts", "cursor_before",
                            "cursor_after", "error", "created_at", "started_at", "finished_at")
