"""Periodic tasks kept in django-celery-beat (editable in the admin): each app's defaults are created once and
never overwritten, so what an admin changed stays."""
from __future__ import annotations

import json
from typing import Any

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def ensure_every(name: str, task: str, minutes: int, description: str, *, args: list[Any] | None = None) -> None:
    """A task run every `minutes`, created if no periodic task has this name yet."""
    if PeriodicTask.objects.filter(name=name).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name=name, task=task, interval=interval, description=description,
                                args=json.dumps(args or []))


def ensure_daily(name: str, task: str, hour: int, minute: int, description: str) -> None:
    """A task run once a day at hour:minute UTC, created if no periodic task has this name yet."""
    if PeriodicTask.objects.filter(name=name).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.create(name=name, task=task, crontab=crontab, description=description)
