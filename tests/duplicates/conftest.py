"""Fixtures for duplicates: golden records made the way the sync makes them."""
from __future__ import annotations

import pytest

from integration_hub.kernel import audit
from integration_hub.records import services


@pytest.fixture
def make_record(db):
    def make(entity_type: str = "account", system=None, external_id: str | None = None, **values):
        with audit.acting_as("sync-run:1", reason="test data"):
            record = services.record_create(entity_type=entity_type, values=values)
            if system is not None:
                services.record_link(record=record, system=system, external_id=external_id or f"x{record.pk}",
                                     base_snapshot=dict(values))
        return record

    return make
