"""Reconciliation reports: each side's records and money totals compared with the hub's, with the lines that differ.

These models keep the app label ("health") and tables they were created with, so an existing database upgrades in
place; their migrations are in reconciliation/health/migrations.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class ReportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ReportTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Button or API"
    COMMAND = "command", "Command line"


class ReconciliationReport(models.Model):
    """One comparison of a mapping's two systems: counts, one-sided records, field mismatches, money, score."""

    mapping = models.ForeignKey("mapping.ObjectMapping", on_delete=models.PROTECT, related_name="reports")
    rule_version = models.ForeignKey("mapping.RuleSetVersion", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    entity_type = models.CharField(max_length=20, db_index=True)
    trigger = models.CharField(max_length=10, choices=ReportTrigger.choices, default=ReportTrigger.MANUAL)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.RUNNING,
                              db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # {"crm": {"system": N|None, "counted_by": "...", "read": n, "linked": n}, "erp": {...}, "hub": {...}}
    counts = models.JSONField(default=dict, blank=True)
    only_crm = models.PositiveIntegerField(default=0, help_text="Records the CRM has with no ERP counterpart.")
    only_erp = models.PositiveIntegerField(default=0, help_text="Records the ERP has with no CRM counterpart.")
    compared = models.PositiveIntegerField(default=0, help_text="Linked records read on both sides and compared.")
    mismatched = models.PositiveIntegerField(default=0, help_text="Linked records whose synced fields differ.")
    in_flight = models.PositiveIntegerField(default=0, help_text="Linked records differing only by changes in flight.")
    consistency_score = models.FloatField(null=True, blank=True,
                                          help_text="Share of compared linked records whose synced fields agree.")
    field_mismatches = models.JSONField(default=dict, blank=True, help_text="Canonical field -> mismatched records.")
    compared_fields = models.JSONField(default=list, blank=True)
    skipped_fields = models.JSONField(default=list, blank=True, help_text="Fields not compared, with the reason.")
    money = models.JSONField(default=list, blank=True, help_text="Money totals per currency and measure, both sides.")
    money_mismatches = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "health"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["mapping", "-created_at"])]

    def __str__(self) -> str:
        return f"Reconciliation {self.pk} of {self.mapping} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("reports:report-detail", args=[self.pk])

    @property
    def score_percent(self) -> str:
        return "—" if self.consistency_score is None else f"{self.consistency_score * 100:.1f} %"


class ItemKind(models.TextChoices):
    ONLY_CRM = "only_crm", "Only in the CRM"
    ONLY_ERP = "only_erp", "Only in the ERP"
    FIELD = "field", "Field differs"
    MONEY = "money", "Money total differs"


KIND_COLOURS = {"only_crm": "amber", "only_erp": "amber", "field": "red", "money": "red"}


class ReportItem(models.Model):
    """One discrepancy a report found: a one-sided record, a field that differs, or a money total off."""

    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    record = models.ForeignKey("hub.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    crm_id = models.CharField(max_length=255, blank=True)
    erp_id = models.CharField(max_length=255, blank=True)
    field = models.CharField(max_length=80, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    crm_value = models.JSONField(null=True, blank=True)
    erp_value = models.JSONField(null=True, blank=True)
    hub_value = models.JSONField(null=True, blank=True)
    # Per side: the run and rule version that last wrote (or read) that side's value.
    lineage = models.JSONField(default=dict, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        app_label = "health"
        ordering = ["report", "kind", "field", "id"]
        indexes = [models.Index(fields=["report", "kind", "field"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.field} {self.crm_id or ''}/{self.erp_id or ''}".strip()
