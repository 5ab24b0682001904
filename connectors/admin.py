"""Admin for connected systems: credentials can be replaced, never read back."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path

from connectors import services
from connectors.models import ConnectedSystem, WebhookDelivery
from integration_hub.kernel import json_guard
from integration_hub.kernel.admin import AuditedModelAdmin


class ConnectedSystemForm(forms.ModelForm):
    base_url = forms.URLField(max_length=300, assume_scheme="https",
                              help_text="The vendor API's base URL (or a sandbox emulator's).")
    new_credentials = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        label="Credentials",
        help_text='JSON, e.g. {"access_token": "…"}. Leave blank to keep the stored credentials; '
                  "they are encrypted and never shown again.",
    )

    class Meta:
        model = ConnectedSystem
        fields = ("slug", "name", "role", "vendor", "base_url", "rollout_stage", "rate_limit", "is_active")

    def clean_new_credentials(self):
        raw = self.cleaned_data["new_credentials"].strip()
        if not raw:
            return None
        try:
            value = json_guard.loads(raw, what="text")
        except json_guard.JSONRefused as exc:
            raise forms.ValidationError(f"Credentials must be a JSON object. {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Credentials must be a JSON object.")
        return value

    def save(self, commit=True):
        # The admin saves through save_model, which calls the service (credentials follow the address).
        return super().save(commit=False)


@admin.register(ConnectedSystem)
class ConnectedSystemAdmin(AuditedModelAdmin):
    form = ConnectedSystemForm
    list_display = ("name", "slug", "role", "vendor", "rollout_stage", "auth_status", "credentials_stored")
    list_filter = ("role", "vendor", "rollout_stage", "auth_status")
    search_fields = ("name", "slug")
    readonly_fields = ("auth_status", "auth_message", "auth_checked_at", "credentials_stored")
    history_list_display = ("rollout_stage", "auth_status")
    actions = ["test_connection"]
    change_form_template = "admin/connectors/connectedsystem/change_form.html"

    def save_model(self, request, obj, form, change):
        if services.system_save(system=obj, credentials=form.cleaned_data.get("new_credentials")):
            self.message_user(request, f"{obj.name}: {services.CREDENTIALS_CLEARED}", messages.WARNING)

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request, queryset):
        for system in queryset:
            self._report_check(request, system)

    def _report_check(self, request, system: ConnectedSystem) -> None:
        result = services.system_check_connection(system=system)
        level = messages.SUCCESS if result.ok else messages.ERROR
        outcome = "connection OK" if result.ok else "connection FAILED"
        self.message_user(request, f"{system.name}: {outcome} — {result.message}", level)

    def get_urls(self):
        extra = [path("<int:pk>/test-connection/", self.admin_site.admin_view(self.test_connection_view),
                      name="connectors_connectedsystem_test_connection")]
        return extra + super().get_urls()

    def test_connection_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        system = get_object_or_404(ConnectedSystem, pk=pk)
        if not self.has_change_permission(request, system):
            raise PermissionDenied
        self._report_check(request, system)
        return redirect("admin:connectors_connectedsystem_change", pk)

    @admin.display(boolean=True, description="Credentials stored")
    def credentials_stored(self, obj) -> bool:
        return obj.has_credentials


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "system", "event_count", "status")
    list_filter = ("system", "status")
    readonly_fields = ("system", "received_at", "payload", "event_count", "status", "last_error")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
