"""Conflict API serializers: values of sensitive fields are masked for Viewers, as on the pages."""
from rest_framework import serializers

from reconciliation.conflicts import selectors
from reconciliation.conflicts.models import Choice, Conflict, ConflictComment


class ConflictCommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConflictComment
        fields = ("id", "author_name", "text", "created_at")


class ConflictSerializer(serializers.ModelSerializer):
    record_name = serializers.CharField(source="record.__str__", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    over_sla = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Conflict
        fields = ("id", "url", "record", "record_name", "entity_type", "mapping", "field", "base_value", "crm_value",
                  "erp_value", "crm_updated_at", "erp_updated_at", "policy", "approver_role", "reason", "status",
                  "decision", "chosen_value", "decided_by", "decided_at", "comment", "account", "account_owner",
                  "amount_at_stake", "stake_currency", "opened_by_run", "decision_run", "created_at", "over_sla")
        read_only_fields = fields

    def get_over_sla(self, obj) -> bool:
        return obj.is_open and obj.created_at < self.context.setdefault("sla_cutoff", selectors.sla_cutoff())

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            hidden = selectors.hidden_for(request.user, instance.entity_type or instance.record.entity_type,
                                          self.context.setdefault("hidden_fields", {}))
            for key in ("base_value", "crm_value", "erp_value", "chosen_value"):
                data[key] = selectors.shown(data[key], instance.field, hidden)
        return data


class ConflictDetailSerializer(ConflictSerializer):
    comments = ConflictCommentSerializer(many=True, read_only=True)

    class Meta(ConflictSerializer.Meta):
        fields = (*ConflictSerializer.Meta.fields, "comments")
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Choice.choices)
    value = serializers.JSONField(required=False, allow_null=True,
                                  help_text='With "value": the value to set (money as "12.50 USD" or '
                                            '{"amount": "12.50", "currency": "USD"}).')
    comment = serializers.CharField(required=False, allow_blank=True, default="",
                                    help_text="Required for finance fields.")


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField()
