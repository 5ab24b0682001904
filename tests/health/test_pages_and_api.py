"""The health dashboard, the API (health, alerts, reconciliation reports) and /metrics: roles and secrets."""
from __future__ import annotations

import pytest
from django.test import override_settings

from integration_hub.records.models import Record
from integration_hub.sync.models import OutboundChange
from reconciliation.health.models import Alert, AlertRule
from reconciliation.reports.models import ReconciliationReport, ReportItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_writes(crm_system, erp_system):
    record = Record.objects.create(entity_type="account", display_name="Acme")
    for i in range(3):
        OutboundChange.objects.create(record=record, system=crm_system, side="crm", vendor_object="companies",
                                      values={}, payload={}, idempotency_key=f"w{i}")
    return record


def test_the_dashboard_shows_a_tile_per_system_with_its_reason(client, viewer_user, crm_system, erp_system,
                                                                waiting_writes):
    crm_system.auth_status, crm_system.auth_message = "failed", "HubSpot HTTP 401: expired"
    crm_system.save()
    client.force_login(viewer_user)
    html = client.get("/health/").content.decode()
    assert 'data-system="crm"' in html and 'data-system="erp"' in html
    assert "health-red" in html and "authentication failing: HubSpot HTTP 401: expired" in html
    assert "3 waiting" in html
    assert 'id="health-charts"' in html and "vendor/chart.umd.min.js" in html and "cdn" not in html.lower()


def test_pages_need_the_role(client, roleless_user, viewer_user):
    client.force_login(roleless_user)
    for url in ("/health/", "/health/alerts/", "/reconciliation/"):
        assert client.get(url).status_code == 403
    client.force_login(viewer_user)
    for url in ("/health/", "/health/alerts/", "/reconciliation/"):
        assert client.get(url).status_code == 200


def test_api_health_gives_load_balancers_the_status_and_signed_in_readers_the_detail(
        client, viewer_user, crm_system, erp_system, waiting_writes):
    anonymous = client.get("/api/v1/health/").json()
    assert set(anonymous) == {"status", "checked_at"} and anonymous["status"] == "green"
    client.force_login(viewer_user)
    detail = client.get("/api/v1/health/").json()
    assert detail["systems"]["crm"]["outbox_depth"] == 3 and detail["hub"]["outbox_depth"] == 3
    assert "credentials" not in str(detail) and "very-secret" not in str(detail)


def test_api_alerts_and_reports_follow_the_roles(client, viewer_user, revops_user, crm_system, erp_system):
    from mapping.models import ObjectMapping

    mapping = ObjectMapping.objects.create(entity_type="account", crm_system=crm_system, erp_system=erp_system,
                                           crm_object="companies", erp_object="customer")
    rule = AlertRule.objects.get(metric="outbox_depth")
    Alert.objects.create(rule=rule, subject="system:crm", subject_label="Demo CRM", value=1200, message="deep")
    report = ReconciliationReport.objects.create(mapping=mapping, entity_type="account", status="succeeded",
                                                 compared=10, mismatched=1, consistency_score=0.9)
    ReportItem.objects.create(report=report, kind="field", field="phone", crm_id="1", erp_id="2",
                              crm_value="+1 555", erp_value="+1 556")
    ReportItem.objects.create(report=report, kind="only_crm", crm_id="3")

    client.force_login(viewer_user)
    assert client.get("/api/v1/alerts/?status=open").json()["results"][0]["message"] == "deep"
    body = client.get("/api/v1/reconciliation-reports/").json()
    assert body["results"][0]["consistency_score"] == 0.9
    items = client.get(f"/api/v1/reconciliation-reports/{report.pk}/items/?kind=field").json()
    assert [i["field"] for i in items["results"]] == ["phone"]
    assert client.post("/api/v1/reconciliation-reports/", {"mapping": mapping.pk}).status_code == 403

    client.force_login(revops_user)
    response = client.post("/api/v1/reconciliation-reports/", {"mapping": mapping.pk})
    assert response.status_code == 400 and "no published rules" in response.json()["detail"]


def test_metrics_need_the_token_or_a_reader_and_never_show_secrets(client, viewer_user, roleless_user, crm_system,
                                                                    erp_system, waiting_writes):
    assert client.get("/metrics").status_code == 401
    with override_settings(METRICS_TOKEN="scrape-me"):
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert 'integration_hub_system_outbox_depth{role="crm",system="crm",vendor="hubspot"} 3.0' in text
    assert "integration_hub_status 0.0" in text
    assert "very-secret" not in text and "token" not in text.lower().replace("metrics_token", "")
    client.force_login(roleless_user)
    assert client.get("/metrics").status_code == 403
    client.force_login(viewer_user)
    assert client.get("/metrics").status_code == 200


@pytest.mark.redis
def test_celery_queue_depth_counts_the_messages_waiting_in_redis(db):
    from integration_hub.celery import app
    from reconciliation.health.metrics import celery_queue_depth

    queue = "health-depth-test"  # a queue no worker listens to
    try:
        assert celery_queue_depth(queue) == 0
        for _ in range(3):
            app.send_task("reconciliation.health.tasks.health_check", queue=queue)
        assert celery_queue_depth(queue) == 3
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.client.delete(queue)


def test_acknowledging_never_redirects_off_site(client, revops_user, crm_system):
    rule = AlertRule.objects.get(metric="outbox_depth")
    alert = Alert.objects.create(rule=rule, subject="system:crm", subject_label="Demo CRM", value=1200, message="deep")
    client.force_login(revops_user)
    response = client.post(f"/health/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert response["Location"] == "/health/alerts/"
    assert client.get("/health/?hours=lots").status_code == 200
