"""The kernel's one table: locks held in the database when there is no Redis (integration_hub.kernel.locks)."""
from __future__ import annotations

from django.db import models


class Lock(models.Model):
    """An expiring lock: held by `token` until `expires_at`, or until its holder releases it."""

    name = models.CharField(max_length=200, primary_key=True)
    token = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
