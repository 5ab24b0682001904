"""Connected systems: the CRMs and ERPs the hub talks to."""
from __future__ import annotations

from django.db import models
from django.urls import reverse

from integration_hub.audit import audited_history
from integration_hub.crypto import EncryptedJSONField


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
        return reverse("hub:system-detail", args=[self.slug])

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)

    @property
    def allows_writes(self) -> bool:
        """Whether a write may actually be sent (shadow mode stores it instead)."""
        return self.rollout_stage in (RolloutStage.ONE_WAY, RolloutStage.TWO_WAY)
