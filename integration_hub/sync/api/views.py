"""API views for sync runs: list, read, and POST to start one."""
from django.db import transaction
from rest_framework import viewsets

from integration_hub.sync import tasks
from integration_hub.sync.api.serializers import SyncRunDetailSerializer, SyncRunSerializer
from integration_hub.sync.models import SyncRun, SyncTrigger


class SyncRunViewSet(viewsets.mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sync runs: GET shows progress and counts (one run also what became of its writes); POST {"mapping": id,
    "mode", "full"} starts one (RevOps)."""

    queryset = SyncRun.objects.select_related("rule_version")
    serializer_class = SyncRunSerializer
    filterset_fields = ("mapping", "status", "trigger", "mode")

    def get_serializer_class(self):
        return SyncRunDetailSerializer if self.action == "retrieve" else SyncRunSerializer

    def perform_create(self, serializer):
        run = serializer.save(trigger=SyncTrigger.MANUAL, requested_by=self.request.user)
        transaction.on_commit(lambda: tasks.sync_mapping.delay(run.mapping_id, run_id=run.pk))
