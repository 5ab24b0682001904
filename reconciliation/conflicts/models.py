"""Work queues fed by the sync: conflicts waiting for a person (approval by role)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from integration_hub.kernel.audit import audited_history


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    REJECTED = "rejected", "Rejected (kept diverged)"
    SUPERSEDED = "superseded", "Closed: its record was merged away"


class Choice(models.TextChoices):
    """What a person decided."""

    CRM = "crm", "Take CRM"
    ERP = "erp", "Take ERP"
    VALUE = "value", "Enter a value"
    REJECT = "reject", "Reject (keep both, diverged)"


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
    decision = models.CharField(max_length=10, choices=Choice.choices, blank=True)
    chosen_value = models.JSONField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    opened_by_run = models.ForeignKey("hub.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="conflicts")
    # The targeted run that carried the decision through the outbox (what was pushed).
    decision_run = models.ForeignKey("hub.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Copied when the conflict opens (see reconciliation/conflicts/derive.py), so the queue filters and sorts
    # 100,000 rows on indexed columns instead of joins into JSON.
    entity_type = models.CharField(max_length=20, blank=True)
    account = models.ForeignKey("hub.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="The account the record belongs to (itself, for an account).")
    account_owner = models.CharField(max_length=100, blank=True)
    amount_at_stake = models.DecimalField(max_digits=20, decimal_places=4, default=0,
                                          help_text="Money fields: how far apart the two values are (else 0).")
    stake_currency = models.CharField(max_length=3, blank=True)

    history = audited_history(excluded_fields=["entity_type", "account", "account_owner", "amount_at_stake",
                                               "stake_currency"])

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["record", "field"], condition=models.Q(status="open"),
                                               name="one_open_conflict_per_field")]
        indexes = [  # the queue's order, and each filter of the open queue in that order
            models.Index(fields=["status", "created_at", "id"], name="conflict_queue"),
            models.Index(fields=["status", "approver_role", "created_at"], name="conflict_queue_role"),
            models.Index(fields=["status", "field", "created_at"], name="conflict_queue_field"),
            models.Index(fields=["status", "entity_type", "created_at"], name="conflict_queue_entity"),
            models.Index(fields=["status", "account_owner", "created_at"], name="conflict_queue_owner"),
            models.Index(fields=["status", "amount_at_stake", "created_at", "id"], name="conflict_queue_stake"),
        ]
        permissions = [
            ("decide_conflict", "Can decide conflicts approved by RevOps"),
            ("decide_finance_conflict", "Can decide conflicts approved by Finance"),
            ("comment_conflict", "Can comment on conflicts"),
        ]

    def __str__(self) -> str:
        return f"{self.record} · {self.field} ({self.get_status_display()})"


    def get_absolute_url(self) -> str:
        return reverse("conflicts:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == ConflictStatus.OPEN


class ConflictComment(models.Model):
    """A note on a conflict: anyone who may act on conflicts can add one, decided or not."""

    conflict = models.ForeignKey(Conflict, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author_name} on conflict {self.conflict_id}"


class BulkStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BulkDecision(models.Model):
    """One choice applied to many conflicts by a background job, with its progress and outcome."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=10, choices=Choice.choices)
    comment = models.TextField(blank=True)
    # Either the ticked conflicts, or the queue's filter (re-applied to conflicts open at `cutoff`).
    conflict_ids = models.JSONField(default=list, blank=True)
    filter_params = models.JSONField(default=dict, blank=True)
    cutoff = models.DateTimeField()
    status = models.CharField(max_length=10, choices=BulkStatus.choices, default=BulkStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    decided = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    messages = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bulk decision {self.pk}: {self.get_choice_display()} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("conflicts:bulk-detail", args=[self.pk])

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.finished_at else 0)
