"""The Django admin, open to RevOps admins and superusers only."""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from integration_hub import roles


class HubAdminSite(admin.AdminSite):
    site_header = "Integration Hub administration"
    site_title = "Integration Hub"
    index_title = "Configuration"
    site_url = "/"

    def has_permission(self, request) -> bool:
        return request.user.is_active and roles.is_revops(request.user)

    def login(self, request, extra_context=None):
        # One sign-in page for the whole hub; a signed-in user without the role gets 403.
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise PermissionDenied("The admin is for RevOps admins.")
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.GET.get("next", request.get_full_path()))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("The admin is for RevOps admins.")
            return inner(request, *args, **kwargs)

        guarded.__dict__.update(inner.__dict__)
        return guarded


class AuditedModelAdmin(SimpleHistoryAdmin):
    """Admin for governed models: the history list is shown; no old version can be reopened and saved."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history's version form would save an old version over the live one, bypassing
        # the services that record provenance. History is for reading: the list view shows it.
        raise PermissionDenied("History is read-only; see the record page's timeline.")
