"""The health app's periodic tasks (django-celery-beat, editable in the admin) and default alert rules."""
from __future__ import annotations

from integration_hub.kernel.schedules import ensure_every
from reconciliation.health.alerts import ensure_default_rules

# name -> (task, every N minutes, description)
HEALTH_SCHEDULES = {
    # Samples the health figures for the charts and checks the alert rules: an expired token, a stuck outbox
    # or a stale mapping alerts within five minutes.
    "health check": ("reconciliation.health.tasks.health_check", 5, "Sample health figures, evaluate alert rules"),
    # Compares both systems of every enabled, published mapping once a day (reports are kept for the trend).
    "daily reconciliation": ("reconciliation.reports.tasks.reconcile_all", 24 * 60,
                             "Reconcile every enabled mapping's two systems"),
}


def ensure_health_schedules(**kwargs) -> None:
    """Create the schedules and default alert rules if missing; never overwrite what an admin changed."""
    for name, (task, minutes, description) in HEALTH_SCHEDULES.items():
        ensure_every(name, task, minutes, description)
    ensure_default_rules()
