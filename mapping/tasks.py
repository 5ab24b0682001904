"""Celery entry points for field governance."""
from __future__ import annotations

from celery import shared_task

from integration_hub.kernel.task_policy import RETRY_POLICY
from mapping import drift
from mapping.models import ObjectMapping


@shared_task(**RETRY_POLICY)
def check_schema_drift(mapping_id: int | None = None) -> int:
    """Compare published mappings with each system's describe(); returns the number of open findings."""
    mappings = ObjectMapping.objects.filter(is_enabled=True, published_version__isnull=False)
    if mapping_id is not None:
        mappings = mappings.filter(pk=mapping_id)
    return sum(len(drift.drift_check(mapping=m)) for m in mappings.select_related("crm_system", "erp_system"))
