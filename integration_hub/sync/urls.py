"""The sync's pages and its webhook intake; included at the site's root (its paths start with their section)."""
from django.urls import path

from integration_hub.sync import views, webhooks

app_name = "sync"

urlpatterns = [
    path("sync-runs/", views.SyncRunListView.as_view(), name="runs"),
    path("sync-runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="run-detail"),
    path("sync-runs/<int:pk>/progress/", views.SyncRunProgressView.as_view(), name="run-progress"),
    path("sync-runs/<int:pk>/replay/", views.ReplayView.as_view(), name="run-replay"),
    path("mappings/<int:pk>/sync-now/", views.SyncNowView.as_view(), name="sync-now"),
    path("webhooks/<slug:slug>/", webhooks.webhook, name="webhook"),
]
