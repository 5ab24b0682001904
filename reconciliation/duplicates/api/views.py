"""Duplicates API: thin, over the same FilterSet and services as the pages."""
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from integration_hub.kernel.permissions import HasPermission
from reconciliation.duplicates import services
from reconciliation.duplicates.api.serializers import (
    CandidateDetailSerializer,
    CandidateSerializer,
    MergeRequestSerializer,
    MergeSerializer,
)
from reconciliation.duplicates.filters import CandidateFilterSet
from reconciliation.duplicates.merge import candidate_merge
from reconciliation.duplicates.merge_undo import merge_undo
from reconciliation.duplicates.models import DuplicateCandidate, Merge


class CanMerge(HasPermission):
    """Merge, dismiss and undo are for RevOps admins (the merge_duplicates permission)."""

    message = "Only RevOps admins merge, dismiss or undo duplicates."
    required_perm = "duplicates.merge_duplicates"


class DuplicateViewSet(viewsets.ReadOnlyModelViewSet):
    """Duplicate candidates (clusters) best score first; the detail has every pair's evidence.
    ``merge`` merges them (a record the sync held too: it is merged as the record it would have been);
    ``dismiss`` remembers "not a duplicate" (a record the sync held becomes a record of its own)."""

    queryset = DuplicateCandidate.objects.prefetch_related("records").select_related("incoming_system") \
        .order_by("-score", "id")
    serializer_class = CandidateSerializer
    filterset_class = CandidateFilterSet
    ordering_fields = ("score", "created_at", "id")

    def get_serializer_class(self):
        return CandidateDetailSerializer if self.action == "retrieve" else CandidateSerializer

    @extend_schema(request=MergeRequestSerializer, responses={201: MergeSerializer})
    @action(detail=True, methods=["post"], permission_classes=[CanMerge])
    def merge(self, request, pk=None):
        candidate = self.get_object()
        body = MergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            merge = candidate_merge(candidate=candidate, survivor=body.validated_data["survivor"],
                                    user=request.user, choices=body.validated_data.get("choices"),
                                    absorbed=body.validated_data.get("absorbed"))
        except services.DuplicateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MergeSerializer(merge).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CandidateSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanMerge])
    def dismiss(self, request, pk=None):
        candidate = self.get_object()
        try:
            candidate = services.candidate_dismiss(candidate=candidate, user=request.user)
        except services.DuplicateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(CandidateSerializer(candidate).data)


class MergeViewSet(viewsets.ReadOnlyModelViewSet):
    """Merges with their field choices and effects on each system; ``undo`` within the window."""

    queryset = Merge.objects.prefetch_related("absorbed", "effects__system", "effects__outbound") \
        .select_related("merged_by")
    serializer_class = MergeSerializer
    filterset_fields = ("status", "entity_type", "survivor")

    @extend_schema(request=None, responses=MergeSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanMerge])
    def undo(self, request, pk=None):
        merge = self.get_object()
        try:
            merge = merge_undo(merge=merge, user=request.user)
        except services.DuplicateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MergeSerializer(merge).data)
