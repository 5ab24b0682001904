from rest_framework.routers import DefaultRouter

from connectors.api.views import ConnectedSystemViewSet
from integration_hub.records.api.views import RecordViewSet
from integration_hub.sync.api.dead_letters import DeadLetterViewSet
from integration_hub.sync.api.held_fields import HeldFieldViewSet
from integration_hub.sync.api.views import SyncRunViewSet
from mapping.api.views import FieldRuleViewSet, ObjectMappingViewSet
from reconciliation.conflicts.api.views import ConflictViewSet
from reconciliation.duplicates.api.views import DuplicateViewSet, MergeViewSet
from reconciliation.reports.api.views import ReconciliationReportViewSet

router = DefaultRouter()
router.register("systems", ConnectedSystemViewSet)
router.register("records", RecordViewSet)
router.register("mappings", ObjectMappingViewSet)
router.register("field-rules", FieldRuleViewSet, basename="fieldrule")
router.register("sync-runs", SyncRunViewSet)
router.register("held-fields", HeldFieldViewSet)
router.register("dead-letters", DeadLetterViewSet, basename="dead-letter")
router.register("duplicates", DuplicateViewSet, basename="duplicate")
router.register("duplicate-merges", MergeViewSet, basename="duplicate-merge")
router.register("conflicts", ConflictViewSet)
router.register("reconciliation-reports", ReconciliationReportViewSet)
