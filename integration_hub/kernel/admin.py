"""What every app's admin shares: read-only history and the guarded JSON form field."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from integration_hub.kernel import json_guard

# JSON typed into an admin form goes through the one guard (depth, NUL characters, size).
JSON_FORMFIELD_OVERRIDES = {models.JSONField: {"form_class": json_guard.GuardedJSONFormField}}


class ReadOnlyHistory:
    """No old version can be reopened and saved."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history's version form would save an old version over the live one (even with its "revert"
        # button hidden), bypassing the services that record provenance. The list view shows the history.
        raise PermissionDenied("History is read-only; see the record page's timeline.")


class AuditedModelAdmin(ReadOnlyHistory, SimpleHistoryAdmin):
    """Admin for governed models: the history list is shown; no old version can be reopened and saved."""

    formfield_overrides = JSON_FORMFIELD_OVERRIDES
