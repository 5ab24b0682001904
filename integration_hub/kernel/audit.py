"""Who did it, and why: the actor behind every history row.

django-simple-history records each save of a governed model. This module adds the actor as
text (a username, or a named system actor such as ``sync-run:42``), a correlation id that
groups everything one request or run changed, and makes history rows append-only.

Workers and commands wrap their writes in ``acting_as("sync-run:42", reason=...)``; web
requests need nothing: the signed-in user is read from the request.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record
from simple_history.utils import get_change_reason_from_object

from integration_hub.kernel.bulk import insert_rows

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class AuditContext:
    """The actor and reason that history rows written now should carry."""

    actor: str = ""
    reason: str = ""
    user: object | None = None
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)


_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


@contextmanager
def acting_as(actor: str, *, reason: str = "", user=None, correlation_id: str | None = None):
    """Attribute every history row written inside the block to ``actor`` with ``reason``."""
    ctx = AuditContext(actor=actor, reason=reason, user=user,
                       correlation_id=correlation_id or uuid.uuid4().hex)
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


def current() -> AuditContext | None:
    return _context.get()


def reason_or(default: str) -> str:
    """The reason of the surrounding ``acting_as`` block, else ``default``."""
    ctx = current()
    return (ctx.reason if ctx and ctx.reason else "") or default


def _request_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def current_actor() -> str:
    """The actor text for a write happening now."""
    ctx = current()
    if ctx and ctx.actor:
        return ctx.actor
    user = (ctx.user if ctx else None) or _request_user()
    return user.get_username() if user else SYSTEM_ACTOR


class HistoryIsAppendOnly(Exception):
    """Raised on any attempt to edit or delete a history row."""


class AuditedHistoricalModel(models.Model):
    """Base of every history table: the actor and correlation id, and no edits or deletes."""

    history_actor = models.CharField(max_length=150, blank=True)  # shown, never searched: no index to keep up
    history_correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise HistoryIsAppendOnly("History rows cannot be changed.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise HistoryIsAppendOnly("History rows cannot be deleted.")


def audited_history(**kwargs) -> HistoricalRecords:
    """The HistoricalRecords every governed model uses."""
    return HistoricalRecords(bases=[AuditedHistoricalModel], **kwargs)


def _stamp_history_row(sender, history_instance, **kwargs) -> None:
    ctx = current()
    user = (ctx.user if ctx else None) or _request_user()
    if user is not None and not getattr(history_instance, "history_user_id", None):
        history_instance.history_user = user
    history_instance.history_actor = current_actor()[:150]
    if ctx:
        history_instance.history_correlation_id = ctx.correlation_id
        if ctx.reason and not history_instance.history_change_reason:
            history_instance.history_change_reason = ctx.reason
    else:
        request = getattr(HistoricalRecords.context, "request", None)
        history_instance.history_correlation_id = getattr(request, "correlation_id", "")


def connect_signals() -> None:
    pre_create_historical_record.connect(_stamp_history_row, dispatch_uid="hub-audit-stamp")


def bulk_history(model: type[models.Model], instances, *, update: bool, reason: str = "") -> None:
    """History rows for a bulk create or update, stamped exactly as a single save would be (actor,
    user, reason, correlation id): speed never costs the audit."""
    if not instances:
        return
    ctx = current()
    user = (ctx.user if ctx else None) or _request_user()
    actor, correlation = current_actor()[:150], (ctx.correlation_id if ctx else "")
    default_reason = reason or (ctx.reason if ctx else "")
    history_model = model.history.model
    tracked = [field.attname for field in history_model.tracked_fields]
    user_id = user.pk if user is not None else None
    now = timezone.now()
    kind = "~" if update else "+"
    # Value tuples, not history model instances: a model instance per row cost more than the insert itself.
    names = ["history_date", "history_user_id", "history_type", "history_change_reason", "history_actor",
             "history_correlation_id", *tracked]
    rows = [(now, user_id, kind, get_change_reason_from_object(instance) or default_reason, actor, correlation,
             *[getattr(instance, name) for name in tracked]) for instance in instances]
    insert_rows(history_model, names, rows)
