"""API serializers for sync runs."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integration_hub.kernel.serializers import ModelValidatedSerializer
from integration_hub.sync import run_lifecycle
from integration_hub.sync.models import SyncRun


class SyncRunSerializer(ModelValidatedSerializer):
    rule_version = serializers.IntegerField(source="rule_version.number", read_only=True, default=None)

    class Meta:
        model = SyncRun
        fields = ("id", "mapping", "trigger", "mode", "full", "status", "rule_version", "processed", "counts",
                  "dead_writes", "cursor_before", "cursor_after", "error", "created_at", "started_at", "finished_at")
        read_only_fields = ("trigger", "status", "rule_version", "processed", "counts", "dead_writes",
                            "cursor_before", "cursor_after", "error", "created_at", "started_at", "finished_at")


class SyncRunDetailSerializer(SyncRunSerializer):
    writes = serializers.SerializerMethodField(help_text="What became of the run's writes: status -> how many "
                                                         "(sent, pending, failed, dead, discarded, shadow).")

    class Meta(SyncRunSerializer.Meta):
        fields = SyncRunSerializer.Meta.fields + ("writes",)
        read_only_fields = SyncRunSerializer.Meta.read_only_fields + ("writes",)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_writes(self, run: SyncRun) -> dict:
        return {w["status"]: w["count"] for w in run_lifecycle.run_writes(run)}
