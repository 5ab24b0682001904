"""The Django admin, open to RevOps admins and superusers only."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from simple_history.admin import SimpleHistoryAdmin

from integration_hub.kernel import roles
from integration_hub.kernel.admin import ReadOnlyHistory

NO_ADMIN_ACCESS = "the admin is for RevOps admins, and {user} has no admin access"


def _no_admin_access(request) -> PermissionDenied:
    return PermissionDenied(NO_ADMIN_ACCESS.format(user=request.user.get_username()))


class HubAdminSite(admin.AdminSite):
    site_header = "Integration Hub administration"
    site_title = "Integration Hub"
    index_title = "Configuration"
    site_url = "/"

    def has_permission(self, request) -> bool:
        return request.user.is_active and roles.is_revops(request.user)

    @method_decorator(login_not_required)
    def login(self, request, extra_context=None):
        # One sign-in page for the whole hub (django-axes counts its failures); a signed-in user without the
        # role gets 403 here: sending them to sign in again would bring them straight back.
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise _no_admin_access(request)
            return redirect(next_url)
        return redirect_to_login(next_url)

    def register(self, model_or_iterable, admin_class=None, **options):
        # History is read-only in this admin whichever app registers a history admin.
        if admin_class is not None and issubclass(admin_class, SimpleHistoryAdmin) \
                and not issubclass(admin_class, ReadOnlyHistory):
            admin_class = type(admin_class.__name__, (ReadOnlyHistory, admin_class),
                               {"__module__": admin_class.__module__})
        return super().register(model_or_iterable, admin_class, **options)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise _no_admin_access(request)
            return inner(request, *args, **kwargs)

        guarded.__dict__.update(inner.__dict__)
        return guarded
