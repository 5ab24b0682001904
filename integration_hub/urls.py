"""URLs: pages, sign-in, admin, the REST API and its schema."""
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from integration_hub import views
from integration_hub.api.urls import router
from integration_hub.sync import views as sync_views
from reconciliation.duplicates import views as duplicate_views
from reconciliation.health import views as health_views


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


hub_patterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("records/", views.RecordListView.as_view(), name="records"),
    path("records/<int:pk>/", views.RecordDetailView.as_view(), name="record-detail"),
    path("systems/", views.SystemListView.as_view(), name="systems"),
    path("systems/<slug:slug>/", views.SystemDetailView.as_view(), name="system-detail"),
    path("sync-runs/", sync_views.SyncRunListView.as_view(), name="sync-runs"),
    path("sync-runs/<int:pk>/", sync_views.SyncRunDetailView.as_view(), name="sync-run-detail"),
    path("sync-runs/<int:pk>/progress/", sync_views.SyncRunProgressView.as_view(), name="sync-run-progress"),
    path("sync-runs/<int:pk>/replay/", sync_views.ReplayView.as_view(), name="sync-run-replay"),
    path("mappings/<int:pk>/sync-now/", sync_views.SyncNowView.as_view(), name="sync-now"),
    path("conflicts/", include("reconciliation.urls")),
    path("duplicates/", duplicate_views.QueueView.as_view(), name="duplicates"),
    path("reconciliation/", health_views.ReportListView.as_view(), name="reconciliation"),
    path("health/", health_views.DashboardView.as_view(), name="health"),
]

handler400 = "integration_hub.middleware.bad_request"

urlpatterns = [
    path("", include((hub_patterns, "hub"))),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("webhooks/", include("connectors.urls")),
    path("mappings/", include("mapping.urls")),
    path("duplicates/", include("reconciliation.duplicates.urls")),
    path("api/v1/", include("reconciliation.health.api.urls")),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP to allow. Swagger
    # UI injects a <style> element as it starts: this page alone allows inline styles (never scripts).
    path("api/docs/", csp_update({"style-src": ["'unsafe-inline'"]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("healthz", healthz),
    path("", include("reconciliation.health.urls")),
]
