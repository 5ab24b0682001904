"""A merge's vendor call is an outbox row like every other write: sent by the one dispatcher with its claim,
backoff and dead letters; a database from before, with vendor merges still to send and their own schedule,
moves them into the outbox."""
from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from connectors.base import ConnectorError
from connectors.hubspot.connector import HubSpotConnector
from integration_hub.records.models import RecordLink
from integration_hub.sync import outbox
from integration_hub.sync.models import OutboundChange, OutboundOperation, OutboundStatus
from reconciliation.duplicates.merge import merge_records
from reconciliation.duplicates.merge_undo import merge_undo
from reconciliation.duplicates.models import EffectKind, EffectStatus, MergeEffect
from reconciliation.duplicates.pushes import effect_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged(published, revops_user, make_record):
    """Two accounts linked in HubSpot merged: HubSpot's merge call queued in the outbox."""
    crm = published["account"].crm_system
    crm.rollout_stage = "two_way"
    crm.save()
    survivor = make_record(name="Acme", system=crm, external_id="101")
    absorbed = make_record(name="Acme Inc", system=crm, external_id="102")
    merge = merge_records(survivor=survivor, absorbed=[absorbed], user=revops_user)
    return crm, merge, merge.effects.get(kind=EffectKind.VENDOR_MERGE)


def test_a_vendor_merge_is_an_outbox_row_on_the_survivors_link(merged):
    crm, _, effect = merged
    row = effect.outbound
    assert row.operation == OutboundOperation.MERGE and row.status == OutboundStatus.PENDING
    assert row.link == RecordLink.objects.get(system=crm, external_id="101")
    assert row.payload == {"absorbed_id": "102"} and row.values == {}


def test_a_failed_vendor_merge_waits_with_the_outboxs_backoff_and_is_a_dead_letter_after_its_attempts(
        merged, monkeypatch):
    crm, _, effect = merged
    calls = []

    def refuse(self, object, survivor_id, absorbed_id):
        calls.append((object, survivor_id, absorbed_id))
        raise ConnectorError("HubSpot is busy", kind="server", permanent=False)

    monkeypatch.setattr(HubSpotConnector, "merge", refuse)
    before = timezone.now()
    assert outbox.dispatch_system(system=crm).retrying == 1
    row = OutboundChange.objects.get(pk=effect.outbound_id)
    assert calls == [(effect.vendor_object, "101", "102")]
    # The outbox's backoff (15 s after the first attempt), not the old merge effects' own (30 s).
    assert row.status == OutboundStatus.FAILED and row.attempts == 1 and row.last_error == "HubSpot is busy"
    assert timedelta(seconds=14) <= row.next_attempt_at - before <= timedelta(seconds=16)

    OutboundChange.objects.filter(pk=row.pk).update(attempts=outbox.MAX_ATTEMPTS - 1, next_attempt_at=before)
    assert outbox.dispatch_system(system=crm).dead == 1
    effect.refresh_from_db()
    assert effect_status(effect) == OutboundStatus.DEAD


def test_undo_reads_the_outbox_row_a_sent_merge_cannot_be_undone(merged, revops_user, monkeypatch):
    crm, merge, effect = merged
    monkeypatch.setattr(HubSpotConnector, "merge", lambda self, object, survivor_id, absorbed_id: None)
    assert outbox.dispatch_system(system=crm).sent == 1
    merge = merge_undo(merge=merge, user=revops_user)
    assert RecordLink.objects.get(system=crm, external_id="102").status == "archived"
    assert merge.effects.filter(undo=True, status=EffectStatus.NOT_REVERSIBLE).exists()


def test_undo_cancels_a_vendor_merge_not_sent_yet(merged, revops_user):
    crm, merge, effect = merged
    merge = merge_undo(merge=merge, user=revops_user)
    effect.refresh_from_db()
    assert effect.status == EffectStatus.CANCELLED and effect.outbound.status == OutboundStatus.DEAD
    assert RecordLink.objects.get(system=crm, external_id="102").status == "active"


def test_the_migration_moves_unsent_vendor_merges_into_the_outbox_and_drops_their_schedule(merged):
    crm, merge, effect = merged
    OutboundChange.objects.filter(pk=effect.outbound_id).delete()  # as a merge made before the one outbox left it
    retry_at = timezone.now() + timedelta(minutes=2)
    MergeEffect.objects.filter(pk=effect.pk).update(outbound=None, status=EffectStatus.FAILED, attempts=3,
                                                    last_error="busy", next_attempt_at=retry_at)
    sent = MergeEffect.objects.create(merge=merge, system=crm, kind=EffectKind.VENDOR_MERGE, record=merge.survivor,
                                      vendor_object=effect.vendor_object, survivor_external_id="101",
                                      absorbed_external_id="103", status=EffectStatus.SENT)
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="duplicate merge effects", interval=every_minute,
                                task="reconciliation.duplicates.tasks.dispatch_merge_effects")

    migration = importlib.import_module("reconciliation.duplicates.migrations.0004_vendor_merges_in_the_outbox")
    migration.vendor_merges_into_the_outbox(apps, None)

    effect.refresh_from_db()
    row = effect.outbound
    assert row.operation == OutboundOperation.MERGE and row.payload == {"absorbed_id": "102"}
    assert row.link.external_id == "101" and row.status == OutboundStatus.FAILED
    assert (row.attempts, row.last_error, row.next_attempt_at) == (3, "busy", retry_at)
    assert effect_status(effect) == OutboundStatus.FAILED
    sent.refresh_from_db()
    assert sent.outbound_id is None and sent.status == EffectStatus.SENT  # sent already: nothing to send
    assert not PeriodicTask.objects.filter(task="reconciliation.duplicates.tasks.dispatch_merge_effects").exists()
