"""The one reader: a vendor record -> canonical values with golden references, as the sync engine reads it."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import RemoteRecord
from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from mapping.compiled import compile_mapping
from mapping.models import DriftFinding, DriftKind, FieldRule, ObjectMapping, RuleSetVersion, VersionStatus
from mapping.reader import Reader, vendor_fields

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def deal_mapping(db):
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9")
    mapping = ObjectMapping.objects.create(entity_type="deal", crm_system=crm, erp_system=erp, crm_object="deals",
                                           erp_object="salesorder", match_keys=["name"])
    version = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=version, field="name", crm_path="dealname", erp_path="title",
                             system_of_record="shared", conflict_policy="manual_review")
    FieldRule.objects.create(version=version, field="account", field_type="reference", reference_to="account",
                             crm_path="company_id", erp_path="entity.id", system_of_record="crm",
                             non_owner_policy="revert_and_log")
    FieldRule.objects.create(version=version, field="stage", crm_path="dealstage", erp_path="status",
                             system_of_record="crm", non_owner_policy="revert_and_log",
                             crm_transforms=[{"name": "picklist", "params": {"map": {"won": "closed_won"}}}])
    RuleSetVersion.objects.filter(pk=version.pk).update(status=VersionStatus.PUBLISHED)
    mapping.published_version = version
    mapping.save()
    return mapping


def _linked(system, entity: str, external_id: str) -> Record:
    record = Record.objects.create(entity_type=entity, values={})
    RecordLink.objects.create(record=record, system=system, entity_type=entity, external_id=external_id)
    return record


def _remote(external_id: str, **fields) -> RemoteRecord:
    return RemoteRecord(external_id, WHEN, fields)


def test_a_record_reads_as_canonical_values_with_its_references_as_golden_ids(deal_mapping):
    acme = _linked(deal_mapping.crm_system, "account", "c-1")
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")

    read = reader.read([_remote("d-1", dealname="Big deal", company_id="c-1", dealstage="won")])["d-1"]

    assert read.values == {"name": "Big deal", "account": f"record:{acme.pk}", "stage": "closed_won"}
    assert read.readable["account"] == "c-1"  # as the vendor said it, before placing
    assert (read.errors, read.unplaced, read.updated_at) == ({}, {}, WHEN)
    assert read.fields == {"dealname": "Big deal", "company_id": "c-1", "dealstage": "won"}


def test_a_reference_no_link_places_is_left_out_and_reported_with_the_vendors_id(deal_mapping):
    """The engine's rule (ToGolden's before it): never guessed, never taken as a change."""
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")

    read = reader.read([_remote("d-1", dealname="Big deal", company_id="c-404")])["d-1"]

    assert "account" not in read.values
    assert read.unplaced == {"account": "c-404"}


def test_a_reference_to_another_systems_link_is_not_placed(deal_mapping):
    _linked(deal_mapping.erp_system, "account", "c-1")  # the same id, but in the ERP
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")

    assert reader.read([_remote("d-1", company_id="c-1")])["d-1"].unplaced == {"account": "c-1"}


def test_a_value_that_fails_its_rule_is_reported_not_read(deal_mapping):
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")

    read = reader.read([_remote("d-1", dealname="Big deal", dealstage="lost-ish")])["d-1"]

    assert "stage" not in read.values and set(read.errors) == {"stage"}
    assert read.values == {"name": "Big deal", "account": None}  # a value the vendor does not hold: empty


def test_a_field_stopped_by_drift_is_not_read_but_its_failure_still_counts(deal_mapping):
    """The engine reads a stopped field's value nowhere, and holds a record whose value fails any rule."""
    DriftFinding.objects.create(mapping=deal_mapping, side="crm", kind=DriftKind.MISSING, rule_field="stage",
                                vendor_field="dealstage", is_open=True)
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")

    assert reader.stopped == {"stage"}
    assert "stage" not in reader.read([_remote("d-1", dealstage="won")])["d-1"].values
    assert set(reader.read([_remote("d-2", dealstage="lost-ish")])["d-2"].errors) == {"stage"}


def test_one_link_lookup_per_target_entity_for_a_whole_batch(deal_mapping, django_assert_num_queries):
    for n in range(5):
        _linked(deal_mapping.crm_system, "account", f"c-{n}")
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")
    remotes = [_remote(f"d-{n}", company_id=f"c-{n}") for n in range(5)]

    with django_assert_num_queries(1):
        reads = reader.read(remotes)

    assert all(read.values["account"].startswith("record:") for read in reads.values())


def test_lines_are_one_document_placed_whole_or_left_out(deal_mapping):
    item = _linked(deal_mapping.crm_system, "item", "p-1")
    golden = Reader(deal_mapping.crm_system, "deals", compile_mapping(deal_mapping).mappers["crm"],
                    line_fields={"lines": "item"}).golden_ids([{"lines": [{"item": "p-1"}, {"item": "p-2"}]}])

    assert golden.place({"lines": [{"item": "p-1", "quantity": 2}]}) == (
        {"lines": [{"item": f"record:{item.pk}", "quantity": 2}]}, {})
    assert golden.place({"lines": [{"item": "p-1"}, {"item": "p-2"}]}) == ({}, {"lines": "p-2"})
    assert golden.unplaced({"lines": [{"item": "p-1"}, {"item": "p-2"}]}) == [
        "lines: line 2's item (HubSpot id p-2) is not linked yet"]


def test_stored_vendor_fields_read_the_same_as_a_fresh_record(deal_mapping):
    """The merge reads a link's last known vendor fields: the same reading as the pull's."""
    reader = Reader.from_compiled(compile_mapping(deal_mapping), "crm")
    remote = _remote("d-1", dealname="Big deal", dealstage="won")

    stored = reader.canonical_fields({7: vendor_fields(remote)})[7]

    assert stored.values == reader.canonical(remote).values == {"name": "Big deal", "account": None,
                                                                        "stage": "closed_won"}


def test_associations_are_read_under_their_own_key():
    remote = RemoteRecord("1", WHEN, {"name": "Acme"}, associations={"contacts": ["9"]})

    assert vendor_fields(remote) == {"name": "Acme", "associations": {"contacts": ["9"]}}
    assert vendor_fields(_remote("2", name="Acme")) == {"name": "Acme"}


def test_a_draft_compiles_like_the_published_rules(deal_mapping):
    draft = RuleSetVersion.objects.create(mapping=deal_mapping, number=2)
    FieldRule.objects.create(version=draft, field="name", crm_path="title", erp_path="title",
                             system_of_record="shared", conflict_policy="manual_review")

    reader = Reader.from_compiled(compile_mapping(deal_mapping, draft), "crm")

    assert reader.read([_remote("d-1", title="From the draft")])["d-1"].values == {"name": "From the draft"}
