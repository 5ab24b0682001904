"""Conflict API: the queue (filterable like the page), one conflict, resolve and comment."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from integration_hub.kernel.permissions import HasPermission
from reconciliation.conflicts import selectors, services
from reconciliation.conflicts.api.serializers import (
    CommentSerializer,
    ConflictCommentSerializer,
    ConflictDetailSerializer,
    ConflictSerializer,
    ResolveSerializer,
)
from reconciliation.conflicts.filters import ConflictFilterSet


class CanViewConflicts(HasPermission):
    """Deciding needs the right to read conflicts; the service then checks the role the conflict's rule names."""

    required_perm = "reconciliation.view_conflict"


class CanComment(HasPermission):
    """RevOps admins and Finance approvers comment on any conflict (checked before the body is read)."""

    message = "Only RevOps admins and Finance approvers may comment on conflicts."
    required_perm = "reconciliation.comment_conflict"


def _field_errors(exc: DjangoValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}


class ConflictViewSet(viewsets.ReadOnlyModelViewSet):
    """Conflicts (open and decided; filter ``status=open`` for the queue). POST ``resolve`` decides one:
    403 for the wrong role, 409 when a system changed since (the conflict is refreshed), 400 for bad input."""

    queryset = selectors.conflicts_for_list()
    filterset_class = ConflictFilterSet
    ordering_fields = ("created_at", "amount_at_stake", "field", "approver_role", "id")
    ordering = ("created_at", "id")

    def get_serializer_class(self):
        return ConflictDetailSerializer if self.action == "retrieve" else ConflictSerializer

    def get_permissions(self):
        if self.action == "resolve":
            return [CanViewConflicts()]
        if self.action == "comment":
            return [CanComment()]
        return super().get_permissions()

    @extend_schema(request=ResolveSerializer, responses={
        200: ConflictDetailSerializer, 400: OpenApiResponse(description="Invalid choice, value or missing comment"),
        403: OpenApiResponse(description="Your role may not decide this conflict"),
        409: OpenApiResponse(description="Changed since — review again (the conflict is refreshed), "
                                         "already decided, or a system could not be read")})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        conflict = self.get_object()
        services.require_decider(request.user, conflict)
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            decided = services.conflict_decide(conflict=conflict, user=request.user, **body.validated_data)
        except services.ConflictClosed as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise ValidationError(_field_errors(exc)) from None
        except services.ConflictStale as exc:
            exc.conflict.refresh_from_db()
            return Response({"detail": str(exc), "conflict": ConflictDetailSerializer(
                exc.conflict, context=self.get_serializer_context()).data}, status=status.HTTP_409_CONFLICT)
        except services.ConflictUnreadable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ConflictDetailSerializer(decided, context=self.get_serializer_context()).data)

    @extend_schema(request=CommentSerializer, responses={201: ConflictCommentSerializer})
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        conflict = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            created = services.conflict_comment(conflict=conflict, user=request.user, text=body.validated_data["text"])
        except DjangoValidationError as exc:
            raise ValidationError(_field_errors(exc)) from None
        return Response(ConflictCommentSerializer(created).data, status=status.HTTP_201_CREATED)
