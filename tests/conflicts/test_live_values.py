"""A conflict's live values and a reconciliation's comparable values come from the one reader, presented each
their own way: the engine's reading decides what is known (a reference placed through links, lines as one
document, a stopped field not read)."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from connectors.base import RemoteRecord
from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from mapping.compiled import compile_mapping
from mapping.models import DriftFinding, DriftKind, FieldRule, ObjectMapping, RuleSetVersion, VersionStatus
from mapping.reader import Reader
from reconciliation.conflicts.remote import _side_now
from reconciliation.reports.compare import UNKNOWN
from reconciliation.reports.reconcile import _Reconciliation

WHEN = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def contacts(db):
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9")
    mapping = ObjectMapping.objects.create(entity_type="contact", crm_system=crm, erp_system=erp,
                                           crm_object="contacts", erp_object="contact", match_keys=["email"])
    version = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=version, field="email", crm_path="email", erp_path="email",
                             system_of_record="shared", conflict_policy="manual_review")
    FieldRule.objects.create(version=version, field="account", field_type="reference", reference_to="account",
                             crm_path="company_id", erp_path="company.id", system_of_record="shared",
                             conflict_policy="manual_review")
    # A reference field whose target entity the hub does not know: never placed.
    FieldRule.objects.create(version=version, field="manager", field_type="reference", crm_path="manager_id",
                             erp_path="supervisor.id", system_of_record="shared", conflict_policy="manual_review")
    RuleSetVersion.objects.filter(pk=version.pk).update(status=VersionStatus.PUBLISHED)
    mapping.published_version = version
    mapping.save()
    return mapping


def _read(mapping, **fields):
    reader = Reader.from_compiled(compile_mapping(mapping), "crm")
    return reader, reader.read([RemoteRecord("c-9", WHEN, fields)])["c-9"]


def test_a_conflicts_live_value_is_the_golden_id_of_the_linked_reference(contacts):
    account = Record.objects.create(entity_type="account", values={})
    RecordLink.objects.create(record=account, system=contacts.crm_system, entity_type="account", external_id="a-1")

    reader, read = _read(contacts, company_id="a-1")
    now = _side_now(reader, "account", read)

    assert (now.value, now.known, now.updated_at) == (f"record:{account.pk}", True, WHEN)


def test_a_conflicts_unplaceable_reference_is_unknown_with_the_reason(contacts):
    reader, read = _read(contacts, company_id="a-404", manager_id="m-1")

    assert _side_now(reader, "account", read).problem == (
        "HubSpot's value cannot be read: it points at a account the hub has not linked (a-404)")
    assert _side_now(reader, "manager", read).problem == (
        "HubSpot's value cannot be read: it points at a record the hub has not linked (m-1)")
    assert not _side_now(reader, "account", read).known


def test_a_conflicts_field_stopped_by_drift_is_not_read(contacts):
    DriftFinding.objects.create(mapping=contacts, side="crm", kind=DriftKind.MISSING, rule_field="email",
                                vendor_field="email", is_open=True)
    reader, read = _read(contacts, email="a@example.com")

    assert _side_now(reader, "email", read).problem == "email is not synced with HubSpot (schema drift)"
    assert _side_now(reader, "email", None).problem == "the record is no longer in HubSpot"


def test_reconciliation_takes_what_the_engine_cannot_place_as_unknown(contacts):
    """A reference to an unknown entity was once looked up under the field's name; the engine never places it."""
    RecordLink.objects.create(record=Record.objects.create(entity_type="contact", values={}),
                              system=contacts.crm_system, entity_type="contact", external_id="m-1")
    readers = {"crm": Reader.from_compiled(compile_mapping(contacts), "crm")}
    remotes = [RemoteRecord("c-9", WHEN, {"email": "a@example.com", "company_id": "a-404", "manager_id": "m-1"})]

    values = _Reconciliation._comparable(SimpleNamespace(readers=readers), "crm", remotes)["c-9"]

    assert values["email"] == "a@example.com"
    assert values["account"] is UNKNOWN and values["manager"] is UNKNOWN
