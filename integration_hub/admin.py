"""Admin pages for golden records and links (history viewable, never editable)."""
from django.contrib import admin

from integration_hub import services
from integration_hub.admin_site import AuditedModelAdmin
from integration_hub.models import Record, RecordLink


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
