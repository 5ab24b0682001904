"""Work queues fed by the sync: conflicts waiting for a person (approval by role)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from integration_hub.audit import audited_history


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    REJECTED = "rejected", "Rejected (kept diverged)"


class Conflict(models.Model):
    """A field both systems changed (or a queued non-owner edit): held until a person decides."""

    record = models.ForeignKey("hub.Record", on_delete=models.PROTECT, related_name="conflicts")
    mapping = models.ForeignKey("mapping.ObjectMapping", on_delete=models.PROTECT, related_name="conflicts")
    rule_version = models.ForeignKey("mapping.RuleSetVersion", null=True, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=80)
    base_value = models.JSONField(null=True, blank=True)
    crm_value = models.JSONField(null=True, blank=True)
    erp_value = models.JSONField(null=True, blank=True)
    crm_updated_at = models.DateTimeField(null=True, blank=True)
    erp_updated_at = models.DateTimeField(null=True, blank=True)
    policy = models.CharField(max_length=20)
    approver_role = models.CharField(max_length=10, db_index=True)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN,
                              db_index=True)
    chosen_value = models.JSONField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    opened_by_run = models.ForeignKey("hub.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="conflicts")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["record", "field"], condition=models.Q(status="open"),
                                               name="one_open_conflict_per_field")]

    def __str__(self) -> str:
        return f"{self.record} · {self.field} ({self.get_status_display()})"
