"""Alert rules on simulated metrics: they fire, notify, are acknowledged, and resolve when the metric recovers."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from connectors.models import ConnectedSystem
from connectors.usage import record_calls
from integration_hub.records.models import Record
from integration_hub.sync.models import OutboundChange, SyncRun
from mapping.models import DriftFinding
from reconciliation.health import alerts, tasks
from reconciliation.health.models import Alert, AlertRule, MetricSample

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook_receiver():
    """A local HTTP endpoint standing in for the team's chat or paging webhook; keeps what it was sent."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def evaluate(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return alerts.alerts_evaluate()


def unresolved(rule_name: str) -> list[Alert]:
    return list(Alert.objects.filter(rule__name=rule_name).exclude(status="resolved"))


def queue_writes(system, n: int) -> None:
    record = Record.objects.create(entity_type="account", display_name="Acme")
    OutboundChange.objects.bulk_create(
        OutboundChange(record=record, system=system, side=system.role, vendor_object="companies", values={"a": i},
                       payload={}, idempotency_key=uuid.uuid4().hex) for i in range(n))


def test_the_default_rules_come_from_practice(db):
    rules = {r.name: (r.metric, r.threshold) for r in AlertRule.objects.all()}
    assert rules["Sync errors above 1 % of records"] == ("error_rate", 0.01)
    assert rules["Outbox deeper than 1,000 writes"] == ("outbox_depth", 1000)
    assert rules["p99 latency above 5× its weekly normal"] == ("latency_p99_ratio", 5)
    assert rules["Authentication failing"] == ("auth_failures", 0)
    assert rules["Data older than twice its cadence"] == ("staleness_ratio", 2)
    assert rules["Schema drift found"] == ("drift_findings", 0)
    assert rules["API usage above 70 % of the vendor limit"] == ("api_usage", 0.7)


def test_a_deep_outbox_opens_an_alert_emails_and_posts_it_and_resolves_when_it_drains(
        crm_system, revops_user, webhook_receiver, django_capture_on_commit_callbacks, client):
    url, received = webhook_receiver
    revops_user.email = "rita@example.com"
    revops_user.save()
    AlertRule.objects.filter(name="Outbox deeper than 1,000 writes").update(webhook_url=url)
    queue_writes(crm_system, 1000)
    assert evaluate(django_capture_on_commit_callbacks)["opened"] == []  # 1,000 is not more than 1,000

    queue_writes(crm_system, 1)
    [alert] = evaluate(django_capture_on_commit_callbacks)["opened"]
    assert alert.subject == "system:crm" and alert.value == 1001 and alert.status == "open"
    assert "Demo CRM" in alert.message and "1001" in alert.message
    assert mail.outbox[-1].to == ["rita@example.com"] and "Outbox deeper" in mail.outbox[-1].subject
    assert received[-1]["event"] == "opened" and received[-1]["subject"] == "system:crm"
    # Still too deep on the next check: the same alert, not a second one.
    assert evaluate(django_capture_on_commit_callbacks)["opened"] == []

    client.force_login(revops_user)
    assert 'id="nav-alerts"' in client.get("/records/").content.decode()
    client.post(f"/health/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == revops_user

    OutboundChange.objects.update(status="sent", sent_at=timezone.now())
    assert [a.pk for a in evaluate(django_capture_on_commit_callbacks)["resolved"]] == [alert.pk]
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_at is not None
    assert "Resolved" in mail.outbox[-1].subject and received[-1]["event"] == "resolved"
    # Acknowledgement and resolution are audited, each with its actor.
    history = list(alert.history.order_by("history_date").values_list("status", "history_actor",
                                                                      "history_change_reason"))
    assert history == [("open", "health-check", "threshold crossed"), ("acknowledged", "rita-revops", "acknowledged"),
                       ("resolved", "health-check", "metric recovered")]
    assert 'id="nav-alerts"' not in client.get("/records/").content.decode()


def test_error_rate_staleness_drift_and_api_usage_fire_and_resolve(published, django_capture_on_commit_callbacks):
    account, contact = published["account"], published["contact"]
    crm = account.crm_system
    now = timezone.now()
    # 2 of 100 contacts failed in the last hour.
    run = SyncRun.objects.create(mapping=contact, trigger="schedule", status="completed_with_errors",
                                 finished_at=now - timedelta(minutes=5))
    SyncRun.objects.filter(pk=run.pk).update(counts={"read": 100, "failed": 2})
    # The account mapping syncs every 15 minutes; its last good run was 40 minutes ago.
    SyncRun.objects.create(mapping=account, trigger="schedule", status="succeeded",
                           finished_at=now - timedelta(minutes=40))
    finding = DriftFinding.objects.create(mapping=account, side="erp", kind="renamed", vendor_field="phone",
                                          rule_field="phone", detail="phone is now phoneNumber")
    from django.core.cache import cache
    cache.clear()  # forget the calls the set-up made
    record_calls(crm.pk, 450)  # HubSpot's default limit is 100 per 10 s: 600 a minute

    for mapping in published.values():  # the other mappings are fresh
        if mapping.pk != account.pk:
            SyncRun.objects.create(mapping=mapping, trigger="schedule", status="succeeded", finished_at=now)
    opened = evaluate(django_capture_on_commit_callbacks)["opened"]
    by_rule = {(a.rule.metric, a.subject): a.value for a in opened}
    assert {metric for metric, _ in by_rule} == {"error_rate", "staleness_ratio", "drift_findings", "api_usage"}
    assert by_rule[("error_rate", f"mapping:{contact.pk}")] == 0.02
    assert by_rule[("staleness_ratio", f"mapping:{account.pk}")] == pytest.approx(40 / 15, abs=0.01)
    assert by_rule[("drift_findings", f"mapping:{account.pk}")] == 1
    assert by_rule[("api_usage", "system:crm")] == 0.75

    # Things recover: the failing run leaves the hour, a good run lands, the finding is fixed, the API is quiet.
    SyncRun.objects.filter(pk=run.pk).update(finished_at=now - timedelta(hours=2))
    for mapping in published.values():
        SyncRun.objects.create(mapping=mapping, trigger="schedule", status="succeeded", finished_at=timezone.now())
    DriftFinding.objects.filter(pk=finding.pk).update(is_open=False)
    cache.clear()
    resolved = evaluate(django_capture_on_commit_callbacks)["resolved"]
    assert {(a.rule.metric, a.subject) for a in resolved} == set(by_rule)


def test_p99_latency_alerts_at_five_times_its_weekly_normal(published, django_capture_on_commit_callbacks):
    account = published["account"]
    now = timezone.now()
    for days in (1, 2, 3, 4):  # a normal week: p99 around 2 s
        MetricSample.objects.create(taken_at=now - timedelta(days=days),
                                    data={"mappings": {str(account.pk): {"latency_p99": 2.0}}})
    run = SyncRun.objects.create(mapping=account, trigger="schedule", status="succeeded", finished_at=now)
    record = Record.objects.create(entity_type="account", display_name="Acme")
    change = OutboundChange.objects.create(run=run, record=record, system=account.erp_system, side="erp",
                                           vendor_object="customer", values={}, payload={}, idempotency_key="slow",
                                           status="sent", sent_at=now)
    OutboundChange.objects.filter(pk=change.pk).update(created_at=now - timedelta(seconds=30))  # 30 s: 15×

    [alert] = [a for a in evaluate(django_capture_on_commit_callbacks)["opened"]
               if a.rule.metric == "latency_p99_ratio"]
    assert alert.value == pytest.approx(15) and alert.subject == f"mapping:{account.pk}"


def test_an_expired_token_raises_an_auth_alert_within_one_scheduled_check(published, emulators,
                                                                          django_capture_on_commit_callbacks):
    hubspot, _ = emulators
    crm = ConnectedSystem.objects.get(slug="crm")
    crm.credentials = {"access_token": "issued-on-friday", "client_id": "sandbox-client-id",
                       "client_secret": "sandbox-client-secret", "refresh_token": "sandbox-refresh-token"}
    crm.auth_status = "ok"
    crm.save()
    hubspot.set_faults(token_ttl_seconds=0)  # the vendor now says every token it issues is already expired

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.health_check()  # one scheduled check

    [alert] = Alert.objects.filter(rule__metric="auth_failures", status="open")
    assert alert.pk in result["opened"] and alert.subject == "system:crm" and alert.subject_label == "HubSpot"
    crm.refresh_from_db()
    assert crm.auth_status == "failed" and "401" in crm.auth_message
    assert result["status"] == "red"

    hubspot.set_faults(token_ttl_seconds=1800)  # reconnected
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.health_check()
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.pk in result["resolved"]


def test_only_revops_acknowledge(crm_system, viewer_user, finance_user, revops_user, client,
                                 django_capture_on_commit_callbacks):
    queue_writes(crm_system, 1001)
    [alert] = evaluate(django_capture_on_commit_callbacks)["opened"]
    for user in (viewer_user, finance_user):
        client.force_login(user)
        assert client.post(f"/health/alerts/{alert.pk}/acknowledge/").status_code == 403
        assert client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 403
    client.force_login(revops_user)
    response = client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "looking"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    assert client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 409
