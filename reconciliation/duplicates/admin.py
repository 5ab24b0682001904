"""Admin for duplicates: read-only. Candidates are decided, and merges undone, on the duplicate pages (through
the services that keep survivorship, the outbox and undo right); here RevOps can look rows up and read history."""
from __future__ import annotations

from django.contrib import admin

from integration_hub.kernel.admin import AuditedModelAdmin
from reconciliation.duplicates.models import DuplicateCandidate, Merge, MergeEffect, NotDuplicate


class ReadOnlyAdmin(AuditedModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # shown read-only (view permission)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "entity_type", "kind", "source", "score", "status", "decided_by", "created_at")
    list_filter = ("status", "entity_type", "kind", "source")
    search_fields = ("records__display_name", "incoming_external_id")
    list_select_related = ("decided_by",)
    exclude = ("records",)


class MergeEffectInline(admin.TabularInline):
    model = MergeEffect
    extra = 0
    fields = ("system", "kind", "undo", "record", "survivor_external_id", "absorbed_external_id", "status",
              "message", "sent_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Merge)
class MergeAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "entity_type", "survivor", "status", "merged_by", "created_at", "undo_until")
    list_filter = ("status", "entity_type")
    search_fields = ("survivor__display_name",)
    list_select_related = ("survivor", "merged_by")
    exclude = ("absorbed",)
    inlines = [MergeEffectInline]


@admin.register(NotDuplicate)
class NotDuplicateAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "decided_by", "created_at")
    list_select_related = ("low", "high", "decided_by")
