"""This app's periodic tasks, kept in django-celery-beat (editable in the admin), created once."""
from __future__ import annotations

from integration_hub.kernel.schedules import ensure_every

# name -> (task, every N minutes, description)
SCHEDULES = {
    # A nightly-ish full scan per entity finds duplicates that arrived in bulk or changed together.
    "duplicate scan: accounts": ("reconciliation.duplicates.tasks.scan_duplicates", 24 * 60, "account"),
    "duplicate scan: contacts": ("reconciliation.duplicates.tasks.scan_duplicates", 24 * 60, "contact"),
    "duplicate scan: items": ("reconciliation.duplicates.tasks.scan_duplicates", 24 * 60, "item"),
}


def ensure_schedules(sender=None, **kwargs) -> None:
    """Create the schedules if missing; never overwrite what an admin changed."""
    if sender is not None and getattr(sender, "label", "") != "duplicates":
        return
    for name, (task, minutes, entity) in SCHEDULES.items():
        ensure_every(name, task, minutes, name, args=[entity] if entity else [])
