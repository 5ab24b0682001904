"""Duplicate candidates with their evidence, "not a duplicate" memory, merges with their effects and undo,
and the blocking index the sync's match step looks records up in."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from integration_hub.kernel.audit import audited_history
from integration_hub.records.models import EntityType


class CandidateStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Not a duplicate"
    STALE = "stale", "No longer found"


class CandidateKind(models.TextChoices):
    WITHIN = "within", "Within one system"
    ACROSS = "across", "Across systems"
    HUB = "hub", "Not linked yet"
    INCOMING = "incoming", "Held by the sync"


class CandidateSource(models.TextChoices):
    SCAN = "scan", "Full scan"
    SYNC = "sync", "Sync match step"


class DuplicateCandidate(models.Model):
    """A cluster of two or more golden records (or a record the sync holds and the records it may be) that
    look like one real-world thing, with the evidence per pair; open until a person merges or dismisses it."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices, db_index=True)
    status = models.CharField(max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.OPEN,
                              db_index=True)
    kind = models.CharField(max_length=10, choices=CandidateKind.choices, default=CandidateKind.HUB)
    source = models.CharField(max_length=5, choices=CandidateSource.choices, default=CandidateSource.SCAN)
    score = models.FloatField(db_index=True, help_text="The best pair's score, 0..1.")
    records = models.ManyToManyField("hub.Record", related_name="duplicate_candidates")
    # The member ids ("12,40,41"), or "in:<system>:<external id>" for a record the sync holds: a rescan
    # that finds the same cluster updates it instead of proposing it again.
    fingerprint = models.CharField(max_length=300, db_index=True)
    # A record the sync held instead of creating (source "sync"): what it said, to link or create it later.
    incoming_system = models.ForeignKey("connectors.ConnectedSystem", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    incoming_external_id = models.CharField(max_length=255, blank=True)
    incoming_values = models.JSONField(default=dict, blank=True)
    incoming_remote = models.JSONField(default=dict, blank=True)
    incoming_updated_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True, help_text="Skipped in the queue: shown after the rest.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["entity_type", "fingerprint"],
                                               condition=models.Q(status="open"), name="one_open_candidate")]
        indexes = [models.Index(fields=["status", "entity_type", "-score"])]
        permissions = [("merge_duplicates", "Can merge, dismiss and undo duplicates")]

    def __str__(self) -> str:
        return f"Duplicate {self.get_entity_type_display().lower()} #{self.pk} ({self.score:.2f})"

    def get_absolute_url(self) -> str:
        return reverse("duplicates:detail", args=[self.pk])

    @property
    def is_incoming(self) -> bool:
        return self.incoming_system_id is not None


class DuplicatePair(models.Model):
    """Two records of a candidate and why they look alike: each feature's values, similarity, points.
    ``left`` is empty for the record the sync holds (the candidate's incoming record)."""

    candidate = models.ForeignKey(DuplicateCandidate, on_delete=models.CASCADE, related_name="pairs")
    left = models.ForeignKey("hub.Record", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey("hub.Record", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    evidence = models.JSONField(default=list)

    class Meta:
        ordering = ["-score", "id"]

    def __str__(self) -> str:
        return f"{self.left_id or 'incoming'} ~ {self.right_id} ({self.score:.2f})"


class NotDuplicate(models.Model):
    """A person said these two records are different things: never proposed together again."""

    low = models.ForeignKey("hub.Record", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("hub.Record", on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    candidate = models.ForeignKey(DuplicateCandidate, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["low", "high"], name="one_not_duplicate_per_pair")]

    def __str__(self) -> str:
        return f"record {self.low_id} is not record {self.high_id}"


class MergeStatus(models.TextChoices):
    DONE = "done", "Merged"
    UNDONE = "undone", "Undone"


class Merge(models.Model):
    """One merge: the survivor, the absorbed records, each field's choice, what was before (for undo), and
    its effects on each system."""

    candidate = models.ForeignKey(DuplicateCandidate, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="merges")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    survivor = models.ForeignKey("hub.Record", on_delete=models.PROTECT, related_name="merges_survived")
    absorbed = models.ManyToManyField("hub.Record", related_name="merges_absorbed")
    # field -> {"record": id | None, "value": ..., "reason": "..."}
    choices = models.JSONField(default=dict)
    # What undo restores: survivor values, moved links, child references (see services.merge_records).
    before = models.JSONField(default=dict)
    status = models.CharField(max_length=6, choices=MergeStatus.choices, default=MergeStatus.DONE, db_index=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    undo_until = models.DateTimeField()
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_report = models.JSONField(default=list, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Merge #{self.pk} into record {self.survivor_id} ({self.get_status_display()})"


class EffectKind(models.TextChoices):
    VENDOR_MERGE = "vendor_merge", "Merged by the vendor"
    DEACTIVATE = "deactivate", "Marked inactive, pointing at the survivor"
    UPDATE = "update", "Values written"
    REACTIVATE = "reactivate", "Marked active again (undo)"
    MANUAL = "manual", "Needs a person in the system"


class EffectStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead letter"
    SHADOW = "shadow", "Shadow (stored, never sent)"
    SKIPPED = "skipped", "Not sent (rollout stage)"
    CANCELLED = "cancelled", "Cancelled by undo"
    NOT_REVERSIBLE = "irreversible", "Cannot be undone by the vendor"


class MergeEffect(models.Model):
    """One effect of a merge (or of its undo) on one system. Writes and vendor merge calls go through the hub's
    outbox (``outbound``, whose status is the effect's); ``attempts`` to ``sent_at`` are kept for vendor merges
    sent before they did."""

    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="effects")
    system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=EffectKind.choices)
    undo = models.BooleanField(default=False, help_text="Part of the undo, not of the merge.")
    vendor_object = models.CharField(max_length=100)
    record = models.ForeignKey("hub.Record", on_delete=models.PROTECT, related_name="+")
    survivor_external_id = models.CharField(max_length=255, blank=True)
    absorbed_external_id = models.CharField(max_length=255, blank=True)
    outbound = models.ForeignKey("hub.OutboundChange", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    status = models.CharField(max_length=12, choices=EffectStatus.choices, default=EffectStatus.PENDING,
                              db_index=True)
    message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in {self.system.slug} ({self.get_status_display()})"


class BlockingKey(models.Model):
    """One blocking key of a golden record: the sync's match step finds candidates through this index."""

    record = models.ForeignKey("hub.Record", on_delete=models.CASCADE, related_name="+",
                               db_index=False)  # the unique (record, key) constraint indexes it
    entity_type = models.CharField(max_length=20)
    key = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "key"], name="one_key_per_record")]
        indexes = [models.Index(fields=["entity_type", "key"])]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.key} -> {self.record_id}"


class ReadinessStatus(models.TextChoices):
    BUILDING = "building", "Being built"
    DONE = "done", "Built"
    FAILED = "failed", "Failed"


class ReadinessReport(models.Model):
    """A readiness report of a mapping (JSON, as shown and exported), built by a worker: reading both systems
    whole takes far longer than a web request may."""

    mapping = models.ForeignKey("mapping.ObjectMapping", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=ReadinessStatus.choices, default=ReadinessStatus.DONE)
    error = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Readiness of mapping {self.mapping_id} at {self.created_at:%Y-%m-%d %H:%M}"
