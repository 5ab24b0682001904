"""A dead letter's cause is the system's error with the ids and values taken out: refusals that differ only in the
record or the value are one cause, refusals of different fields or of different kinds are not. The errors are the
sandboxes' own, as the connectors report them."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.sync.dead_letters_causes import cause_of

pytestmark = pytest.mark.django_db


def refusals(emulator, vendor: str, vendor_object: str, records: list[dict]) -> list[str]:
    """What the system answers the hub's writes of `records`: each one's error message."""
    from connectors.sandbox.netsuite import DEMO_TBA

    credentials = dict(DEMO_TBA) if vendor == "netsuite" else {"access_token": "sandbox-token"}
    system = ConnectedSystem.objects.create(slug=vendor, name=vendor, role="erp" if vendor == "netsuite" else "crm",
                                            vendor=vendor, base_url=emulator.url, credentials=credentials)
    with connector_session(system) as connector:
        results = connector.upsert_many(vendor_object, records, None)
    assert not any(result.ok for result in results)
    return [result.error.message for result in results]


def test_hubspot_refusals_of_one_property_are_one_cause_whatever_the_value(emulators):
    hubspot, _ = emulators
    gold, silver, industry = refusals(hubspot, "hubspot", "companies", [
        {"name": "Gold Ltd", "lifecyclestage": "gold"}, {"name": "Silver Ltd", "lifecyclestage": "silver"},
        {"name": "Mining Ltd", "industry": "mining"}])
    assert gold != silver and "gold" in gold and "silver" in silver
    assert cause_of(gold) == cause_of(silver) and "gold" not in cause_of(gold)
    assert "lifecyclestage" in cause_of(gold) and "industry" in cause_of(industry)
    assert cause_of(industry) != cause_of(gold)


def test_netsuite_refusals_of_one_field_are_one_cause_whatever_the_record(emulators):
    _, netsuite = emulators
    first, second, missing = refusals(netsuite, "netsuite", "contact", [
        {"lastName": "Doe", "company": {"id": "9001"}}, {"lastName": "Roe", "company": {"id": "9002"}},
        {"firstName": "Nameless"}])
    assert "9001" in first and "9002" in second and "HTTP 400" in first
    assert cause_of(first) == cause_of(second) and "9001" not in cause_of(first)
    assert "HTTP 400" in cause_of(first)  # the status stays: it says what kind of refusal it is
    assert cause_of(missing) != cause_of(first) and "Last Name" in cause_of(missing)
