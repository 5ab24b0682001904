"""Dead letters in the API: listed, filtered and masked as the page lists them; retry (one, several, a cause), edit
and retry, discard with a reason, through the same services (RevOps admins)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from integration_hub.kernel.permissions import HasPermission
from integration_hub.sync import dead_letters, tasks
from integration_hub.sync.dead_letters_causes import cause_of, causes
from integration_hub.sync.dead_letters_forms import REASON_CHARS
from integration_hub.sync.dead_letters_tables import DeadLetterFilterSet, dead_and_discarded, shown_write
from integration_hub.sync.models import OutboundChange


class CanAct(HasPermission):
    message = dead_letters.NOT_REVOPS
    required_perm = "hub.change_outboundchange"


class DeadLetterSerializer(serializers.ModelSerializer):
    record_name = serializers.CharField(source="record", read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)
    values = serializers.SerializerMethodField(help_text="Canonical values the write carries (masked for Viewers "
                                                         "where the field is sensitive).")
    payload = serializers.SerializerMethodField(help_text="The vendor fields sent (null for a Viewer when the "
                                                          "write carries a sensitive value).")
    error = serializers.SerializerMethodField(help_text="The system's error, as it wrote it.")
    cause = serializers.SerializerMethodField(help_text="The error with ids and values taken out: writes refused "
                                                        "for the same reason share it.")

    class Meta:
        model = OutboundChange
        fields = ("id", "status", "record", "record_name", "system", "system_name", "vendor_object", "operation",
                  "values", "payload", "error", "cause", "attempts", "next_attempt_at", "created_at", "run")
        read_only_fields = fields

    def _shown(self, write: OutboundChange) -> dict:
        return shown_write(write, self.context["request"].user, self.context.setdefault("hidden_fields", {}))

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_values(self, write) -> dict:
        return self._shown(write)["values"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, write) -> dict | None:
        return self._shown(write)["payload"]

    def get_error(self, write) -> str:
        return self._shown(write)["error"]

    def get_cause(self, write) -> str:
        return cause_of(write.last_error)


class CauseSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Pass as `cause` to filter or to act on the whole group.")
    system = serializers.CharField(source="system.slug")
    vendor_object = serializers.CharField()
    cause = serializers.CharField(source="text")
    count = serializers.IntegerField()
    example = serializers.CharField(help_text="One of its errors as the system wrote it.")


class SelectionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                help_text="Dead letters to act on; or leave out and name a `cause`.")
    cause = serializers.CharField(required=False, help_text="Every dead letter of this cause (see /causes/).")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_CHARS,
                                   help_text="Kept in each record's history; required to discard.")

    def validate(self, attrs):
        if not attrs.get("ids") and not attrs.get("cause"):
            raise serializers.ValidationError("Name the dead letters (`ids`) or a `cause`.")
        return attrs


class RetryOneSerializer(serializers.Serializer):
    values = serializers.DictField(required=False, help_text="Canonical values to correct before the write is "
                                                             "sent again (references as the system's own ids).")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_CHARS)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_CHARS, help_text="Kept in the record's history.")


class OutcomeSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="Writes retried (or discarded).")
    kept = serializers.DictField(child=serializers.CharField(), help_text="Writes left as they were, with why.")
    left_out = serializers.DictField(child=serializers.CharField(), help_text="Fields a retried write no longer "
                                                                              "carries, with why.")


def _outcome(outcome: dead_letters.Outcome) -> dict[str, Any]:
    return {"done": [row.pk for row in outcome.done], "kept": {str(k): v for k, v in outcome.kept.items()},
            "left_out": {str(k): v for k, v in outcome.left_out.items()}}


class DeadLetterViewSet(viewsets.ReadOnlyModelViewSet):
    """Dead letters (`status=discarded` for the discarded ones), filtered by system, mapping, object, cause, run
    or record. `causes/` groups them; `retry/` and `discard/` act on several (ids or a cause), `{id}/retry/` on
    one (with corrected `values`), `{id}/discard/` too."""

    queryset = dead_and_discarded().select_related("record", "system")
    serializer_class = DeadLetterSerializer
    filterset_class = DeadLetterFilterSet
    ordering_fields = ("id", "next_attempt_at", "attempts")
    ordering = ("-id",)

    def get_queryset(self):
        if self.detail:  # one write is found by its id whatever became of it (retried, sent, discarded)
            return OutboundChange.objects.select_related("record", "system")
        return super().get_queryset()

    def filter_queryset(self, queryset):
        return queryset if self.detail else super().filter_queryset(queryset)

    @extend_schema(responses=CauseSerializer(many=True))
    @action(detail=False)
    def causes(self, request):
        return Response(CauseSerializer(causes(self.filter_queryset(self.get_queryset())), many=True).data)

    def _selected(self, body: dict):
        rows = dead_letters.dead_letters()
        if body.get("cause"):
            by_cause = DeadLetterFilterSet({"cause": body["cause"]}, queryset=rows)
            if not by_cause.is_valid():  # an unknown cause selects nothing, never everything
                raise serializers.ValidationError({"cause": ["No dead letter has this cause (see causes/)."]})
            rows = by_cause.qs
        return rows.filter(pk__in=body["ids"]) if body.get("ids") else rows

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(request=SelectionSerializer, responses=OutcomeSerializer, operation_id="dead_letters_retry_many")
    @action(detail=False, methods=["post"], permission_classes=[CanAct], url_path="retry")
    def retry_many(self, request):
        body = self._body(SelectionSerializer)
        outcome = dead_letters.retry(rows=self._selected(body), user=request.user, reason=body.get("reason", ""))
        transaction.on_commit(tasks.dispatch_outbox.delay)
        return Response(_outcome(outcome))

    @extend_schema(request=SelectionSerializer, responses=OutcomeSerializer,
                   operation_id="dead_letters_discard_many")
    @action(detail=False, methods=["post"], permission_classes=[CanAct], url_path="discard")
    def discard_many(self, request):
        body = self._body(SelectionSerializer)
        return self._discard(self._selected(body), body.get("reason", ""))

    @extend_schema(request=RetryOneSerializer, responses=OutcomeSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanAct])
    def retry(self, request, pk=None):
        write = self.get_object()
        body = self._body(RetryOneSerializer)
        if body.get("values"):
            try:
                dead_letters.edit_and_retry(row=write, values=body["values"], user=request.user,
                                            reason=body.get("reason", ""))
            except ValidationError as exc:
                return Response(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages},
                                status=status.HTTP_400_BAD_REQUEST)
            outcome = dead_letters.Outcome(done=[write])
        else:
            outcome = dead_letters.retry(rows=OutboundChange.objects.filter(pk=write.pk), user=request.user,
                                         reason=body.get("reason", ""))
        transaction.on_commit(tasks.dispatch_outbox.delay)
        return Response(_outcome(outcome))

    @extend_schema(request=ReasonSerializer, responses=OutcomeSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanAct], url_path="discard")
    def discard_one(self, request, pk=None):
        write = self.get_object()
        return self._discard(OutboundChange.objects.filter(pk=write.pk), self._body(ReasonSerializer)["reason"])

    def _discard(self, rows, reason: str):
        try:
            outcome = dead_letters.discard(rows=rows, user=self.request.user, reason=reason)
        except ValidationError as exc:
            return Response({"reason": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(_outcome(outcome))
