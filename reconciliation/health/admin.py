"""Admin: alert rules are configured here (RevOps); alerts and reports are read here, changed by their pages."""
from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from reconciliation.health import alerts
from reconciliation.health.models import Alert, AlertRule, AlertStatus


@admin.register(AlertRule)
class AlertRuleAdmin(SimpleHistoryAdmin):
    list_display = ("name", "metric", "comparison", "threshold", "window_minutes", "is_enabled", "webhook_url")
    list_filter = ("metric", "is_enabled")


@admin.register(Alert)
class AlertAdmin(SimpleHistoryAdmin):
    list_display = ("rule", "subject_label", "status", "value", "opened_at", "acknowledged_by", "resolved_at")
    list_filter = ("status", "rule")
    readonly_fields = [f.name for f in Alert._meta.fields]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # alerts are kept: their history is the audit

    @admin.action(description="Acknowledge the selected open alerts", permissions=["change"])
    def acknowledge(self, request, queryset):
        done = 0
        for alert in queryset.filter(status=AlertStatus.OPEN):
            alerts.alert_acknowledge(alert=alert, user=request.user)
            done += 1
        self.message_user(request, f"{done} alert(s) acknowledged.", messages.SUCCESS)

