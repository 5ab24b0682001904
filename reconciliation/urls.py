"""Conflict queue pages, included under /conflicts/ in the hub's namespace (hub:conflicts, ...)."""
from django.urls import path

from reconciliation import views

urlpatterns = [
    path("", views.ConflictQueueView.as_view(), name="conflicts"),
    path("<int:pk>/", views.ConflictDetailView.as_view(), name="conflict-detail"),
    path("<int:pk>/comment/", views.ConflictCommentView.as_view(), name="conflict-comment"),
    path("bulk/", views.BulkConfirmView.as_view(), name="conflict-bulk"),
    path("bulk/start/", views.BulkStartView.as_view(), name="conflict-bulk-start"),
    path("bulk/<int:pk>/", views.BulkDecisionView.as_view(), name="conflict-bulk-detail"),
    path("bulk/<int:pk>/progress/", views.BulkProgressView.as_view(), name="conflict-bulk-progress"),
]
