from rest_framework.routers import DefaultRouter

from integration_hub.api.views import ConnectedSystemViewSet, RecordViewSet

router = DefaultRouter()
router.register("systems", ConnectedSystemViewSet)
router.register("records", RecordViewSet)
