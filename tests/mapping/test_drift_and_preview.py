"""Schema drift from an emulator whose schema changed, and the impact preview on demo data."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from connectors.sandbox.netsuite import DEMO_TBA
from integration_hub.records import services as hub_services
from mapping import services
from mapping.drift import drift_check, fields_stopped_by_drift
from mapping.models import DriftKind, VersionStatus
from mapping.preview import version_preview

pytestmark = pytest.mark.django_db


def test_a_clean_schema_has_no_drift(published):
    assert drift_check(mapping=published["account"]) == []


def test_a_removed_field_is_found_and_stops_that_field(published, emulators):
    _, netsuite = emulators
    account = published["account"]
    drift_check(mapping=account)  # remembers today's schema
    netsuite.set_faults(removed_fields={"customer": ["creditLimit"]})
    findings = drift_check(mapping=account)
    assert [(f.side, f.kind, f.vendor_field, f.rule_field) for f in findings] == [
        ("erp", DriftKind.MISSING, "creditLimit", "credit_limit")]
    assert fields_stopped_by_drift(account) == {"crm": set(), "erp": {"credit_limit"}}
    finding = account.drift_findings.get(is_open=True)
    assert "stops syncing instead of writing empty values" in finding.detail

    netsuite.set_faults(removed_fields={})
    assert drift_check(mapping=account) == []
    finding.refresh_from_db()
    assert not finding.is_open and finding.resolved_at is not None
    assert fields_stopped_by_drift(account) == {"crm": set(), "erp": set()}


def test_a_renamed_field_is_reported_with_its_new_name(published, emulators):
    _, netsuite = emulators
    item = published["item"]
    drift_check(mapping=item)
    netsuite.set_faults(renamed_fields={"inventoryItem": {"quantityOnHand": "qtyOnHand"}})
    findings = drift_check(mapping=item)
    assert len(findings) == 1
    assert findings[0].kind == DriftKind.RENAMED and findings[0].rule_field == "quantity_on_hand"
    assert "quantityOnHand is now qtyOnHand" in findings[0].detail
    assert fields_stopped_by_drift(item)["erp"] == {"quantity_on_hand"}


def test_the_mapping_page_shows_open_drift(client, viewer_user, published, emulators):
    _, netsuite = emulators
    drift_check(mapping=published["account"])
    netsuite.set_faults(removed_fields={"customer": ["creditLimit"]})
    drift_check(mapping=published["account"])
    client.force_login(viewer_user)
    html = client.get(f"/mappings/{published['account'].pk}/").content.decode()
    assert 'id="drift"' in html and "creditLimit no longer exists" in html


def test_the_preview_on_demo_data_shows_sensible_counts(published, revops_user):
    draft = services.version_create_draft(mapping=published["item"], user=revops_user)
    live = version_preview(version=draft)["live"]
    # The five demo items exist on both sides with the same SKUs.
    assert live["pairs"] == 5 and live["only_crm"] == 0 and live["only_erp"] == 0
    assert live["scans"]["crm"]["scanned"] == 5 and live["scans"]["erp"]["scanned"] == 5
    # The ERP owns items: its stock and names would be written to the CRM, nothing to the ERP.
    assert live["changes"]["crm"]["fields"]["quantity_on_hand"] == 5
    assert live["changes"]["crm"]["fields"]["name"] == 1  # "Gadget Plus (old name)" in the CRM
    assert live["changes"]["erp"]["would_change"] == 0
    stored = type(draft).objects.get(pk=draft.pk)
    assert stored.preview["live"]["pairs"] == 5 and stored.previewed_at is not None


def test_the_preview_shows_the_price_a_rep_changed(published, revops_user):
    draft = services.version_create_draft(mapping=published["price"], user=revops_user)
    changes = version_preview(version=draft)["live"]["changes"]["crm"]
    # The rep's price, and the ERP's price levels the CRM has not seen yet.
    assert changes["fields"] == {"unit_price": 1, "wholesale_price": 5, "partner_price": 5}
    [sample] = [sample for sample in changes["samples"] if sample["field"] == "unit_price"]
    assert sample["before"] == {"amount": "22.00", "currency": "USD"}
    assert sample["after"] == {"amount": "24.00", "currency": "USD"}


def test_the_preview_pairs_accounts_by_match_keys_and_counts_the_rest(published, revops_user):
    draft = services.version_create_draft(mapping=published["account"], user=revops_user)
    live = version_preview(version=draft)["live"]
    # Acme, Globex, Initech and Stark match on name + postcode; Umbrella's names differ; Wayne is CRM-only,
    # and two of the CRM's three Acme spellings have no ERP partner (the duplicates work merges them).
    assert live["pairs"] == 4 and live["only_crm"] == 4 and live["only_erp"] == 1
    assert live["changes"]["crm"]["fields"]["credit_limit"] == 4
    assert live["shared_differences"]["shipping_street"] == 1  # Stark moved; settled by the conflict policy


def test_the_preview_reports_records_that_would_fail_validation(published, revops_user, emulators):
    hubspot, _ = emulators
    hubspot.emulator.store.table("companies")["1001"]["properties"]["name"] = ""
    draft = services.version_create_draft(mapping=published["account"], user=revops_user)
    scan = version_preview(version=draft)["live"]["scans"]["crm"]
    assert scan["invalid"] == 1 and scan["invalid_fields"] == {"name": 1}
    assert scan["invalid_samples"][0]["id"] == "1001"


def test_the_golden_record_pass_counts_what_would_be_written(published, revops_user):
    item = published["item"]
    record = hub_services.record_create(entity_type="item", values={"sku": "WID-100", "name": "Widget Standard",
                                                                   "quantity_on_hand": "1200"})
    hub_services.record_link(record=record, system=item.crm_system, external_id="1",
                             remote_values={"hs_sku": "WID-100", "name": "Widget Standard",
                                            "erp_quantity_on_hand": "900"})
    draft = services.version_create_draft(mapping=item, user=revops_user)
    crm = version_preview(version=draft, scan_systems=False)["systems"]["crm"]
    assert crm["linked"] == 1 and crm["would_change"] == 1
    assert crm["fields"] == {"quantity_on_hand": 1}
    assert crm["samples"][0]["before"] == "900" and crm["samples"][0]["after"] == "1200"


def test_preview_and_publish_from_the_mapping_page(client, revops_user, finance_user, published):
    item = published["item"]
    client.force_login(revops_user)
    client.post(f"/mappings/{item.pk}/draft/")
    draft = item.versions.get(status=VersionStatus.DRAFT)
    page = client.post(f"/mappings/{item.pk}/preview/", {"version": draft.pk}, follow=True).content.decode()
    assert 'id="preview"' in page and "would change" in page
    published_page = client.post(f"/mappings/{item.pk}/publish/", {"version": draft.pk}, follow=True)
    assert f"v{draft.number} is published" in published_page.content.decode()


def test_a_viewer_cannot_act_on_a_mapping(client, viewer_user, published):
    client.force_login(viewer_user)
    item = published["item"]
    assert client.get(f"/mappings/{item.pk}/").status_code == 200
    assert client.post(f"/mappings/{item.pk}/draft/").status_code == 403
    assert client.post(f"/mappings/{item.pk}/drift-check/").status_code == 403
    assert not item.versions.filter(status=VersionStatus.DRAFT).exists()


def test_revops_installs_the_template_from_the_mappings_page(client, revops_user, viewer_user, emulators):
    hubspot, netsuite = emulators
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url=hubspot.url, credentials={"access_token": "sandbox-token"})
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url=netsuite.url, credentials=dict(DEMO_TBA))
    client.force_login(viewer_user)
    assert 'id="install-template"' not in client.get("/mappings/").content.decode()
    assert client.post("/mappings/install-template/", {"crm_system": crm.pk, "erp_system": erp.pk}).status_code == 403
    client.force_login(revops_user)
    assert 'id="install-template"' in client.get("/mappings/").content.decode()
    page = client.post("/mappings/install-template/", {"crm_system": crm.pk, "erp_system": erp.pk}, follow=True)
    assert "Default template installed: 7 mappings" in page.content.decode()
    assert crm.crm_mappings.count() == 7


@pytest.mark.django_db
def test_the_preview_pairs_by_match_keys_exactly_as_the_sync_links():
    """The sync links by exact key values (records.matching); the preview once casefolded names and paired
    records the sync would then not link. It pairs only what the sync will link now."""
    from types import SimpleNamespace

    from mapping.preview import _pairs

    mapping = SimpleNamespace(entity_type="contact", crm_system_id=1, erp_system_id=2, match_keys=["email"])
    crm = {"c1": {"email": "Ann@Example.com"}, "c2": {"email": "bob@example.com"}, "c3": {"email": ""}}
    erp = {"e1": {"email": "ann@example.com"}, "e2": {"email": "bob@example.com"}, "e3": {"email": ""}}
    assert _pairs(mapping, crm, erp) == [("c2", "e2")]
