"""The data-quality pages: held fields (filters, causes, CSV) and their replay, confirmed first."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from urllib.parse import urlencode

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from connectors.models import ConnectedSystem
from integration_hub.kernel import roles
from integration_hub.kernel.form_ids import posted_ids
from integration_hub.kernel.views import RolePermissionMixin
from integration_hub.records.models import EntityType
from integration_hub.records.selectors import hidden_fields_for
from integration_hub.sync.held_filters import HeldFieldFilterSet
from integration_hub.sync.held_replay import REPLAY_MAX_RECORDS, held_fields_replay, replay_plan, still_held
from integration_hub.sync.held_selectors import cause_of, held_causes, held_fields_for_list, masked
from integration_hub.sync.held_tables import HeldFieldTable
from mapping.models import ObjectMapping

VIEW = "hub.view_heldfield"
REPLAY = "hub.add_syncrun"  # replaying starts syncs; the role is checked again by the service
LIST_PARAMS_DROPPED = ("page", "sort")
CSV_ROWS_PER_CHUNK = 1000  # rows sent together: a response chunk per row costs more than the row
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def list_query(params, **override) -> str:
    """The list's filter as a query string (without page and sort), with some filters replaced."""
    kept = {k: v for k, v in params.items() if k not in LIST_PARAMS_DROPPED and k not in override and v}
    return urlencode({**kept, **{k: v for k, v in override.items() if v}})


def filtered(params) -> HeldFieldFilterSet:
    return HeldFieldFilterSet(params, queryset=held_fields_for_list())


class HeldFieldListView(RolePermissionMixin, SingleTableMixin, FilterView):
    """Held fields, newest first, with their causes: each cause a link to the list filtered by it."""

    permission_required = VIEW
    queryset = held_fields_for_list()
    filterset_class = HeldFieldFilterSet
    table_class = HeldFieldTable
    template_name = "hub/heldfield_list.html"

    def get_table_kwargs(self):
        can_replay = roles.is_revops(self.request.user)
        return {"user": self.request.user, **({} if can_replay else {"exclude": ("select",)})}

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        causes = held_causes(self.filterset.qs) if self.filterset.is_valid() else []
        ctx.update(causes=[(c, list_query(params, field=c.field, cause=c.cause)) for c in causes],
                   query=list_query(params), can_replay=roles.is_revops(self.request.user),
                   filtered=any(v for k, v in params.items() if k not in LIST_PARAMS_DROPPED))
        return ctx


class HeldFieldExportView(RolePermissionMixin, View):
    """The filtered list as CSV, streamed a chunk of rows at a time (plain tuples: no model per row)."""

    permission_required = VIEW
    HEADER = ["status", "system", "mapping", "side", "vendor id", "record id", "record", "field", "value as read",
              "reason", "cause", "first seen", "last seen", "sync run", "cleared at", "cleared because"]
    COLUMNS = ("cleared_at", "system_id", "mapping_id", "side", "external_id", "record_id", "record__display_name",
               "record__entity_type", "field", "value", "reason", "first_seen_at", "last_seen_at", "run_id",
               "cleared_because")

    def get(self, request):
        rows = filtered(request.GET).qs.order_by("-last_seen_at", "-id").values_list(*self.COLUMNS)
        response = StreamingHttpResponse(self.lines(rows, request.user), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="held-fields.csv"'
        return response

    def lines(self, rows, user) -> Iterator[str]:
        writer = csv.writer(_Echo())
        systems = dict(ConnectedSystem.objects.values_list("pk", "name"))
        mappings = {m.pk: (str(m), hidden_fields_for(user, m.entity_type)) for m in ObjectMapping.objects.all()}
        yield writer.writerow(self.HEADER)
        chunk = []
        for (cleared_at, system_id, mapping_id, side, external_id, record_id, record_name, entity, field, value,
             reason, first_seen, last_seen, run_id, cleared_because) in rows.iterator(chunk_size=2000):
            mapping, hidden = mappings[mapping_id]
            value, reason = masked(field, value, reason, hidden)
            if record_id and not record_name:
                record_name = f"{EntityType(entity).label if entity in EntityType.values else entity} #{record_id}"
            text = "" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            chunk.append(writer.writerow((
                "held" if cleared_at is None else "cleared", systems.get(system_id, ""), mapping, side,
                _cell(external_id), record_id or "", _cell(record_name or ""), _cell(field), _cell(text),
                _cell(reason), _cell(f"{field}: {cause_of(reason)}"), first_seen.isoformat(), last_seen.isoformat(),
                run_id or "", cleared_at.isoformat() if cleared_at else "", _cell(cleared_because))))
            if len(chunk) == CSV_ROWS_PER_CHUNK:
                yield "".join(chunk)
                chunk = []
        yield "".join(chunk)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text: vendor values are anyone's input, and "=..." would be run as a
    formula."""
    return f"'{text}" if text[:1] in FORMULA_STARTS else text


def _selection(request) -> HeldFieldFilterSet | None:
    """The ticked held fields, or (with "all") every one the list's filter (the query string) matches."""
    filterset = filtered({k: v for k, v in request.GET.items() if k not in LIST_PARAMS_DROPPED})
    if not filterset.is_valid():
        return None  # never more than the filter the person saw
    if request.POST.get("all") == "1":
        return filterset
    ids = posted_ids(request.POST.getlist("select"))
    if not ids:
        return None
    filterset.queryset = filterset.queryset.filter(pk__in=ids)
    return filterset


def _back(request):
    query = list_query(request.GET)
    return redirect(reverse("sync:held-fields") + (f"?{query}" if query else ""))


class HeldReplayConfirmView(RolePermissionMixin, View):
    """How many held fields, on how many vendor records, in which mappings: confirm to start the replay."""

    permission_required = REPLAY
    http_method_names = ["post"]

    def post(self, request):
        selection = _selection(request)
        if selection is None:
            messages.error(request, "Tick the held fields to replay, or choose all matching the filter.")
            return _back(request)
        held = still_held(selection.qs)
        return render(request, "hub/heldfield_replay_confirm.html", {
            "plan": replay_plan(held), "all": request.POST.get("all") == "1", "query": list_query(request.GET),
            "ids": posted_ids(request.POST.getlist("select")), "sample": held.order_by("first_seen_at", "id")[:10],
            "limit": REPLAY_MAX_RECORDS})


class HeldReplayStartView(RolePermissionMixin, View):
    permission_required = REPLAY
    http_method_names = ["post"]

    def post(self, request):
        selection = _selection(request)
        runs = held_fields_replay(queryset=selection.qs, user=request.user) if selection is not None else []
        if not runs:
            messages.error(request, "Nothing to replay: none of these fields is still held.")
            return _back(request)
        named = ", ".join(f"sync-run:{run.pk}" for run in runs)
        messages.success(request, f"{named} queued: {'a replay' if len(runs) == 1 else 'replays'} reading the "
                                  "held records again. Fields that pass now clear themselves.")
        return redirect(runs[0])
