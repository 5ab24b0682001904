"""The hub's own periodic tasks, kept in django-celery-beat (editable in the admin), defined here once."""
from __future__ import annotations

from django.conf import settings

from integration_hub.kernel.schedules import ensure_daily, ensure_every

# name -> (task, every N minutes, description)
DEFAULT_SCHEDULES = {
    # Catches renamed/removed vendor fields within the hour (the renamed stock field).
    "schema drift check": ("mapping.tasks.check_schema_drift", 60, "Compare published mappings with each API"),
    # Retries writes that failed transiently; a run also triggers it when it finishes.
    "outbox dispatch": ("integration_hub.sync.tasks.dispatch_outbox", 1, "Send queued writes, retry failed ones"),
    # A sync whose worker died or lost its database is resumed within minutes (SYNC_STALE_RUN_SECONDS), not
    # left "running" until the broker's visibility timeout hands its task out again.
    "stale sync runs": ("integration_hub.sync.tasks.resume_stale_runs", 1, "Resume syncs whose worker was lost"),
}

# name -> (task, setting holding the (hour, minute) in UTC, description): once a day.
DAILY_SCHEDULES = {
    # Finance approvers start the day with what waits for them (and what is over the SLA).
    "finance conflict digest": ("reconciliation.conflicts.tasks.send_finance_digest", "CONFLICT_DIGEST_AT",
                                "Mail Finance approvers the open finance conflicts"),
}


def ensure_default_schedules(**kwargs) -> None:
    """Create the default schedules if missing; never overwrite what an admin changed."""
    for name, (task, minutes, description) in DEFAULT_SCHEDULES.items():
        ensure_every(name, task, minutes, description)
    for name, (task, setting, description) in DAILY_SCHEDULES.items():
        hour, minute = getattr(settings, setting)
        ensure_daily(name, task, hour, minute, description)
