"""Celery entry points: thin, load by id, call a service."""
from __future__ import annotations

from celery import shared_task

from integration_hub.kernel.task_policy import RETRY_POLICY
from reconciliation.health import services


@shared_task(**RETRY_POLICY)
def health_check() -> dict:
    """Every five minutes: auth checks, a health sample, the alert rules."""
    return services.health_check()
