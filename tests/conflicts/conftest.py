"""Conflicts to decide: real ones (both sandboxes edited, then synced) and plain rows for cheap page tests."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from connectors.models import ConnectedSystem
from integration_hub.records import services as hub_services
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, outbox, tasks
from mapping.models import ObjectMapping
from reconciliation.conflicts import tasks as conflict_tasks
from reconciliation.conflicts.derive import conflict_open
from reconciliation.conflicts.models import Conflict


def edit(system, vendor_object: str, external_id: str, fields: dict) -> None:
    """Change a record in a system through its API, as a person using that system would."""
    from connectors.services import connector_session

    with connector_session(system) as connector:
        [result] = connector.upsert_many(vendor_object, [{"id": external_id, **fields}], None)
    assert result.ok, result.error


def sync(mapping):
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping))
    outbox.dispatch_all()
    return run


def external_id(record: Record, system) -> str:
    return record.links.get(system=system).external_id


@pytest.fixture
def eager(monkeypatch):
    """Tasks sent to the broker run in-process instead."""
    for task in (tasks.dispatch_outbox, conflict_tasks.bulk_decide):
        monkeypatch.setattr(task, "delay", lambda *args, _task=task, **kwargs: _task.apply(args, kwargs, throw=True))


@pytest.fixture
def pushed(django_capture_on_commit_callbacks):
    """A block whose on-commit work (the outbox dispatch after a decision) runs when it ends."""
    return django_capture_on_commit_callbacks(execute=True)


@dataclass
class Live:
    account: ObjectMapping
    price: ObjectMapping
    name: Conflict  # Globex renamed on both sides: shared field, RevOps approves
    price_conflict: Conflict  # a rep's price edit queued for finance
    hubspot: object
    netsuite: object

    def company(self, record: Record) -> dict:
        return self.hubspot.store.table("companies")[external_id(record, self.account.crm_system)]["properties"]

    def customer(self, record: Record) -> dict:
        return self.netsuite.store.table("customer")[external_id(record, self.account.erp_system)]


@pytest.fixture
def live(published, emulators, eager, django_capture_on_commit_callbacks) -> Live:
    """Scenarios 5 and 6 played on the sandboxes: a name both teams changed, a price a rep changed."""
    hubspot, netsuite = emulators
    account, price = published["account"], published["price"]
    ConnectedSystem.objects.update(rollout_stage="two_way")
    # The demo CRM calls Umbrella "Umbrella Corp", the ERP "Umbrella Corporation": a first-sync name conflict
    # that is not part of these scenarios, so the CRM is given the ERP's name first.
    edit(account.crm_system, "companies", "1006", {"name": "Umbrella Corporation"})
    sync(account)
    sync(price)
    globex = Record.objects.get(entity_type="account", values__name="Globex Corporation")
    edit(account.crm_system, "companies", external_id(globex, account.crm_system), {"name": "Globex (Sales East)"})
    edit(account.erp_system, "customer", external_id(globex, account.erp_system), {"companyName": "Globex Corp."})
    widget = Record.objects.get(entity_type="price", values__sku="WID-100")
    edit(price.crm_system, "products", external_id(widget, price.crm_system), {"price": "11.00"})
    sync(account)
    sync(price)
    return Live(account=account, price=price, name=Conflict.objects.get(record=globex, field="name"),
                price_conflict=Conflict.objects.get(record=widget, field="unit_price"),
                hubspot=hubspot, netsuite=netsuite)


@dataclass
class Rows:
    mapping: ObjectMapping
    name: Conflict  # approved by RevOps
    price_conflict: Conflict  # approved by Finance


def make_conflict(mapping, record, field: str, *, approver: str = "revops", crm=None, erp=None, base=None,
                  **extra) -> Conflict:
    return conflict_open(record=record, mapping=mapping, field=field, base_value=base, crm_value=crm,
                                   erp_value=erp, policy="manual_review" if approver == "revops" else "queue",
                                   approver_role=approver, reason="both changed (manual review)", **extra)


@pytest.fixture
def account_mapping(crm_system, erp_system) -> ObjectMapping:
    return ObjectMapping.objects.create(entity_type="account", crm_system=crm_system, erp_system=erp_system,
                                        crm_object="companies", erp_object="customer")


def linked_record(mapping, entity: str, values: dict, n: int) -> Record:
    record = hub_services.record_create(entity_type=entity, values=values)
    RecordLink.objects.create(record=record, system=mapping.crm_system, entity_type=entity, external_id=f"c{n}")
    RecordLink.objects.create(record=record, system=mapping.erp_system, entity_type=entity, external_id=f"e{n}")
    return record


@pytest.fixture
def rows(account_mapping) -> Rows:
    """Conflict rows without systems behind them: for what never reads the systems (pages, roles refused)."""
    acme = linked_record(account_mapping, "account", {"name": "Acme Inc", "sales_owner": "owner-7",
                                                      "credit_limit": {"amount": "5000.00", "currency": "USD"}}, 1)
    name = make_conflict(account_mapping, acme, "name", base="Acme Inc", crm="Acme (Sales)", erp="Acme Incorporated")
    limit = make_conflict(account_mapping, acme, "credit_limit", approver="finance",
                          base={"amount": "5000.00", "currency": "USD"}, crm={"amount": "9000.00", "currency": "USD"},
                          erp={"amount": "5000.00", "currency": "USD"})
    return Rows(mapping=account_mapping, name=name, price_conflict=limit)


def publish_sensitive(mapping, field: str) -> None:
    """Publish a one-rule version in which ``field`` (money, finance-approved) is sensitive."""
    from mapping.models import FieldRule, RuleSetVersion

    version = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=version, field=field, field_type="money", crm_path="c", erp_path="e",
                             system_of_record="erp", non_owner_policy="queue", approver_role="finance",
                             sensitive=True)
    RuleSetVersion.objects.filter(pk=version.pk).update(status="published")
    mapping.published_version = version
    mapping.save()
