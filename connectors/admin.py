"""Admin for connected systems: credentials can be replaced, never read back."""
import json

from django import forms
from django.contrib import admin

from connectors.models import ConnectedSystem
from integration_hub.admin_site import AuditedModelAdmin


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
        fields = ("slug", "name", "role", "vendor", "base_url", "rollout_stage", "is_active")

    def clean_new_credentials(self):
        raw = self.cleaned_data["new_credentials"].strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Credentials must be a JSON object ({exc.msg}).") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Credentials must be a JSON object.")
        return value

    def save(self, commit=True):
        instance = super().save(commit=False)
        if self.cleaned_data.get("new_credentials") is not None:
            instance.credentials = self.cleaned_data["new_credentials"]
        if commit:
            instance.save()
        return instance


@admin.register(ConnectedSystem)
class ConnectedSystemAdmin(AuditedModelAdmin):
    form = ConnectedSystemForm
    list_display = ("name", "slug", "role", "vendor", "rollout_stage", "auth_status", "credentials_stored")
    list_filter = ("role", "vendor", "rollout_stage", "auth_status")
    search_fields = ("name", "slug")
    readonly_fields = ("auth_status", "auth_message", "auth_checked_at", "credentials_stored")
    history_list_display = ("rollout_stage", "auth_status")

    @admin.display(boolean=True, description="Credentials stored")
    def credentials_stored(self, obj) -> bool:
        return obj.has_credentials
