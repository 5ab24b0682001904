"""The record page: current values with provenance, linked ids, and a field-level timeline."""
import pytest

from integration_hub.kernel import audit
from integration_hub.records import services
from integration_hub.records.models import Record

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(crm_system, erp_system):
    with audit.acting_as("sync-run:1", reason="first sync"):
        record = services.record_create(
            entity_type="account", values={"name": "Acme Inc", "city": "Leeds"},
            source=services.Source(system="crm", sync_run=1))
        services.record_link(record=record, system=crm_system, external_id="1001")
        services.record_link(record=record, system=erp_system, external_id="CUST-77")
    with audit.acting_as("sync-run:2", reason="address changed in the CRM"):
        services.record_update_values(record=record, changes={"city": "York"},
                                      source=services.Source(system="crm", sync_run=2))
    return record


def test_the_record_page_shows_values_provenance_and_links(client, viewer_user, acme):
    client.force_login(viewer_user)
    html = client.get(f"/records/{acme.pk}/").content.decode()
    assert "Acme Inc" in html and "York" in html
    assert "(run 2)" in html and "sync-run:2" in html
    assert "1001" in html and "CUST-77" in html


def test_the_timeline_shows_field_level_before_and_after(client, viewer_user, acme):
    client.force_login(viewer_user)
    html = client.get(f"/records/{acme.pk}/").content.decode()
    timeline = html[html.index('id="timeline"'):]
    assert "address changed in the CRM" in timeline
    assert '<td class="before">Leeds</td>' in timeline and '<td class="after">York</td>' in timeline
    assert "link crm: 1001" in timeline


def test_the_history_api_gives_the_same_timeline(client, viewer_user, acme):
    client.force_login(viewer_user)
    entries = client.get(f"/api/v1/records/{acme.pk}/history/").json()["results"]
    change = next(e for e in entries if e["reason"] == "address changed in the CRM")
    assert change["actor"] == "sync-run:2"
    assert change["changes"] == [{"field": "city", "before": "Leeds", "after": "York"}]


def test_the_record_list_filters_and_paginates(client, viewer_user, acme):
    for i in range(60):
        services.record_create(entity_type="contact", values={"first_name": "C", "last_name": f"{i:03d}"})
    client.force_login(viewer_user)
    page = client.get("/records/?entity_type=contact").content.decode()
    assert "Page 1 of 2 (60 rows)" in page
    assert "Acme Inc" not in page
    found = client.get("/records/?q=acme").content.decode()
    assert f'href="/records/{acme.pk}/"' in found
    by_link = client.get("/records/?external_id=CUST-77").content.decode()
    assert f'href="/records/{acme.pk}/"' in by_link
    assert Record.objects.count() == 61


def test_a_missing_record_is_a_404_page(client, viewer_user):
    client.force_login(viewer_user)
    assert client.get("/records/999999/").status_code == 404


def test_hostile_values_are_escaped(client, viewer_user):
    record = services.record_create(entity_type="account", values={"name": "<script>alert(1)</script>" + "x" * 5000})
    client.force_login(viewer_user)
    html = client.get(f"/records/{record.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
