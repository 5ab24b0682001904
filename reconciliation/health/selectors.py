"""Read queries for the health pages and API."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from reconciliation.health.models import Alert, AlertStatus, MetricSample


def alerts_unresolved_count() -> int:
    return Alert.objects.exclude(status=AlertStatus.RESOLVED).count()


def alerts_for_list() -> QuerySet[Alert]:
    return Alert.objects.select_related("rule", "acknowledged_by")


def latest_snapshot(*, max_age_minutes: int = 10) -> dict | None:
    sample = MetricSample.objects.order_by("-taken_at").first()
    if sample and sample.taken_at >= timezone.now() - timedelta(minutes=max_age_minutes):
        return sample.data
    return None


def chart_series(*, hours: int = 24) -> dict:
    """The dashboard's charts: one point per stored sample over the last `hours`."""
    since = timezone.now() - timedelta(hours=hours)
    rows = MetricSample.objects.filter(taken_at__gte=since).order_by("taken_at").values_list("taken_at", "data")
    labels, error_rate, p50, p99, outbox, celery, freshness = [], [], [], [], [], [], {}
    per_mapping_error: dict[str, list] = {}
    for taken_at, data in rows.iterator(chunk_size=500):
        hub = data.get("hub", {})
        labels.append(taken_at.isoformat())
        error_rate.append(round((hub.get("error_rate") or 0) * 100, 3))
        p50.append(hub.get("latency_p50"))
        p99.append(hub.get("latency_p99"))
        outbox.append(hub.get("outbox_depth"))
        celery.append(hub.get("celery_queue_depth"))
        for m in (data.get("mappings") or {}).values():
            if not m.get("published"):
                continue
            age = m.get("age_seconds")
            freshness.setdefault(m["name"], []).append(round(age / 60, 1) if age is not None else None)
            per_mapping_error.setdefault(m["name"], []).append(round((m.get("error_rate") or 0) * 100, 3))
    n = len(labels)
    freshness = {k: ([None] * (n - len(v))) + v for k, v in freshness.items()}
    return {"labels": labels, "error_rate": error_rate, "latency_p50": p50, "latency_p99": p99,
            "outbox_depth": outbox, "celery_queue_depth": celery, "freshness_minutes": freshness}
