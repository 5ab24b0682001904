"""Connected systems: the CRMs and ERPs the hub talks to."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from connectors import hosts, registry
from connectors.base import ConnectorError, RateLimit
from integration_hub.kernel.audit import audited_history
from integration_hub.kernel.crypto import EncryptedJSONField


class SystemRole(models.TextChoices):
    CRM = "crm", "CRM"
    ERP = "erp", "ERP"


class Vendor(models.TextChoices):
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    NETSUITE = "netsuite", "NetSuite"
    SAP_B1 = "sap_b1", "SAP Business One"
    ODOO = "odoo", "Odoo"
    DYNAMICS_BC = "dynamics_bc", "Dynamics 365 Business Central"


class RolloutStage(models.TextChoices):
    """How far writes to a system may go; no write escapes its stage."""

    READ_ONLY = "read_only", "Read only"
    SHADOW = "shadow", "Shadow (writes stored, never sent)"
    ONE_WAY = "one_way", "One way (hub writes, no conflicts back)"
    TWO_WAY = "two_way", "Two way"


class AuthStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


def validate_rate_limit(value: str) -> None:
    if value and value != "off":
        try:
            limit = RateLimit.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if limit.requests < 1 or limit.per_seconds <= 0:
            raise ValidationError("A rate limit needs at least 1 request per a positive number of seconds.")


class ConnectedSystem(models.Model):
    """A CRM or ERP account the hub syncs, with its credentials encrypted at rest."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=3, choices=SystemRole.choices)
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    base_url = models.URLField(max_length=300, help_text="The vendor API's base URL (or a sandbox emulator's).")
    credentials = EncryptedJSONField(blank=True, default=dict,
                                     help_text="Tokens and keys; encrypted at rest, never shown after saving.")
    rollout_stage = models.CharField(max_length=10, choices=RolloutStage.choices, default=RolloutStage.READ_ONLY)
    rate_limit = models.CharField(
        max_length=20, blank=True, validators=[validate_rate_limit],
        help_text='Client-side limit as "requests/seconds", e.g. 190/10 for HubSpot; '
                  'blank = the vendor default; "off" = none.')
    is_active = models.BooleanField(default=True)
    auth_status = models.CharField(max_length=10, choices=AuthStatus.choices, default=AuthStatus.UNKNOWN)
    auth_message = models.CharField(max_length=500, blank=True)
    auth_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The secret never enters the history table.
    history = audited_history(excluded_fields=["credentials"])

    class Meta:
        ordering = ["role", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    def get_absolute_url(self) -> str:
        return reverse("systems:detail", args=[self.slug])

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)

    def clean(self) -> None:
        if not (self.base_url and self.vendor):
            return
        try:
            vendor_hosts = registry.connector_class(self.vendor).vendor_hosts
        except ConnectorError:  # a vendor without a connector yet: only the operator's hosts
            vendor_hosts = ()
        problem = hosts.refusal(self.base_url, self.get_vendor_display(), vendor_hosts,
                                hosts.operator_allowed_hosts())
        if problem:
            raise ValidationError({"base_url": problem[:1].upper() + problem[1:] + "."})


class WebhookDelivery(models.Model):
    """A verified webhook call, kept until the sync engine has acted on it (nothing lost)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    system = models.ForeignKey(ConnectedSystem, on_delete=models.PROTECT, related_name="webhook_deliveries")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    payload = models.JSONField()
    event_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    last_error = models.TextField(blank=True)
    # What makes a redelivery the same delivery: the vendor's event ids, else a digest of the body (cleared once
    # the signature window has passed, so the same body sent again later is a new delivery).
    dedupe_key = models.CharField(max_length=80, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["system", "dedupe_key"], name="webhook_delivery_once")]

    def __str__(self) -> str:
        return f"{self.system.slug} webhook {self.received_at:%Y-%m-%d %H:%M:%S} ({self.event_count} events)"
