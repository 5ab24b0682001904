"""The sync's pages and its webhook intake; included at the site's root (its paths start with their section)."""
from django.urls import path

from integration_hub.sync import dead_letters_views, held_views, views, webhooks

app_name = "sync"

urlpatterns = [
    path("sync-runs/", views.SyncRunListView.as_view(), name="runs"),
    path("sync-runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="run-detail"),
    path("sync-runs/<int:pk>/progress/", views.SyncRunProgressView.as_view(), name="run-progress"),
    path("sync-runs/<int:pk>/replay/", views.ReplayView.as_view(), name="run-replay"),
    path("mappings/<int:pk>/sync-now/", views.SyncNowView.as_view(), name="sync-now"),
    path("data-quality/", held_views.HeldFieldListView.as_view(), name="held-fields"),
    path("data-quality/export.csv", held_views.HeldFieldExportView.as_view(), name="held-fields-csv"),
    path("data-quality/replay/", held_views.HeldReplayConfirmView.as_view(), name="held-replay"),
    path("data-quality/replay/start/", held_views.HeldReplayStartView.as_view(), name="held-replay-start"),
    path("sync/dead-letters/", dead_letters_views.DeadLetterListView.as_view(), name="dead-letters"),
    path("sync/dead-letters/<int:pk>/", dead_letters_views.DeadLetterDetailView.as_view(), name="dead-letter"),
    path("sync/dead-letters/<int:pk>/edit/", dead_letters_views.DeadLetterEditView.as_view(), name="dead-letter-edit"),
    path("sync/dead-letters/confirm/", dead_letters_views.DeadLetterConfirmView.as_view(),
         name="dead-letters-confirm"),
    path("sync/dead-letters/act/", dead_letters_views.DeadLetterActView.as_view(), name="dead-letters-act"),
    path("webhooks/<slug:slug>/", webhooks.webhook, name="webhook"),
]
