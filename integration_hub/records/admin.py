"""Admin pages for golden records and links (history viewable, never editable)."""
from django.contrib import admin
from django.core.exceptions import ValidationError

from integration_hub.kernel.admin import AuditedModelAdmin
from integration_hub.records import extensions, services
from integration_hub.records.models import Record, RecordLink


class RecordLinkInline(admin.TabularInline):
    model = RecordLink
    extra = 0
    fields = ("system", "external_id", "status", "remote_updated_at", "last_synced_at")
    readonly_fields = ("remote_updated_at", "last_synced_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Record)
class RecordAdmin(AuditedModelAdmin):
    list_display = ("__str__", "entity_type", "updated_at")
    list_filter = ("entity_type",)
    search_fields = ("display_name",)
    readonly_fields = ("display_name", "provenance", "created_at", "updated_at")
    inlines = [RecordLinkInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # golden records are merged or archived, never deleted

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if request.user.has_perm("reconciliation.decide_finance_conflict"):
            return form
        before = dict(obj.values) if obj is not None else {}

        class WithoutFinanceFields(form):
            """Money and finance-approved fields change through their owning system and Finance's
            decisions, never by a RevOps edit of the golden record."""

            def clean(self):
                cleaned = super().clean()
                values, entity = cleaned.get("values"), cleaned.get("entity_type") or getattr(obj, "entity_type", "")
                if isinstance(values, dict) and entity:
                    changed = {f for f in set(values) | set(before) if values.get(f) != before.get(f)}
                    if governed := sorted(changed & extensions.finance_fields(entity)):
                        raise ValidationError({"values": f"{', '.join(governed)}: governed by Finance. Change "
                                                          f"it in the system that owns it; a Finance approver "
                                                          f"decides conflicts on it."})
                return cleaned

        return WithoutFinanceFields

    def save_model(self, request, obj, form, change):
        # Edits go through the service so provenance names the person who made them.
        if change:
            fresh = Record.objects.get(pk=obj.pk)
            services.record_update_values(record=fresh, changes=obj.values,
                                          reason=f"edited in admin by {request.user.get_username()}")
            obj.refresh_from_db()
        else:
            created = services.record_create(entity_type=obj.entity_type, values=obj.values,
                                             reason=f"created in admin by {request.user.get_username()}")
            obj.pk = created.pk
            obj.refresh_from_db()


@admin.register(RecordLink)
class RecordLinkAdmin(AuditedModelAdmin):
    list_display = ("record", "system", "entity_type", "external_id", "status", "last_synced_at")
    list_filter = ("system", "entity_type", "status")
    search_fields = ("external_id",)
    raw_id_fields = ("record",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
