"""The hub core: golden records and their links to external ids in each system."""
from __future__ import annotations

from django.db import models
from django.urls import reverse

from integration_hub.audit import audited_history


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

    entity_type = models.CharField(max_length=20, choices=EntityType.choices, db_index=True)
    display_name = models.CharField(max_length=255, blank=True, db_index=True)
    # Canonical field name -> value (money as {"amount": "12.50", "currency": "EUR"}).
    values = models.JSONField(default=dict, blank=True)
    # Canonical field name -> {"system", "actor", "sync_run", "rule_version", "at"}.
    provenance = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = audited_history()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["entity_type", "display_name"])]

    def __str__(self) -> str:
        return self.display_name or f"{self.get_entity_type_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("hub:record-detail", args=[self.pk])


class LinkStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived on the remote side"
    DELETED = "deleted", "Deleted on the remote side"


class RecordLink(models.Model):
    """One record's identity in one system, and the values both sides agreed on last."""

    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="links")
    system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.PROTECT, related_name="links")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    external_id = models.CharField(max_length=255)
    # The field values both sides agreed on at the last sync: the "base" of the three-way merge.
    base_snapshot = models.JSONField(default=dict, blank=True)
    # The system's own field values as last read (vendor field paths): what previews and
    # reconciliation compare against. Raw data, so it stays out of the history table.
    remote_values = models.JSONField(default=dict, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=LinkStatus.choices, default=LinkStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history(excluded_fields=["remote_values"])

    class Meta:
        ordering = ["system__role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "entity_type", "external_id"],
                                    name="unique_external_id_per_system_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.system.slug}:{self.entity_type}:{self.external_id}"
