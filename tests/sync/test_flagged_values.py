"""A phone that cannot be made E.164 (a local number with no area code) flows as the rep typed it -- NetSuite takes
text -- and is flagged on the data-quality page, instead of holding the field; an amount whose currency field is
empty takes the vendor's base currency instead of holding."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record
from integration_hub.sync import engine, outbox
from integration_hub.sync.models import HeldField
from mapping.compiled import compile_mapping

pytestmark = pytest.mark.django_db


def test_a_local_phone_flows_as_typed_and_is_flagged(published, emulators, client, viewer_user):
    _, netsuite = emulators
    ConnectedSystem.objects.update(rollout_stage="two_way")
    contact = published["contact"]
    with connector_session(contact.crm_system) as connector:
        [result] = connector.upsert_many("contacts", [{"id": "1009", "phone": "555-0199"}], None)
    assert result.ok
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=contact))
    outbox.dispatch_all_until_empty()
    run.refresh_from_db()
    assert run.counts["held"] == 0
    wile = Record.objects.get(entity_type="contact", values__email="wile@acme.example")
    assert wile.values["phone"] == "555-0199"
    with netsuite.store.lock:
        ns = next(dict(c) for c in netsuite.store.table("contact").values() if c.get("email") == "wile@acme.example")
    assert ns["phone"] == "555-0199"
    flagged = HeldField.objects.get(record=wile, cleared_at__isnull=True)
    assert (flagged.kind, flagged.field, flagged.value) == ("flagged", "phone", "555-0199")
    assert "kept as typed" in flagged.reason

    client.force_login(viewer_user)
    page = client.get("/data-quality/?kind=flagged").content.decode()
    assert "555-0199" in page and "flowed as typed, flagged" in page
    assert "555-0199" not in client.get("/data-quality/?kind=held").content.decode()


def test_an_amount_without_a_currency_takes_the_base_currency(published):
    """The template's money rules read an empty currency field as the vendor's base currency."""
    compiled = compile_mapping(published["account"])
    read = compiled.mappers["crm"].to_canonical({"name": "Acme", "erp_credit_limit": "5000", "erp_currency": ""})
    assert read.values["credit_limit"] == {"amount": "5000.00", "currency": "USD"}
    assert "credit_limit" not in read.errors
