"""Duplicates API serializers: candidates with evidence, merge requests, merges with their effects."""
from rest_framework import serializers

from integration_hub.records import selectors as hub_selectors
from integration_hub.records.api.serializers import RecordLinkSerializer
from integration_hub.records.models import Record
from reconciliation.duplicates import pushes, survivorship
from reconciliation.duplicates.models import DuplicateCandidate, DuplicatePair, Merge, MergeEffect
from reconciliation.duplicates.selectors import _default_survivor


class MemberSerializer(serializers.ModelSerializer):
    links = RecordLinkSerializer(many=True, read_only=True)

    class Meta:
        model = Record
        fields = ("id", "display_name", "values", "links")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            data["values"] = hub_selectors.masked_values(
                data["values"], hub_selectors.hidden_fields_for(request.user, instance.entity_type))
        return data


class PairSerializer(serializers.ModelSerializer):
    evidence = serializers.JSONField(help_text="Per feature: label, left, right, compared values, similarity, "
                                               "weight, contribution (points).")

    class Meta:
        model = DuplicatePair
        fields = ("left", "right", "score", "evidence")


class CandidateSerializer(serializers.ModelSerializer):
    records = serializers.SerializerMethodField()
    incoming_system = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = DuplicateCandidate
        fields = ("id", "entity_type", "status", "kind", "source", "score", "records", "incoming_system",
                  "incoming_external_id", "note", "created_at", "updated_at", "decided_at")

    def get_records(self, obj) -> list[dict]:
        return [{"id": r.pk, "display_name": str(r)} for r in obj.records.all()]


class CandidateDetailSerializer(CandidateSerializer):
    records = serializers.SerializerMethodField()
    pairs = PairSerializer(many=True, read_only=True)
    defaults = serializers.SerializerMethodField(help_text="The default survivorship choice per field for the "
                                                           "suggested survivor.")
    incoming_values = serializers.JSONField(read_only=True)

    class Meta(CandidateSerializer.Meta):
        fields = CandidateSerializer.Meta.fields + ("pairs", "defaults", "incoming_values")

    def get_records(self, obj) -> list[dict]:
        return MemberSerializer(obj.records.prefetch_related("links__system"), many=True,
                                context=self.context).data

    def get_defaults(self, obj) -> dict:
        records = list(obj.records.all())
        if not records:
            return {}
        survivor = _default_survivor(records, {})
        choices = survivorship.candidate_defaults(obj, records, survivor)
        return {"survivor": survivor.pk,
                "fields": {name: {"record": c.record_id, "value": c.value, "reason": c.reason}
                           for name, c in choices.items()}}


class MergeRequestSerializer(serializers.Serializer):
    survivor = serializers.IntegerField(help_text="The record that stays (for a record held by the sync: the "
                                                  "record it is merged into).")
    choices = serializers.DictField(required=False, default=dict,
                                    help_text='Per field: a record id to take its value, "incoming" for the value '
                                              'of the record the sync held, or {"value": ...}.')
    absorbed = serializers.ListField(child=serializers.IntegerField(), required=False,
                                     help_text="Records to merge in (default: all the others).")


class EffectSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = MergeEffect
        fields = ("system", "kind", "undo", "vendor_object", "survivor_external_id", "absorbed_external_id",
                  "status", "message", "last_error")

    def get_status(self, obj) -> str:
        return pushes.effect_status(obj)


class MergeSerializer(serializers.ModelSerializer):
    absorbed = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    effects = EffectSerializer(many=True, read_only=True)
    merged_by = serializers.StringRelatedField()

    class Meta:
        model = Merge
        fields = ("id", "candidate", "entity_type", "survivor", "absorbed", "choices", "status", "merged_by",
                  "created_at", "undo_until", "undone_at", "undo_report", "effects")
