"""The sync's bulk write paths store exactly what single saves store, and match keys find records by index."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration_hub.kernel import audit
from integration_hub.kernel.bulk import insert_many, update_many
from integration_hub.records import matching, services
from integration_hub.records.models import MatchKey, Record, RecordLink
from mapping.models import ObjectMapping

pytestmark = pytest.mark.django_db


def test_bulk_insert_and_update_round_trip_values_exactly(crm_system):
    hostile = {"name": 'Quote " back\\slash \t tab, comma {brace} ünïcode 🚀', "amount": {"amount": "12.50"},
               "none": None, "list": [1, "two", {"three": 3}], "text": "x" * 10_000}
    records = [Record(entity_type="account", values=dict(hostile, n=i), display_name=f"R{i}") for i in range(3)]
    insert_many(Record, records)
    assert all(r.pk for r in records) and len({r.pk for r in records}) == 3
    stored = Record.objects.get(pk=records[1].pk)
    assert stored.values == dict(hostile, n=1)
    assert stored.created_at is not None and stored.updated_at is not None  # auto_now(_add) applied

    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    links = [RecordLink(record=r, system=crm_system, entity_type="account", external_id=f"x-{r.pk}",
                        remote_values={"a": r.pk}, remote_updated_at=when) for r in records]
    insert_many(RecordLink, links)
    for link in links:
        link.base_snapshot, link.needs_merge = {"name": f"base {link.pk}"}, True
    update_many(RecordLink, links, ["base_snapshot", "needs_merge"])
    fresh = RecordLink.objects.get(pk=links[2].pk)
    assert fresh.base_snapshot == {"name": f"base {links[2].pk}"} and fresh.needs_merge
    assert fresh.remote_updated_at == when and fresh.remote_values == {"a": records[2].pk}


def test_bulk_history_names_the_actor_and_reason_like_a_save():
    with audit.acting_as("sync-run:7", reason="new in the ERP"):
        created = services.records_create_many(
            entity_type="account", items=[({"name": "Acme"}, services.Source(system="erp", sync_run=7))])
        services.records_update_many([(created[0], {"name": "Acme Inc"}, services.Source(system="crm"))])
    rows = list(created[0].history.order_by("history_id"))
    assert [r.history_type for r in rows] == ["+", "~"]
    assert {r.history_actor for r in rows} == {"sync-run:7"}
    assert rows[0].history_change_reason == "new in the ERP"
    assert rows[1].values == {"name": "Acme Inc"}
    assert Record.objects.get(pk=created[0].pk).provenance["name"]["system"] == "crm"


def test_match_keys_follow_record_values_and_mapping_changes(crm_system, erp_system,
                                                            django_capture_on_commit_callbacks):
    mapping = ObjectMapping.objects.create(entity_type="contact", crm_system=crm_system, erp_system=erp_system,
                                           crm_object="contacts", erp_object="contact", match_keys=["email"])
    record = services.record_create(entity_type="contact", values={"email": "a@x.example", "last_name": "A"})
    digest = matching.key_digest("email", {"email": "a@x.example"})
    assert matching.find_matches("contact", "email", [digest]) == {digest: [record.pk]}

    services.record_update_values(record=record, changes={"email": "b@x.example"})
    assert matching.find_matches("contact", "email", [digest]) == {}
    new_digest = matching.key_digest("email", {"email": "b@x.example"})
    assert matching.find_matches("contact", "email", [new_digest]) == {new_digest: [record.pk]}

    # A mapping that starts matching on another key indexes the records that exist already.
    with django_capture_on_commit_callbacks(execute=True):
        mapping.match_keys = ["email", "last_name"]
        mapping.save()
    assert MatchKey.objects.filter(record=record, key="last_name").exists()


def test_a_key_with_a_missing_or_structured_part_matches_nothing():
    assert matching.key_digest("name+postcode", {"name": "Acme"}) is None
    assert matching.key_digest("name", {"name": ""}) is None
    assert matching.key_digest("amount", {"amount": {"amount": "1"}}) is None
    assert matching.key_digest("name+postcode", {"name": "A", "postcode": "1"}) != \
        matching.key_digest("name+postcode", {"name": "A1", "postcode": ""})
