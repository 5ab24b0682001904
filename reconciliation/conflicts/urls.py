from django.urls import path

from reconciliation.conflicts import views

app_name = "conflicts"

urlpatterns = [
    path("", views.ConflictQueueView.as_view(), name="queue"),
    path("<int:pk>/", views.ConflictDetailView.as_view(), name="detail"),
    path("<int:pk>/comment/", views.ConflictCommentView.as_view(), name="comment"),
    path("bulk/", views.BulkConfirmView.as_view(), name="bulk"),
    path("bulk/start/", views.BulkStartView.as_view(), name="bulk-start"),
    path("bulk/<int:pk>/", views.BulkDecisionView.as_view(), name="bulk-detail"),
    path("bulk/<int:pk>/progress/", views.BulkProgressView.as_view(), name="bulk-progress"),
]
