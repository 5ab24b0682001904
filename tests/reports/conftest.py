"""Fixtures for reconciliation reports: the synced sandboxes the health tests use too."""
from tests.health.conftest import synced  # noqa: F401 (the fixture)
