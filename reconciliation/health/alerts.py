"""Alert rules: evaluate them on the health figures, open, update and resolve alerts, tell people.

An alert is one rule breached for one subject (a system, a mapping, or the hub). It stays open (or
acknowledged) while the metric stays past the threshold and resolves itself when it recovers. Opening and
resolving are emailed through Django's email backend and posted to the rule's webhook, if it has one; every
change of an alert is kept in its history with the actor (the health check, or the person who acknowledged).
"""
from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from integration_hub.kernel import audit, roles
from reconciliation.health.metrics import metric_values, snapshot, weekly_p99_normal
from reconciliation.health.models import Alert, AlertRule, AlertStatus, Metric

logger = logging.getLogger(__name__)
ACTOR = "health-check"

# name -> (metric, comparison, threshold, window minutes, description); created once, never overwritten.
DEFAULT_RULES: dict[str, tuple[str, str, float, int, str]] = {
    "Sync errors above 1 % of records": (Metric.ERROR_RATE, "gt", 0.01, 60,
                                         "More than 1 % of a mapping's records failed in the last hour."),
    "Outbox deeper than 1,000 writes": (Metric.OUTBOX_DEPTH, "gt", 1000, 60,
                                        "More than 1,000 writes wait for one system."),
    "p99 latency above 5× its weekly normal": (Metric.LATENCY_P99_RATIO, "gt", 5, 60,
                                              "Changes take five times longer than usual to reach the other side."),
    "Authentication failing": (Metric.AUTH_FAILURES, "gt", 0, 5,
                               "A system refuses the hub's credentials (a token expired or was revoked)."),
    "Data older than twice its cadence": (Metric.STALENESS_RATIO, "gt", 2, 60,
                                          "A mapping has not synced successfully for twice its cadence."),
    "Schema drift found": (Metric.DRIFT_FINDINGS, "gt", 0, 60,
                           "A mapped vendor field was renamed, removed or changed type."),
    "API usage above 70 % of the vendor limit": (Metric.API_USAGE, "gt", 0.7, 60,
                                                 "The busiest minute used more than 70 % of a vendor's rate limit."),
    "Writes dead-lettered": (Metric.DEAD_LETTERS, "gt", 0, 60,
                             "A system refused writes (or they failed too many times) in the last hour: they wait "
                             "on the dead-letter page (/sync/dead-letters/) to be retried, corrected or discarded."),
}


def ensure_default_rules() -> None:
    """The default rules, if missing; an admin's changes are never overwritten."""
    with audit.acting_as("setup", reason="default alert rules"):
        for name, (metric, comparison, threshold, window, description) in DEFAULT_RULES.items():
            AlertRule.objects.get_or_create(name=name, defaults={
                "metric": metric, "comparison": comparison, "threshold": threshold, "window_minutes": window,
                "description": description})


def _describe(rule: AlertRule, label: str, value: float | None) -> str:
    shown = "—" if value is None else (f"{value * 100:.1f} %" if rule.metric in (
        Metric.ERROR_RATE, Metric.API_USAGE, Metric.CONSISTENCY) else f"{value:g}")
    limit = f"{rule.threshold * 100:g} %" if rule.metric in (Metric.ERROR_RATE, Metric.API_USAGE,
                                                              Metric.CONSISTENCY) else f"{rule.threshold:g}"
    return f"{label}: {rule.get_metric_display()} is {shown} ({rule.get_comparison_display()} {limit})"


def alerts_evaluate(*, data: dict | None = None, now=None) -> dict[str, list[Alert]]:
    """Check every enabled rule against the health figures; open, refresh and resolve alerts accordingly."""
    now = now or timezone.now()
    snapshots: dict[int, dict] = {}
    if data is not None:
        snapshots[data.get("window_minutes", 60)] = data
    weekly = None
    opened, resolved = [], []
    with audit.acting_as(ACTOR, reason="scheduled health check"):
        for rule in AlertRule.objects.filter(is_enabled=True):
            figures = snapshots.get(rule.window_minutes)
            if figures is None:
                figures = snapshots[rule.window_minutes] = snapshot(now=now, window_minutes=rule.window_minutes)
            if rule.metric == Metric.LATENCY_P99_RATIO and weekly is None:
                weekly = weekly_p99_normal(now=now)
            values = metric_values(figures, rule.metric, weekly_p99=weekly)
            unresolved = {a.subject: a for a in rule.alerts.exclude(status=AlertStatus.RESOLVED)}
            for subject, (label, value) in values.items():
                alert = unresolved.pop(subject, None)
                if rule.breached(value):
                    message = _describe(rule, label, value)[:500]
                    if alert is None:
                        alert = Alert(rule=rule, subject=subject, subject_label=label[:200], value=value,
                                      message=message)
                        alert._change_reason = "threshold crossed"
                        alert.save()
                        opened.append(alert)
                    else:
                        Alert.objects.filter(pk=alert.pk).update(value=value, message=message, last_seen_at=now)
                elif alert is not None:
                    _resolve(alert, value, now)
                    resolved.append(alert)
            for alert in unresolved.values():  # the subject is gone (a system removed, a mapping unpublished)
                _resolve(alert, None, now)
                resolved.append(alert)
    for alert in opened:
        transaction.on_commit(lambda a=alert: notify(a, "opened"))
    for alert in resolved:
        transaction.on_commit(lambda a=alert: notify(a, "resolved"))
    return {"opened": opened, "resolved": resolved}


def _resolve(alert: Alert, value: float | None, now) -> None:
    alert.status, alert.resolved_at, alert.value = AlertStatus.RESOLVED, now, value
    alert._change_reason = "metric recovered" if value is not None else "nothing left to measure"
    alert.save()


def alert_acknowledge(*, alert: Alert, user, note: str = "") -> Alert:
    """A person has seen the alert and is on it: it stays until the metric recovers."""
    if not user.has_perm("health.change_alert"):
        raise PermissionError("Only RevOps admins acknowledge alerts.")
    if alert.status != AlertStatus.OPEN:
        raise ValueError(f"This alert is {alert.get_status_display().lower()}: only an open alert is acknowledged.")
    with audit.acting_as(user.get_username(), user=user, reason=note or "acknowledged"):
        alert.status, alert.acknowledged_by, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED, user, timezone.now()
        alert._change_reason = note or "acknowledged"
        alert.save()
    return alert


def _recipients(rule: AlertRule) -> list[str]:
    if rule.notify_email.strip():
        return [a.strip() for a in rule.notify_email.split(",") if a.strip()]
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return sorted({u.email for u in users if u.is_superuser or roles.is_revops(u)})


def notify(alert: Alert, event: str) -> list[dict[str, Any]]:
    """Email the rule's recipients and post to its webhook; what happened is kept on the alert."""
    rule = alert.rule
    outcomes = []
    subject = f"[Integration Hub] {'Resolved' if event == 'resolved' else 'Alert'}: {rule.name} — {alert.subject_label}"
    body = (f"{alert.message}\n\nRule: {rule.name} ({rule.description})\nStatus: {alert.get_status_display()}\n"
            f"Opened: {alert.opened_at:%Y-%m-%d %H:%M} UTC\n")
    recipients = _recipients(rule)
    if recipients:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            outcomes.append({"event": event, "channel": "email", "to": recipients, "ok": True})
        except Exception as exc:
            outcomes.append({"event": event, "channel": "email", "to": recipients, "ok": False, "error": str(exc)})
    if rule.webhook_url:
        payload = {"event": event, "rule": rule.name, "metric": rule.metric, "threshold": rule.threshold,
                   "subject": alert.subject, "subject_label": alert.subject_label, "value": alert.value,
                   "status": alert.status, "message": alert.message, "opened_at": alert.opened_at.isoformat(),
                   "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None}
        try:
            response = requests.post(rule.webhook_url, json=payload, timeout=5)
            outcomes.append({"event": event, "channel": "webhook", "ok": response.status_code < 300,
                             "status": response.status_code})
        except requests.RequestException as exc:
            outcomes.append({"event": event, "channel": "webhook", "ok": False, "error": str(exc)[:200]})
    if outcomes:
        Alert.objects.filter(pk=alert.pk).update(notified=list(alert.notified or []) + outcomes)
        alert.notified = list(alert.notified or []) + outcomes
    return outcomes
