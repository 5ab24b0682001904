"""Admin: reports are read here (they make the trend: never added or deleted here)."""
from django.contrib import admin

from reconciliation.reports.models import ReconciliationReport


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(admin.ModelAdmin):
    list_display = ("id", "mapping", "status", "consistency_score", "mismatched", "only_crm", "only_erp",
                    "created_at")
    list_filter = ("status", "entity_type")
    readonly_fields = [f.name for f in ReconciliationReport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # reports are kept: they make the consistency trend
