from rest_framework.routers import DefaultRouter

from integration_hub.api.views import ConnectedSystemViewSet, RecordViewSet, SyncRunViewSet
from mapping.api.views import FieldRuleViewSet, ObjectMappingViewSet
from reconciliation.api.views import ConflictViewSet
from reconciliation.duplicates.api.views import DuplicateViewSet, MergeViewSet

router = DefaultRouter()
router.register("systems", ConnectedSystemViewSet)
router.register("records", RecordViewSet)
router.register("mappings", ObjectMappingViewSet)
router.register("field-rules", FieldRuleViewSet, basename="fieldrule")
router.register("sync-runs", SyncRunViewSet)
router.register("duplicates", DuplicateViewSet, basename="duplicate")
router.register("duplicate-merges", MergeViewSet, basename="duplicate-merge")
router.register("conflicts", ConflictViewSet)
