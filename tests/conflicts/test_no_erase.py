"""A decision never empties a value its owner holds: "enter a value" needs a value, and taking one side's empty
value over the owner's is refused. Played on the sandboxes through the API, as a Finance approver would."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integration_hub.records.models import Record
from integration_hub.sync.models import OutboundChange
from reconciliation.conflicts import services
from reconciliation.conflicts.models import Conflict
from tests.conflicts.conftest import edit, external_id, sync
from tests.conflicts.test_api import resolve

pytestmark = pytest.mark.django_db


def _prices(live, record: Record) -> tuple:
    product = live.hubspot.store.table("products")[external_id(record, live.price.crm_system)]["properties"]
    item = live.netsuite.store.table("inventoryItem")[external_id(record, live.price.erp_system)]
    return product.get("price"), item.get("basePrice")


def test_enter_a_value_without_a_value_is_refused_and_nothing_is_written(client, live, finance_user, pushed):
    widget = live.price_conflict.record
    before, writes = _prices(live, widget), OutboundChange.objects.count()
    with pushed:
        response = resolve(client, finance_user, live.price_conflict, choice="value", comment="x")
    assert response.status_code == 400
    assert response.json() == {"value": ["Enter a value. To keep both systems as they are, reject instead."]}
    for blank in ("", "   ", None):
        again = resolve(client, finance_user, live.price_conflict, choice="value", value=blank, comment="x")
        assert again.status_code == 400 and "Enter a value" in again.json()["value"][0]
    assert _prices(live, widget) == before == ("11.00", 12.5)
    live.price_conflict.refresh_from_db()
    assert live.price_conflict.status == "open" and live.price_conflict.chosen_value is None
    assert OutboundChange.objects.count() == writes


def test_taking_the_crms_emptied_price_over_the_erp_that_owns_it_is_refused(client, live, finance_user,
                                                                            django_capture_on_commit_callbacks):
    cable = Record.objects.get(entity_type="price", values__sku="CBL-010")
    edit(live.price.crm_system, "products", external_id(cable, live.price.crm_system), {"price": ""})
    sync(live.price)
    conflict = Conflict.objects.get(record=cable, field="unit_price", status="open")
    assert conflict.crm_value is None and conflict.erp_value == {"amount": "7.25", "currency": "USD"}

    with django_capture_on_commit_callbacks(execute=True):
        response = resolve(client, finance_user, conflict, choice="crm", comment="the rep cleared it")
    assert response.status_code == 400
    message = response.json()["choice"][0]
    assert "would erase" in message and "owns this field" in message
    assert _prices(live, cable)[1] == 7.25  # NetSuite still has its price
    cable.refresh_from_db()
    assert cable.values["unit_price"] == {"amount": "7.25", "currency": "USD"}

    # Taking the owner's value is the way to settle it: the CRM gets the price back.
    with django_capture_on_commit_callbacks(execute=True):
        assert resolve(client, finance_user, conflict, choice="erp", comment="ERP owns prices").status_code == 200
    assert _prices(live, cable) == ("7.25", 7.25)


def test_taking_a_side_is_checked_by_the_fields_rule_like_a_typed_value(rows, revops_user):
    from mapping.models import FieldRule, RuleSetVersion

    version = RuleSetVersion.objects.create(mapping=rows.mapping, number=1)
    FieldRule.objects.create(version=version, field="name", crm_path="name", erp_path="companyName",
                             system_of_record="shared", conflict_policy="manual_review",
                             validation={"max_length": 12})
    RuleSetVersion.objects.filter(pk=version.pk).update(status="published")
    rows.mapping.published_version = version
    rows.mapping.save()
    # "Acme Incorporated" (ERP) is 17 characters: neither system may be given it under this rule.
    with pytest.raises(ValidationError) as refused:
        services.conflict_decide(conflict=rows.name, choice="erp", user=revops_user)
    assert refused.value.message_dict["choice"] == [
        "Demo ERP's value cannot be taken: longer than 12 characters (17)."]
    rows.name.refresh_from_db()
    assert rows.name.status == "open"
