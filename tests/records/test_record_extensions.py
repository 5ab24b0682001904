"""The records core shows what other apps register with it (integration_hub/records/extensions.py)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from integration_hub.records import extensions, services
from integration_hub.records.selectors import MASK, FieldChange, TimelineEntry
from integration_hub.sync import record_page as sync_record_page
from mapping import record_rules
from reconciliation.conflicts import selectors as conflict_selectors
from reconciliation.duplicates import record_page as duplicates_record_page

pytestmark = pytest.mark.django_db


def test_the_apps_register_their_contributions_once():
    registry = extensions.registry
    assert registry.timeline_sources == [sync_record_page.timeline_entries, conflict_selectors.timeline_entries,
                                         duplicates_record_page.timeline_entries]
    assert registry.page_sections == [sync_record_page.page_section, duplicates_record_page.page_section]
    assert registry.sensitive_field_sources == [record_rules.sensitive_fields]
    assert registry.finance_field_sources == [record_rules.finance_fields]
    assert registry.match_key_sources == [record_rules.match_keys]


def test_a_registered_contribution_shows_on_the_record_page_and_in_the_history_api(client, viewer_user,
                                                                                     monkeypatch):
    record = services.record_create(entity_type="account", values={"name": "Acme Inc", "tax_id": "GB123"})

    def shipments(shown):
        return [TimelineEntry(when=timezone.now() + timedelta(days=1), kind="shipped", subject="parcel 42",
                              actor="carrier", reason="left the warehouse", correlation_id="",
                              changes=[FieldChange("tax_id", None, "GB123")])]

    registry = extensions.registry
    monkeypatch.setattr(registry, "timeline_sources", [*registry.timeline_sources, shipments])
    monkeypatch.setattr(registry, "page_sections", [*registry.page_sections, lambda shown, user: {"parcels": [42]}])
    monkeypatch.setattr(registry, "sensitive_field_sources", [*registry.sensitive_field_sources, lambda e: {"tax_id"}])
    client.force_login(viewer_user)

    response = client.get(f"/records/{record.pk}/")
    timeline = response.content.decode().split('id="timeline"')[1]
    assert timeline.index("parcel 42") < timeline.index("created")  # newest first, among the record's history
    assert "GB123" not in timeline and MASK in timeline  # masked as any line is for a Viewer
    assert response.context["parcels"] == [42]
    [newest, *_] = client.get(f"/api/v1/records/{record.pk}/history/").json()["results"]
    assert (newest["subject"], newest["changes"]) == ("parcel 42", [{"field": "tax_id", "before": None,
                                                                     "after": MASK}])
