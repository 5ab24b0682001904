"""The readiness report reads both sides as the sync does (mapping/reader.py) and matches as the sync matches."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import RemoteRecord
from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from mapping.models import DriftFinding, DriftKind, FieldRule, ObjectMapping, RuleSetVersion
from mapping.reader import Reader
from reconciliation.duplicates.readiness import Section, _compiled, _unlinkable

WHEN = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def contacts(db):
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9")
    mapping = ObjectMapping.objects.create(entity_type="contact", crm_system=crm, erp_system=erp,
                                           crm_object="contacts", erp_object="contact",
                                           match_keys=["last_name+account"])
    draft = RuleSetVersion.objects.create(mapping=mapping, number=1)  # nothing published yet: the draft's rules
    FieldRule.objects.create(version=draft, field="last_name", crm_path="lastname", erp_path="lastName",
                             system_of_record="shared", conflict_policy="manual_review")
    FieldRule.objects.create(version=draft, field="account", field_type="reference", reference_to="account",
                             crm_path="company_id", erp_path="company.id", system_of_record="shared",
                             conflict_policy="manual_review")
    return mapping


def _reads(mapping, side: str, *remotes: RemoteRecord):
    reader = Reader.from_compiled(_compiled(mapping), side)
    return list(reader.read(remotes).items())


def test_a_match_key_on_a_reference_matches_the_golden_record_both_ids_are_linked_to(contacts):
    """Each system holds its own id for the account: only the golden id relates them, as in the sync."""
    account = Record.objects.create(entity_type="account", values={})
    RecordLink.objects.create(record=account, system=contacts.crm_system, entity_type="account", external_id="c-1")
    RecordLink.objects.create(record=account, system=contacts.erp_system, entity_type="account", external_id="e-7")
    pulled = {"crm": _reads(contacts, "crm", RemoteRecord("1", WHEN, {"lastname": "Lee", "company_id": "c-1"}),
                            RemoteRecord("2", WHEN, {"lastname": "Lee", "company_id": "c-404"})),
              "erp": _reads(contacts, "erp", RemoteRecord("9", WHEN, {"lastName": "Lee", "company": {"id": "e-7"}}))}
    section = Section("unlinkable", "Records the match keys cannot link")

    _unlinkable(contacts, pulled, section)

    # An account the hub cannot place is unknown: the key cannot link it (the sync would not either).
    assert [(row.side, row.external_id, row.detail) for row in section.rows] == [
        ("crm", "2", "has none of the match keys (last_name+account)")]


def test_a_field_stopped_by_drift_is_not_read(contacts):
    DriftFinding.objects.create(mapping=contacts, side="crm", kind=DriftKind.MISSING, rule_field="last_name",
                                vendor_field="lastname", is_open=True)

    [(_, read)] = _reads(contacts, "crm", RemoteRecord("1", WHEN, {"lastname": "Lee"}))

    assert "last_name" not in read.values
