"""Admin for conflicts: read-only rows, decisions through the same service as the queue (as a bulk job)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from integration_hub.kernel.admin import AuditedModelAdmin
from reconciliation.conflicts import services
from reconciliation.conflicts.models import BulkDecision, Choice, Conflict, ConflictComment, ConflictStatus


class ConflictCommentInline(admin.TabularInline):
    model = ConflictComment
    extra = 0
    fields = ("author_name", "text", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conflict)
class ConflictAdmin(AuditedModelAdmin):
    list_display = ("__str__", "field", "entity_type", "approver_role", "status", "decided_by", "created_at")
    list_filter = ("status", "approver_role", "entity_type")
    search_fields = ("field", "record__display_name")
    list_select_related = ("record", "decided_by")
    raw_id_fields = ("record", "account")
    inlines = [ConflictCommentInline]
    actions = ["take_crm", "take_erp", "reject"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Conflict._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # the sync opens conflicts

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # decided through the actions (the service), never edited

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Take the CRM value")
    def take_crm(self, request, queryset):
        return self._decide(request, queryset, Choice.CRM)

    @admin.action(description="Take the ERP value")
    def take_erp(self, request, queryset):
        return self._decide(request, queryset, Choice.ERP)

    @admin.action(description="Reject (keep both, diverged)")
    def reject(self, request, queryset):
        return self._decide(request, queryset, Choice.REJECT)

    def _decide(self, request, queryset, choice: str):
        """Confirm with a comment, then decide as a background job; the service checks each conflict's role."""
        ids = list(queryset.filter(status=ConflictStatus.OPEN).values_list("pk", flat=True))
        error = ""
        if request.POST.get("confirm") == "yes":
            try:
                job = services.bulk_decision_start(user=request.user, choice=choice, conflict_ids=ids,
                                                   comment=request.POST.get("comment", ""))
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                self.message_user(request, f"Deciding {job.total} conflicts in the background.", messages.SUCCESS)
                return redirect(job)
        return TemplateResponse(request, "admin/reconciliation/conflict/decide.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": Choice(choice).label,
            "action": request.POST.get("action"), "ids": ids, "error": error,
            "summary": services.bulk_summary(user=request.user, queryset=Conflict.objects.filter(pk__in=ids)),
            "selected": queryset.filter(pk__in=ids).select_related("record")[:50],
        })


@admin.register(BulkDecision)
class BulkDecisionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_by", "total", "decided", "stale", "refused", "failed", "created_at")
    list_filter = ("status", "choice")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in BulkDecision._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
