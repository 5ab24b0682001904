from django.urls import path

from reconciliation.duplicates import views

app_name = "duplicates"

urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("scan/", views.ScanView.as_view(), name="scan"),
    path("<int:pk>/", views.CandidateView.as_view(), name="detail"),
    path("merges/<int:pk>/", views.MergeView.as_view(), name="merge"),
    path("merges/<int:pk>/undo/", views.UndoView.as_view(), name="undo"),
    path("readiness/<int:pk>/", views.ReadinessView.as_view(), name="readiness"),
]
