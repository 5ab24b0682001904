"""The sync asks reconciliation through ports it defines; reconciliation's apps answer them from their ready()."""
from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from integration_hub.sync import engine, ports
from integration_hub.sync.models import SyncStatus
from reconciliation.conflicts.sync_queue import ConflictQueue
from reconciliation.duplicates.sync_screen import DuplicateScreen


def test_reconciliation_answers_both_ports():
    answers = ports.required()
    assert isinstance(answers.conflicts, ConflictQueue) and isinstance(answers.duplicates, DuplicateScreen)
    assert ports.registration_check() == []


@pytest.mark.django_db
def test_without_them_the_start_up_check_says_so_and_no_run_starts(published, monkeypatch):
    monkeypatch.setattr(ports, "_registered", {"duplicate screen": DuplicateScreen()})
    [error] = ports.registration_check()
    assert error.id == "sync.E001" and "no conflict queue" in error.msg
    run = engine.sync_run_create(mapping=published["item"])
    with pytest.raises(ImproperlyConfigured, match="no conflict queue"):
        engine.sync_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == SyncStatus.QUEUED  # left for a process that can sync it
