"""Admin for mappings and rule versions: drafts are edited here; published versions are read-only."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from integration_hub.kernel.admin import JSON_FORMFIELD_OVERRIDES, AuditedModelAdmin
from mapping import services
from mapping.models import DriftFinding, FieldRule, ObjectMapping, RuleSetVersion


class FieldRuleForm(forms.ModelForm):
    class Meta:
        model = FieldRule
        fields = ("field", "field_type", "reference_to", "crm_path", "erp_path", "system_of_record",
                  "conflict_policy", "non_owner_policy", "approver_role", "crm_transforms", "erp_transforms",
                  "validation", "sensitive", "position")


class FieldRuleInline(admin.TabularInline):
    model = FieldRule
    form = FieldRuleForm
    formfield_overrides = JSON_FORMFIELD_OVERRIDES
    extra = 0

    def _editable(self, obj) -> bool:
        return obj is None or obj.is_draft

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(AuditedModelAdmin):
    list_display = ("__str__", "mapping", "number", "status", "published_at", "finance_signoff_by")
    list_filter = ("status", "mapping__entity_type")
    inlines = [FieldRuleInline]
    fields = ("mapping", "number", "status", "note", "published_at", "published_by", "finance_signoff_by",
              "finance_signoff_at")
    readonly_fields = ("mapping", "number", "status", "published_at", "published_by", "finance_signoff_by",
                       "finance_signoff_at")
    actions = ["publish"]

    def has_add_permission(self, request) -> bool:
        return False  # drafts are opened from the mapping page, copied from the published rules

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Publish selected drafts", permissions=["change"])
    def publish(self, request, queryset):
        for version in queryset:
            try:
                services.version_publish(version=version, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{version}: not published — " + "; ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"{version} published.", messages.SUCCESS)


@admin.register(ObjectMapping)
class ObjectMappingAdmin(AuditedModelAdmin):
    list_display = ("__str__", "crm_system", "erp_system", "cadence", "is_enabled", "published_version")
    list_filter = ("entity_type", "is_enabled", "cadence")
    readonly_fields = ("published_version", "periodic_task")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.mapping_sync_schedule(mapping=obj)
        if obj.erp_create_defaults:  # checked against the published rules and the CRM's options (deal stages)
            for problem in services.mapping_create_default_problems(mapping=obj):
                self.message_user(request, problem, messages.WARNING)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # switch a mapping off instead: its versions and history stay


@admin.register(DriftFinding)
class DriftFindingAdmin(AuditedModelAdmin):
    list_display = ("mapping", "side", "kind", "vendor_field", "rule_field", "is_open", "last_seen")
    list_filter = ("is_open", "kind", "side")
    readonly_fields = [f.name for f in DriftFinding._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
