"""Reconciliation reports (what the two systems say, compared), health metric samples, alert rules and alerts."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from integration_hub.kernel.audit import audited_history


class MetricSample(models.Model):
    """The health figures at one moment (every few minutes), kept for the dashboard's charts and alert windows."""

    taken_at = models.DateTimeField(db_index=True)
    # {"overall": {...}, "systems": {slug: {...}}, "mappings": {id: {...}}}
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"Health sample {self.taken_at:%Y-%m-%d %H:%M}"


class Metric(models.TextChoices):
    """What an alert rule watches (see metrics.py for how each is computed)."""

    ERROR_RATE = "error_rate", "Error rate (share of records failing)"
    OUTBOX_DEPTH = "outbox_depth", "Outbox depth (writes waiting)"
    LATENCY_P99_RATIO = "latency_p99_ratio", "p99 latency vs its weekly normal (×)"
    AUTH_FAILURES = "auth_failures", "Systems failing authentication"
    STALENESS_RATIO = "staleness_ratio", "Data age vs the mapping's cadence (×)"
    DRIFT_FINDINGS = "drift_findings", "Open schema drift findings"
    API_USAGE = "api_usage", "API calls vs the vendor limit (share)"
    CONSISTENCY = "consistency", "Reconciliation consistency score (share)"
    OPEN_CONFLICTS = "open_conflicts", "Open conflicts"
    DEAD_LETTERS = "dead_letters", "Writes dead-lettered in the window"


class Comparison(models.TextChoices):
    ABOVE = "gt", "above"
    BELOW = "lt", "below"


class AlertRule(models.Model):
    """A metric, a threshold and a window: crossing it opens an alert, recovering resolves it."""

    name = models.CharField(max_length=100, unique=True)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    comparison = models.CharField(max_length=2, choices=Comparison.choices, default=Comparison.ABOVE)
    threshold = models.FloatField()
    window_minutes = models.PositiveIntegerField(default=60, help_text="How far back the metric looks.")
    is_enabled = models.BooleanField(default=True)
    notify_email = models.CharField(max_length=500, blank=True,
                                    help_text="Comma-separated addresses; blank = the RevOps admins' emails.")
    webhook_url = models.URLField(max_length=500, blank=True, help_text="Optional: POSTed a JSON body per change.")
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        return value > self.threshold if self.comparison == Comparison.ABOVE else value < self.threshold


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


ALERT_COLOURS = {"open": "red", "acknowledged": "amber", "resolved": "green"}


class Alert(models.Model):
    """A rule breached for one subject (a system, a mapping, or everything): open → acknowledged → resolved."""

    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="alerts")
    subject = models.CharField(max_length=100, help_text='"system:crm", "mapping:3" or "hub".')
    subject_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True)
    value = models.FloatField(null=True, blank=True, help_text="The metric when last evaluated.")
    message = models.CharField(max_length=500)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified = models.JSONField(default=list, blank=True, help_text="Where the alert was sent, and how that went.")

    history = audited_history()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "subject"], condition=~models.Q(status="resolved"),
                                               name="one_unresolved_alert_per_rule_and_subject")]

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject_label or self.subject} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("health:alerts") + f"?status={self.status}"
