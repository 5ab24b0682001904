"""URLs: each app's pages under its own namespace, sign-in, admin, the REST API and its schema."""
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from integration_hub import views
from integration_hub.api_urls import router


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


handler400 = "integration_hub.middleware.bad_request"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("records/", include("integration_hub.records.urls")),
    path("systems/", include("connectors.urls")),
    path("", include("integration_hub.sync.urls")),  # before mappings/: it serves mappings/<pk>/sync-now/
    path("mappings/", include("mapping.urls")),
    path("conflicts/", include("reconciliation.conflicts.urls")),
    path("duplicates/", include("reconciliation.duplicates.urls")),
    path("reconciliation/", include("reconciliation.reports.urls")),
    path("", include("reconciliation.health.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("reconciliation.health.api.urls")),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP to allow. Swagger
    # UI injects a <style> element as it starts: this page alone allows inline styles (never scripts).
    path("api/docs/", csp_update({"style-src": ["'unsafe-inline'"]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("healthz", healthz),
]
