"""Health figures per system and mapping, computed from what the hub already stores (runs, events, outbox,
links, findings) plus the API-call counts and the Celery queue. One `snapshot()` feeds the dashboard, the
stored samples behind its charts, the API, Prometheus and the alert rules, so they cannot disagree.
"""
from __future__ import annotations

import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.apps import apps
from django.db.models import Count, Max, Min
from django.utils import timezone

from connectors.base import RateLimit
from connectors.models import AuthStatus, ConnectedSystem
from connectors.registry import connector_class
from connectors.usage import calls_per_minute
from integration_hub.records.models import RecordLink
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent, SyncRun, SyncStatus
from mapping.models import Cadence, DriftFinding, ObjectMapping
from reconciliation.conflicts.models import Conflict, ConflictStatus
from reconciliation.health.models import MetricSample
from reconciliation.reports.models import ReconciliationReport, ReportStatus

WINDOW_MINUTES = 60
ERROR_CLASSES = ("validation", "auth", "rate_limit", "timeout", "server")
WAITING = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.FAILED)
LATENCY_SAMPLE = 20_000  # most recent writes looked at for the percentiles
REALTIME_CADENCE_MINUTES = 15  # webhooks, with a safety poll: data older than this is late
_CLASSIFY = [
    ("auth", re.compile(r"HTTP 40[13]\b|\bauth|credential|token", re.I)),
    ("rate_limit", re.compile(r"HTTP 429\b|rate.?limit|CONCURRENCY_LIMIT", re.I)),
    ("timeout", re.compile(r"HTTP 408\b|time[d ]?out", re.I)),
    ("server", re.compile(r"HTTP 5\d\d\b|server error|bad gateway|unavailable|not JSON", re.I)),
]


def error_class(message: str) -> str:
    """validation | auth | rate_limit | timeout | server, from a failure's message (the vendor's own words)."""
    for name, pattern in _CLASSIFY:
        if pattern.search(message or ""):
            return name
    return "validation"


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return round(ordered[index], 3)


def cadence_seconds(mapping: ObjectMapping) -> int:
    if mapping.cadence == Cadence.DAILY:
        return 24 * 3600
    if mapping.cadence == Cadence.REALTIME:
        return REALTIME_CADENCE_MINUTES * 60
    return max(1, mapping.interval_minutes) * 60


def limit_per_minute(system: ConnectedSystem) -> float | None:
    """The client-side rate limit (the vendor's, unless set on the system) as calls per minute."""
    if system.rate_limit == "off":
        return None
    try:
        limit = RateLimit.parse(system.rate_limit) if system.rate_limit else connector_class(
            system.vendor).default_rate_limit
    except Exception:
        return None
    return limit.requests * 60 / limit.per_seconds if limit else None


def celery_queue_depth(queue: str | None = None) -> int | None:
    """Messages waiting in a Celery queue, the default one unless named (None when the broker cannot say)."""
    queue = queue or current_app.conf.task_default_queue or "celery"
    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            channel = connection.default_channel
            client = getattr(channel, "client", None)
            if client is not None and hasattr(client, "llen"):  # Redis: the queue is a list (absent = empty)
                return int(client.llen(queue))
            _, count, _ = channel.queue_declare(queue=queue, passive=True)
            return int(count)
    except Exception:
        return None


def open_duplicates() -> int | None:
    """Open duplicate candidates, once the duplicates app exists (None before)."""
    for label, name in (("duplicates", "DuplicateCandidate"), ("reconciliation", "DuplicateCandidate")):
        try:
            model = apps.get_model(label, name)
        except LookupError:
            continue
        fields = {f.name for f in model._meta.get_fields()}
        return model.objects.filter(status="open").count() if "status" in fields else model.objects.count()
    return None


def snapshot(*, now: datetime | None = None, window_minutes: int = WINDOW_MINUTES) -> dict[str, Any]:
    """Every health figure, now: per system, per mapping and for the hub as a whole."""
    now = now or timezone.now()
    since = now - timedelta(minutes=window_minutes)
    systems = {s.pk: s for s in ConnectedSystem.objects.all()}
    mappings = {m.pk: m for m in ObjectMapping.objects.select_related("crm_system", "erp_system")}

    # Runs and records in the window, per mapping.
    per_mapping: dict[int, dict[str, Any]] = {}
    for m in mappings.values():
        per_mapping[m.pk] = {"name": str(m), "entity": m.entity_type, "enabled": m.is_enabled,
                             "published": m.published_version_id is not None, "runs": 0, "succeeded": 0,
                             "failed_runs": 0, "records_read": 0, "records_failed": 0,
                             "errors_by_class": dict.fromkeys(ERROR_CLASSES, 0)}
    for run in SyncRun.objects.filter(finished_at__gte=since, finished_at__lte=now).exclude(
            status=SyncStatus.COALESCED).only("mapping_id", "status", "counts", "error"):
        row = per_mapping.get(run.mapping_id)
        if row is None:
            continue
        row["runs"] += 1
        row["succeeded"] += run.status == SyncStatus.SUCCEEDED
        row["records_read"] += int((run.counts or {}).get("read", 0))
        row["records_failed"] += int((run.counts or {}).get("failed", 0))
        if run.status == SyncStatus.FAILED:
            row["failed_runs"] += 1
            row["errors_by_class"][error_class(run.error)] += 1
    per_system_errors: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ERROR_CLASSES, 0))
    failures = SyncEvent.objects.filter(created_at__gte=since, created_at__lte=now,
                                        kind__in=["failed", "write_failed"]).values_list(
        "run__mapping_id", "side", "message")
    for mapping_id, side, message in failures.iterator(chunk_size=2000):
        kind = error_class(message)
        if mapping_id in per_mapping:
            per_mapping[mapping_id]["errors_by_class"][kind] += 1
            m = mappings[mapping_id]
            system_id = m.crm_system_id if side == "crm" else m.erp_system_id if side == "erp" else None
            if system_id:
                per_system_errors[system_id][kind] += 1

    # Latency: the source's modification time (as the hub read it) to the write at the target.
    latencies_by_mapping: dict[int, list[float]] = defaultdict(list)
    latencies_by_system: dict[int, list[float]] = defaultdict(list)
    sent = list(OutboundChange.objects.filter(status=OutboundStatus.SENT, sent_at__gte=since, sent_at__lte=now)
                .order_by("-sent_at").values_list("record_id", "system_id", "sent_at", "created_at",
                                                  "run__mapping_id")[:LATENCY_SAMPLE])
    source_times: dict[tuple[int, int], datetime] = {}
    record_ids = {r for r, *_ in sent}
    if record_ids:
        for record_id, system_id, updated in RecordLink.objects.filter(
                record_id__in=list(record_ids)[:LATENCY_SAMPLE]).values_list("record_id", "system_id",
                                                                              "remote_updated_at"):
            if updated is not None:
                source_times[(record_id, system_id)] = updated
    for record_id, system_id, sent_at, created_at, mapping_id in sent:
        m = mappings.get(mapping_id)
        other = None
        if m is not None:
            other = m.erp_system_id if system_id == m.crm_system_id else m.crm_system_id
        changed_at = source_times.get((record_id, other)) if other else None
        start = changed_at if changed_at is not None and changed_at <= sent_at else created_at
        seconds = max(0.0, (sent_at - start).total_seconds())
        latencies_by_system[system_id].append(seconds)
        if mapping_id:
            latencies_by_mapping[mapping_id].append(seconds)

    # Outbox, per target system.
    outbox = {row["system_id"]: row for row in OutboundChange.objects.filter(status__in=WAITING).values(
        "system_id").annotate(depth=Count("id"), oldest=Min("created_at"))}
    dead = dict(OutboundChange.objects.filter(status=OutboundStatus.DEAD).values("system_id").annotate(
        n=Count("id")).values_list("system_id", "n"))
    # Given up on in the window: a dead write's last attempt is when it was claimed (next_attempt_at), never moved
    # after; one a person retried or discarded is no longer dead.
    dead_new = dict(OutboundChange.objects.filter(status=OutboundStatus.DEAD, next_attempt_at__gte=since,
                                                  next_attempt_at__lte=now).values("system_id").annotate(
        n=Count("id")).values_list("system_id", "n"))

    # Freshness, drift and conflicts, per mapping.
    last_success = dict(SyncRun.objects.filter(status__in=[SyncStatus.SUCCEEDED, SyncStatus.COMPLETED_WITH_ERRORS],
                                               finished_at__lte=now).values("mapping_id").annotate(
        last=Max("finished_at")).values_list("mapping_id", "last"))
    drift = dict(DriftFinding.objects.filter(is_open=True).values("mapping_id").annotate(n=Count("id"))
                 .values_list("mapping_id", "n"))
    conflicts = dict(Conflict.objects.filter(status=ConflictStatus.OPEN).values("mapping_id").annotate(
        n=Count("id")).values_list("mapping_id", "n"))
    latest_reports = {report.mapping_id: report for report in _latest_reports()}

    for pk, row in per_mapping.items():
        m = mappings[pk]
        read, failed = row["records_read"], row["records_failed"]
        row["success_rate"] = round(row["succeeded"] / row["runs"], 4) if row["runs"] else None
        row["error_rate"] = round(failed / read, 4) if read else (1.0 if row["failed_runs"] else 0.0)
        lat = latencies_by_mapping.get(pk, [])
        row["latency_p50"], row["latency_p99"] = percentile(lat, 0.5), percentile(lat, 0.99)
        last = last_success.get(pk)
        row["last_success_at"] = last.isoformat() if last else None
        row["cadence_seconds"] = cadence_seconds(m)
        age = (now - last).total_seconds() if last else None
        row["age_seconds"] = round(age) if age is not None else None
        watched = m.is_enabled and m.published_version_id is not None
        row["staleness_ratio"] = (round(age / row["cadence_seconds"], 3) if age is not None else None) \
            if watched else None
        if watched and last is None:
            published_at = m.published_version.published_at if m.published_version else None
            if published_at:
                row["staleness_ratio"] = round((now - published_at).total_seconds() / row["cadence_seconds"], 3)
        row["drift_findings"] = drift.get(pk, 0)
        row["open_conflicts"] = conflicts.get(pk, 0)
        report = latest_reports.get(pk)
        row["consistency"] = report.consistency_score if report else None
        row["crm_system"], row["erp_system"] = m.crm_system.slug, m.erp_system.slug

    per_system: dict[str, dict[str, Any]] = {}
    for pk, s in systems.items():
        box = outbox.get(pk, {})
        oldest = box.get("oldest")
        lat = latencies_by_system.get(pk, [])
        minutes = calls_per_minute(pk, window_minutes, now=now.timestamp())
        per_minute_limit = limit_per_minute(s)
        peak = max(minutes) if minutes else 0
        side_mappings = [row for row in per_mapping.values() if s.slug in (row["crm_system"], row["erp_system"])]
        errors = per_system_errors.get(pk, dict.fromkeys(ERROR_CLASSES, 0))
        read = sum(r["records_read"] for r in side_mappings)
        row = {
            "name": s.name, "role": s.role, "vendor": s.vendor, "active": s.is_active,
            "rollout_stage": s.rollout_stage, "auth_status": s.auth_status, "auth_message": s.auth_message,
            "auth_checked_at": s.auth_checked_at.isoformat() if s.auth_checked_at else None,
            "id": pk, "outbox_depth": box.get("depth", 0), "dead_letters": dead.get(pk, 0),
            "dead_letters_new": dead_new.get(pk, 0),
            "outbox_oldest_seconds": round((now - oldest).total_seconds()) if oldest else None,
            "errors_by_class": errors, "records_failed": sum(errors.values()),
            "error_rate": round(sum(errors.values()) / read, 4) if read else 0.0,
            "latency_p50": percentile(lat, 0.5), "latency_p99": percentile(lat, 0.99),
            "api_calls_last_hour": sum(minutes), "api_calls_peak_minute": peak,
            "api_limit_per_minute": per_minute_limit,
            "api_usage": round(peak / per_minute_limit, 4) if per_minute_limit else None,
            "drift_findings": sum(r["drift_findings"] for r in side_mappings),
        }
        row["status"], row["reasons"] = _system_status(row, side_mappings)
        per_system[s.slug] = row

    all_lat = [v for values in latencies_by_mapping.values() for v in values]
    total_read = sum(r["records_read"] for r in per_mapping.values())
    total_failed = sum(r["records_failed"] for r in per_mapping.values())
    oldest_all = [r["outbox_oldest_seconds"] for r in per_system.values() if r["outbox_oldest_seconds"] is not None]
    hub = {
        "records_read": total_read, "records_failed": total_failed,
        "error_rate": round(total_failed / total_read, 4) if total_read else 0.0,
        "latency_p50": percentile(all_lat, 0.5), "latency_p99": percentile(all_lat, 0.99),
        "outbox_depth": sum(r["outbox_depth"] for r in per_system.values()),
        "outbox_oldest_seconds": max(oldest_all) if oldest_all else None,
        "dead_letters": sum(r["dead_letters"] for r in per_system.values()),
        "dead_letters_new": sum(r["dead_letters_new"] for r in per_system.values()),
        "celery_queue_depth": celery_queue_depth(),
        "open_conflicts": Conflict.objects.filter(status=ConflictStatus.OPEN).count(),
        "open_duplicates": open_duplicates(),
        "drift_findings": sum(drift.values()),
        "auth_failures": sum(1 for s in systems.values() if s.is_active and s.auth_status == AuthStatus.FAILED),
    }
    statuses = [r["status"] for r in per_system.values()]
    overall = "red" if "red" in statuses else "amber" if "amber" in statuses else "green"
    return {"taken_at": now.isoformat(), "window_minutes": window_minutes, "status": overall, "hub": hub,
            "systems": per_system, "mappings": {str(k): v for k, v in per_mapping.items()}}


def _latest_reports():
    """Each mapping's latest successful reconciliation report."""
    seen = set()
    for report in ReconciliationReport.objects.filter(status=ReportStatus.SUCCEEDED).only(
            "mapping_id", "consistency_score", "created_at").order_by("-created_at")[:500]:
        if report.mapping_id not in seen:
            seen.add(report.mapping_id)
            yield report


def _system_status(row: dict, mappings: list[dict]) -> tuple[str, list[str]]:
    """Green, amber or red, with the reasons a person would want first."""
    red, amber = [], []
    if not row["active"]:
        return "grey", ["switched off"]
    if row["auth_status"] == AuthStatus.FAILED:
        red.append(f"authentication failing: {row['auth_message'] or 'rejected'}")
    if row["dead_letters"]:
        amber.append(f"{row['dead_letters']} write(s) dead-lettered")
    if row["outbox_depth"] > 1000:
        red.append(f"{row['outbox_depth']} writes waiting")
    elif row["outbox_oldest_seconds"] and row["outbox_oldest_seconds"] > 15 * 60:
        amber.append(f"oldest waiting write is {row['outbox_oldest_seconds'] // 60} min old")
    if row["error_rate"] and row["error_rate"] > 0.01:
        amber.append(f"{row['error_rate'] * 100:.1f} % of records failed in the last hour")
    if row["api_usage"] is not None and row["api_usage"] > 0.7:
        amber.append(f"API usage at {row['api_usage'] * 100:.0f} % of the limit")
    if row["drift_findings"]:
        amber.append(f"{row['drift_findings']} schema drift finding(s)")
    stale = [m["name"] for m in mappings if m["staleness_ratio"] is not None and m["staleness_ratio"] > 2]
    if stale:
        amber.append("stale: " + ", ".join(stale[:3]))
    if red:
        return "red", red + amber
    if amber:
        return "amber", amber
    return "green", ["syncing normally"]


def metric_values(snapshot_data: dict, metric: str, *, weekly_p99: dict[str, float] | None = None
                  ) -> dict[str, tuple[str, float | None]]:
    """subject -> (label, value) for an alert metric, read from a snapshot."""
    systems, mappings, hub = snapshot_data["systems"], snapshot_data["mappings"], snapshot_data["hub"]
    out: dict[str, tuple[str, float | None]] = {}
    if metric == "error_rate":
        for pk, m in mappings.items():
            if m["records_read"] or m["failed_runs"]:
                out[f"mapping:{pk}"] = (m["name"], m["error_rate"])
    elif metric == "outbox_depth":
        for slug, s in systems.items():
            out[f"system:{slug}"] = (s["name"], float(s["outbox_depth"]))
    elif metric == "latency_p99_ratio":
        for pk, m in mappings.items():
            normal = (weekly_p99 or {}).get(f"mapping:{pk}")
            if m["latency_p99"] is not None and normal:
                out[f"mapping:{pk}"] = (m["name"], round(m["latency_p99"] / normal, 3))
    elif metric == "auth_failures":
        for slug, s in systems.items():
            if s["active"]:
                out[f"system:{slug}"] = (s["name"], 1.0 if s["auth_status"] == AuthStatus.FAILED else 0.0)
    elif metric == "staleness_ratio":
        for pk, m in mappings.items():
            if m["staleness_ratio"] is not None:
                out[f"mapping:{pk}"] = (m["name"], m["staleness_ratio"])
    elif metric == "drift_findings":
        for pk, m in mappings.items():
            out[f"mapping:{pk}"] = (m["name"], float(m["drift_findings"]))
    elif metric == "api_usage":
        for slug, s in systems.items():
            if s["api_usage"] is not None:
                out[f"system:{slug}"] = (s["name"], s["api_usage"])
    elif metric == "consistency":
        for pk, m in mappings.items():
            if m["consistency"] is not None:
                out[f"mapping:{pk}"] = (m["name"], m["consistency"])
    elif metric == "open_conflicts":
        out["hub"] = ("Integration Hub", float(hub["open_conflicts"]))
    elif metric == "dead_letters":
        for slug, s in systems.items():
            if s["active"]:
                out[f"system:{slug}"] = (s["name"], float(s["dead_letters_new"]))
    return out


def weekly_p99_normal(*, now: datetime | None = None) -> dict[str, float]:
    """Each mapping's normal p99 latency: the median of the p99s sampled over the last seven days."""
    now = now or timezone.now()
    values: dict[str, list[float]] = defaultdict(list)
    for data in MetricSample.objects.filter(taken_at__gte=now - timedelta(days=7), taken_at__lt=now).values_list(
            "data", flat=True).iterator(chunk_size=500):
        for pk, m in (data.get("mappings") or {}).items():
            if m.get("latency_p99") is not None:
                values[f"mapping:{pk}"].append(m["latency_p99"])
    return {k: statistics.median(v) for k, v in values.items() if len(v) >= 3 and statistics.median(v) > 0}


def sample_record(*, data: dict | None = None, now: datetime | None = None):
    """Keep a snapshot for the charts (and the weekly latency normal)."""
    data = data or snapshot(now=now)
    return MetricSample.objects.create(taken_at=now or timezone.now(), data=data)
