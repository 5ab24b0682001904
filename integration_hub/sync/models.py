"""The sync's bookkeeping: runs, their events, per-mapping cursors and the outbox of writes to send.

These models keep the app label ("hub") and tables they were created with, so an existing database upgrades in
place; their migrations are in integration_hub/records/migrations.
"""
from __future__ import annotations

from django.db import models
from django.urls import reverse

from integration_hub.kernel.fields import JSONField
from integration_hub.records.models import Record, RecordLink


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    MANUAL = "manual", "Manual"
    REPLAY = "replay", "Replay"
    DECISION = "decision", "Conflict decision"
    CHAIN = "chain", "A won deal's customer, first"


class SyncMode(models.TextChoices):
    LIVE = "live", "Live"
    SHADOW = "shadow", "Shadow (nothing sent)"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    # Read and merged everything, but the outbox gave up on some of its writes (dead letters): never "succeeded".
    WRITES_FAILED = "writes_failed", "Completed with failed writes"
    FAILED = "failed", "Failed"
    COALESCED = "coalesced", "Joined a run already in progress"


SYNC_COUNTS = ("read", "created", "linked", "updated", "unchanged", "conflicts", "blocked", "held", "failed",
               "unlinked", "written")


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(SYNC_COUNTS, 0)


class SyncRun(models.Model):
    """One sync of a mapping: what triggered it, which rules it used, how far it got, what happened."""

    mapping = models.ForeignKey("mapping.ObjectMapping", on_delete=models.PROTECT, related_name="sync_runs")
    rule_version = models.ForeignKey("mapping.RuleSetVersion", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="sync_runs")
    trigger = models.CharField(max_length=10, choices=SyncTrigger.choices)
    mode = models.CharField(max_length=10, choices=SyncMode.choices, default=SyncMode.LIVE)
    full = models.BooleanField(default=False, help_text="Read everything, not only changes since the cursor.")
    status = models.CharField(max_length=24, choices=SyncStatus.choices, default=SyncStatus.QUEUED, db_index=True)
    cursor_before = JSONField(default=dict, blank=True)
    cursor_after = JSONField(default=dict, blank=True)
    counts = JSONField(default=empty_counts)
    processed = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The Celery task that runs it: a task redelivered after its worker died finds its own run again.
    task_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Who executes it now (a task id, or a process's token) and when it last showed it is alive: a run whose
    # heartbeat stopped is resumed by the stale-run sweep, which hands it to a new owner; the old one, should it
    # still be alive, finds it is no longer the owner at its next page and stops.
    owner = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveSmallIntegerField(default=0, help_text="Times the stale-run sweep resumed it.")
    # Re-reads records it was given (a webhook, a replay, a decision): not resumable as an incremental sync.
    targeted = models.BooleanField(default=False)
    # Its writes the outbox gave up on (dead letters), counted by the dispatcher, possibly after the run ended.
    dead_writes = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "hub"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sync-run:{self.pk} {self.mapping} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("sync:run-detail", args=[self.pk])

    @property
    def actor(self) -> str:
        return f"sync-run:{self.pk}"


class SyncEventKind(models.TextChoices):
    CREATED = "created", "Created"
    LINKED = "linked", "Linked by duplicate score"
    UPDATED = "updated", "Updated"
    CONFLICT = "conflict", "Conflict opened"
    DECIDED = "decided", "Both changed: decided by policy"
    BLOCKED_EDIT = "blocked_edit", "Blocked edit"
    FAILED = "failed", "Failed"
    HELD = "held", "Field held"  # one value failed its rule: the rest of the record flowed
    UNLINKED = "unlinked", "Held: not linked"
    WRITE_FAILED = "write_failed", "Write failed"


class SyncEvent(models.Model):
    """Something that happened to one record in a run, worth showing (unchanged records leave no event)."""

    # Found by run through the (run, kind) index.
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="events", db_index=False)
    record = models.ForeignKey(Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_events")
    side = models.CharField(max_length=3, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=15, choices=SyncEventKind.choices)
    field = models.CharField(max_length=80, blank=True)
    message = models.TextField(blank=True)
    data = JSONField(default=dict, blank=True)
    replayed_by = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "hub"
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "kind"]), models.Index(fields=["kind"], name="sync_events_by_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.side}:{self.external_id} {self.field}".strip()


class SyncCursor(models.Model):
    """Where the next incremental pull of a mapping's side starts (the vendor's modification time)."""

    mapping = models.ForeignKey("mapping.ObjectMapping", on_delete=models.CASCADE, related_name="cursors")
    side = models.CharField(max_length=3)
    cursor = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "hub"
        constraints = [models.UniqueConstraint(fields=["mapping", "side"], name="one_cursor_per_side")]

    def __str__(self) -> str:
        return f"{self.mapping} {self.side}: {self.cursor or 'start'}"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead letter"
    # A dead letter a person chose not to send (with the reason, in the record's history): kept, never sent.
    DISCARDED = "discarded", "Discarded"
    SHADOW = "shadow", "Shadow (stored, never sent)"


class OutboundOperation(models.TextChoices):
    UPSERT = "upsert", "Create or update"
    MERGE = "merge", "Merge (the vendor's merge call: absorbed id in the payload, survivor the link)"


class OutboundChange(models.Model):
    """One intended write to one system: the outbox. Committed with the golden-record change it follows."""

    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound")
    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="outbound")
    system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.PROTECT, related_name="outbound",
                               db_index=False)  # found through the outbox_due index
    link = models.ForeignKey(RecordLink, null=True, blank=True, on_delete=models.PROTECT, related_name="outbound",
                             help_text="Empty for a create: the link is made when the system answers.")
    side = models.CharField(max_length=3)
    vendor_object = models.CharField(max_length=100)
    operation = models.CharField(max_length=6, choices=OutboundOperation.choices, default=OutboundOperation.UPSERT)
    values = JSONField(help_text="Canonical field -> value this change writes (the base after success).")
    payload = JSONField(help_text="The vendor fields sent.")
    idempotency_key = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "hub"
        ordering = ["id"]
        # A constraint, not unique=True: the key is looked up whole, never by prefix (no pattern index needed).
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="one_outbound_change_per_key")]
        # The dispatcher's look-ups: only rows still to send are in it (sent ones, the vast majority, are not).
        indexes = [models.Index(fields=["system", "id"], name="outbox_due",
                                condition=models.Q(status__in=["pending", "failed", "sending"])),
                   models.Index(fields=["status"], name="outbox_by_status")]

    def __str__(self) -> str:
        return f"{self.system.slug} {self.vendor_object} record {self.record_id} ({self.get_status_display()})"


class HeldField(models.Model):
    """One field of one vendor record whose value failed its rule: it waits here while the rest of the record
    flows (the other system's value is left as it is). One row per mapping, side, record and field: cleared when
    the source is fixed or the rule changes, opened again (first seen anew) when the field fails again."""

    mapping = models.ForeignKey("mapping.ObjectMapping", on_delete=models.CASCADE, related_name="held_fields")
    side = models.CharField(max_length=3)
    system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=255)
    record = models.ForeignKey(Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="held_fields",
                               help_text="Empty while the vendor record has no golden record yet.")
    field = models.CharField(max_length=80)
    # "held": the value waits, nothing is written over it; "flagged": it flowed as typed (a phone that is no E.164
    # number, which the other system takes as text) and wants a look.
    kind = models.CharField(max_length=7, choices=[("held", "Held"), ("flagged", "Flowed as typed, flagged")],
                            default="held")
    value = JSONField(null=True, blank=True, help_text="The vendor's value as read (left out for sensitive fields).")
    reason = models.TextField()
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="The run that last found it.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cleared_because = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "hub"
        ordering = ["-last_seen_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["mapping", "side", "external_id", "field"],
                                               name="one_held_field_per_vendor_field")]

    def __str__(self) -> str:
        return f"{self.system} {self.external_id} {self.field}: {self.reason}"

    @property
    def is_held(self) -> bool:
        return self.cleared_at is None
