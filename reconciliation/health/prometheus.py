"""The health figures in Prometheus' text format (prometheus-client), from the same snapshot as the dashboard.

Protected: a scrape sends `Authorization: Bearer <METRICS_TOKEN>` (set METRICS_TOKEN in the environment), or a
signed-in user with the role to read health; anything else gets 401/403. No credentials or messages are
exported: only numbers, labelled with system slugs, mapping ids and entity types.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from reconciliation.health import metrics, selectors

STATUS_VALUE = {"green": 0, "amber": 1, "red": 2, "grey": 0}


class _HealthCollector:
    def __init__(self, data: dict) -> None:
        self.data = data

    def collect(self):
        data = self.data
        hub = data["hub"]
        overall = GaugeMetricFamily("integration_hub_status", "Overall health: 0 green, 1 amber, 2 red")
        overall.add_metric([], STATUS_VALUE.get(data["status"], 0))
        yield overall
        for name, key, doc in (
                ("outbox_depth", "outbox_depth", "Writes waiting in the outbox"),
                ("dead_letters", "dead_letters", "Writes given up on (dead letters)"),
                ("celery_queue_depth", "celery_queue_depth", "Messages waiting in the Celery queue"),
                ("open_conflicts", "open_conflicts", "Conflicts waiting for a person"),
                ("open_duplicates", "open_duplicates", "Duplicate candidates waiting for a person"),
                ("drift_findings", "drift_findings", "Open schema drift findings"),
                ("auth_failures", "auth_failures", "Systems failing authentication")):
            if hub.get(key) is not None:
                gauge = GaugeMetricFamily(f"integration_hub_{name}", doc)
                gauge.add_metric([], hub[key])
                yield gauge
        system = {
            "status": ("System status: 0 green, 1 amber, 2 red", lambda s: STATUS_VALUE.get(s["status"], 0)),
            "auth_ok": ("1 when the system accepts the hub's credentials", lambda s: int(s["auth_status"] == "ok")),
            "outbox_depth": ("Writes waiting for this system", lambda s: s["outbox_depth"]),
            "outbox_oldest_seconds": ("Age of the oldest waiting write", lambda s: s["outbox_oldest_seconds"]),
            "error_rate": ("Share of records failing in the window", lambda s: s["error_rate"]),
            "latency_p50_seconds": ("Median source change to target write", lambda s: s["latency_p50"]),
            "latency_p99_seconds": ("p99 source change to target write", lambda s: s["latency_p99"]),
            "api_calls_last_hour": ("API calls made in the last hour", lambda s: s["api_calls_last_hour"]),
            "api_usage_ratio": ("Busiest minute's calls over the rate limit", lambda s: s["api_usage"]),
        }
        for name, (doc, read) in system.items():
            gauge = GaugeMetricFamily(f"integration_hub_system_{name}", doc, labels=["system", "role", "vendor"])
            for slug, s in data["systems"].items():
                value = read(s)
                if value is not None:
                    gauge.add_metric([slug, s["role"], s["vendor"]], value)
            yield gauge
        errors = GaugeMetricFamily("integration_hub_system_errors", "Failed records in the window by error class",
                                   labels=["system", "error_class"])
        for slug, s in data["systems"].items():
            for kind, n in s["errors_by_class"].items():
                errors.add_metric([slug, kind], n)
        yield errors
        mapping = {
            "success_rate": ("Share of runs that succeeded in the window", "success_rate"),
            "error_rate": ("Share of records failing in the window", "error_rate"),
            "latency_p50_seconds": ("Median source change to target write", "latency_p50"),
            "latency_p99_seconds": ("p99 source change to target write", "latency_p99"),
            "freshness_seconds": ("Seconds since the last successful run", "age_seconds"),
            "staleness_ratio": ("Data age over the mapping's cadence", "staleness_ratio"),
            "drift_findings": ("Open schema drift findings", "drift_findings"),
            "open_conflicts": ("Open conflicts", "open_conflicts"),
            "consistency_ratio": ("Latest reconciliation's consistency score", "consistency"),
        }
        for name, (doc, key) in mapping.items():
            gauge = GaugeMetricFamily(f"integration_hub_mapping_{name}", doc, labels=["mapping", "entity"])
            for pk, m in data["mappings"].items():
                if m.get(key) is not None:
                    gauge.add_metric([pk, m["entity"]], m[key])
            yield gauge


def exposition() -> bytes:
    """The current figures (the last sample when it is recent, else computed now)."""
    data = selectors.latest_snapshot(max_age_minutes=6) or metrics.snapshot()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_HealthCollector(data))
    return generate_latest(registry)
