"""Sync run pages: the list, one run with live progress, its events and what became of its writes, "Sync now" and
"Replay"."""
from __future__ import annotations

import django_filters
import django_tables2 as tables
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel import roles
from integration_hub.kernel.form_ids import posted_ids
from integration_hub.kernel.tables import BadgeColumn, BaseTable
from integration_hub.kernel.views import RolePermissionMixin
from integration_hub.sync import engine, run_lifecycle, tasks
from integration_hub.sync.models import OutboundStatus, SyncEvent, SyncEventKind, SyncRun, SyncStatus, SyncTrigger
from mapping.models import ObjectMapping


class SyncRunFilterSet(django_filters.FilterSet):
    class Meta:
        model = SyncRun
        fields = ["mapping", "status", "trigger", "mode"]


class SyncRunTable(BaseTable):
    id = tables.Column(linkify=True, verbose_name="Run")
    status = BadgeColumn()
    counts = tables.Column(orderable=False, verbose_name="Counts")

    def render_id(self, value):
        return f"sync-run:{value}"

    def render_counts(self, value, record):
        return ", ".join([f"{k} {v}" for k, v in value.items() if v] + _dead(record)) or "—"

    class Meta(BaseTable.Meta):
        model = SyncRun
        fields = ("id", "mapping", "trigger", "mode", "status", "counts", "created_at", "finished_at")


def _dead(run: SyncRun) -> list[str]:
    return [f"failed writes {run.dead_writes}"] if run.dead_writes else []


class SyncEventTable(BaseTable):
    kind = tables.Column(verbose_name="What")
    record = tables.Column(linkify=True)
    replay = tables.CheckBoxColumn(accessor="pk", orderable=False, verbose_name="")

    class Meta(BaseTable.Meta):
        model = SyncEvent
        fields = ("replay", "kind", "side", "external_id", "record", "field", "message")
        per_page = 100


class SyncRunListView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "hub.view_syncrun"
    queryset = SyncRun.objects.select_related("mapping")
    filterset_class = SyncRunFilterSet
    table_class = SyncRunTable
    template_name = "hub/syncrun_list.html"


UNSENT_SHOWN = 100  # the run page lists this many of a run's writes that did not go (the counts say how many)
UNSENT = (OutboundStatus.FAILED, OutboundStatus.DEAD, OutboundStatus.DISCARDED)


class SyncRunDetailView(RolePermissionMixin, DetailView):
    permission_required = "hub.view_syncrun"
    model = SyncRun
    template_name = "hub/syncrun_detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        events = self.object.events.select_related("record")
        kind = self.request.GET.get("kind")
        if kind in SyncEventKind.values:
            events = events.filter(kind=kind)
        table = SyncEventTable(events)
        table.paginate(page=self.request.GET.get("page", 1), per_page=100)
        ctx.update(events=table, kinds=SyncEventKind.choices, kind=kind,
                   replayable=self.object.events.filter(kind__in=engine.REPLAYABLE, replayed_by__isnull=True).count(),
                   can_run=roles.is_revops(self.request.user),
                   running=self.object.status in (SyncStatus.QUEUED, SyncStatus.RUNNING),
                   writes=run_lifecycle.run_writes(self.object),
                   unsent=self.object.outbound.filter(status__in=UNSENT).select_related("record", "system")
                   .order_by("id")[:UNSENT_SHOWN], unsent_shown=UNSENT_SHOWN)
        ctx["unsent_count"] = sum(w["count"] for w in ctx["writes"] if w["status"] in UNSENT)
        return ctx


class SyncRunProgressView(RolePermissionMixin, View):
    """JSON for the run page's live progress bar."""

    permission_required = "hub.view_syncrun"

    def get(self, request, pk: int):
        run = get_object_or_404(SyncRun, pk=pk)
        return JsonResponse({"status": run.status, "status_label": run.get_status_display(),
                             "processed": run.processed, "counts": run.counts, "dead_writes": run.dead_writes,
                             "writes": {w["status"]: w["count"] for w in run_lifecycle.run_writes(run)},
                             "finished": run.finished_at is not None})


def _require_revops(user) -> None:
    if not roles.is_revops(user):
        raise PermissionDenied("Only RevOps admins start syncs.")


class SyncNowView(RolePermissionMixin, View):
    """Queue a sync of a mapping for a worker and show its run page."""

    permission_required = "hub.add_syncrun"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        _require_revops(request.user)
        mapping = get_object_or_404(ObjectMapping, pk=pk)
        run = engine.sync_run_create(mapping=mapping, trigger=SyncTrigger.MANUAL, user=request.user,
                                     full=request.POST.get("full") == "1",
                                     mode="shadow" if request.POST.get("shadow") == "1" else "live")
        transaction.on_commit(lambda: tasks.sync_mapping.delay(mapping.pk, run_id=run.pk))
        messages.success(request, f"sync-run:{run.pk} queued for {mapping}.")
        return redirect(run)


class ReplayView(RolePermissionMixin, View):
    """Queue a replay of a run's failed records (all, or the ticked ones) for a worker and show its run page,
    as "Sync now" does: re-reading records from the vendors does not belong in a web request."""

    permission_required = "hub.add_syncrun"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        _require_revops(request.user)
        run = get_object_or_404(SyncRun, pk=pk)
        chosen = posted_ids(request.POST.getlist("replay")) or None
        replay = engine.sync_run_replay_create(run=run, user=request.user)
        transaction.on_commit(lambda: tasks.replay_sync_run.delay(replay.pk, run.pk, event_ids=chosen))
        messages.success(request, f"sync-run:{replay.pk} queued: a replay of "
                                  f"{'the ticked' if chosen else 'the'} failed records of sync-run:{run.pk}.")
        return redirect(replay)
