"""The hub core: golden records and their links to external ids in each system."""
from __future__ import annotations

from django.db import models
from django.urls import reverse

from integration_hub.kernel.audit import audited_history
from integration_hub.kernel.fields import JSONField


class EntityType(models.TextChoices):
    ACCOUNT = "account", "Account"
    CONTACT = "contact", "Contact"
    ITEM = "item", "Item"
    PRICE = "price", "Price"
    QUOTE = "quote", "Quote"
    DEAL = "deal", "Deal"
    SALES_ORDER = "sales_order", "Sales order"
    INVOICE = "invoice", "Invoice"


class Record(models.Model):
    """The golden record of one real-world thing, with where each field's value came from."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    display_name = models.CharField(max_length=255, blank=True)
    # Canonical field name -> value (money as {"amount": "12.50", "currency": "EUR"}).
    values = JSONField(default=dict, blank=True)
    # Canonical field name -> {"system", "actor", "sync_run", "rule_version", "at"}.
    provenance = JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    # History is read per record (by id, in date order), never searched by these.
    history = audited_history(no_db_index=["entity_type", "display_name", "updated_at"])

    class Meta:
        ordering = ["-updated_at", "-id"]
        # Each index costs every write: a sync writes many records a second. Lists filter by entity type
        # and sort by name or date; a substring search of names cannot use an index.
        indexes = [models.Index(fields=["entity_type", "display_name"]),
                   models.Index(fields=["display_name"], name="record_by_name")]

    def __str__(self) -> str:
        return self.display_name or f"{self.get_entity_type_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("records:detail", args=[self.pk])


class LinkStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived on the remote side"
    DELETED = "deleted", "Deleted on the remote side"


class RecordLink(models.Model):
    """One record's identity in one system, and the values both sides agreed on last."""

    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="links")
    # Found by system through the unique constraint below (system first), which needs no index of its own.
    system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.PROTECT, related_name="links",
                               db_index=False)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    external_id = models.CharField(max_length=255)
    # The field values both sides agreed on at the last sync: the "base" of the three-way merge.
    base_snapshot = JSONField(default=dict, blank=True)
    # The system's own field values as last read (vendor field paths): what previews and
    # reconciliation compare against. Raw data, so it stays out of the history table.
    remote_values = JSONField(default=dict, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=LinkStatus.choices, default=LinkStatus.ACTIVE)
    # Set when a pull stores new remote values, cleared when the record is merged: a run that dies
    # between the two leaves the flag, and the next run (or the same one, redelivered) merges it.
    needs_merge = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history(excluded_fields=["remote_values", "needs_merge"], no_db_index=["system"])

    class Meta:
        ordering = ["system__role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "entity_type", "external_id"],
                                    name="unique_external_id_per_system_entity"),
        ]
        # The merge finds flagged links in record order; only flagged ones are in the index.
        indexes = [models.Index(fields=["entity_type", "record"], condition=models.Q(needs_merge=True),
                                name="links_to_merge")]

    def __str__(self) -> str:
        return f"{self.system.slug}:{self.entity_type}:{self.external_id}"


class MatchKey(models.Model):
    """An index of golden records by the mappings' match keys ("email", "name+shipping_postcode"), so an
    unlinked record finds its golden record with an index lookup, never a scan of every record's values.

    `digest` is a hash of the key's exact values (the same equality the match has always used). Kept by
    integration_hub.records.matching whenever records are written; rebuilt for an entity when its keys change."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="match_keys",
                               db_index=False)  # the unique (record, key) constraint indexes it
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    key = models.CharField(max_length=200)
    digest = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["entity_type", "key", "digest"])]
        constraints = [models.UniqueConstraint(fields=["record", "key"], name="one_match_key_per_record_and_key")]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.key} → record {self.record_id}"
