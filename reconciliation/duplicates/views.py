"""Duplicate pages: the review queue, one cluster side by side with its actions, a merge with its effects
and undo, and the data readiness report. Thin: every action calls a service."""
from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel.views import RolePermissionMixin
from mapping.models import ObjectMapping
from reconciliation.duplicates import pushes, readiness, scoring, selectors, services, survivorship, tasks
from reconciliation.duplicates.filters import CandidateFilterSet
from reconciliation.duplicates.merge import candidate_merge
from reconciliation.duplicates.merge_undo import merge_undo
from reconciliation.duplicates.models import DuplicateCandidate, Merge, MergeStatus
from reconciliation.duplicates.tables import CandidateTable

VIEW = "duplicates.view_duplicatecandidate"
MERGE = "duplicates.merge_duplicates"


class QueueView(RolePermissionMixin, SingleTableMixin, FilterView):
    """Clusters, best score first; open ones unless another status is asked for."""

    permission_required = VIEW
    queryset = selectors.candidates_queue()
    filterset_class = CandidateFilterSet
    table_class = CandidateTable
    template_name = "duplicates/queue.html"

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        if "status" not in self.request.GET:
            data = kwargs["data"].copy() if kwargs.get("data") is not None else self.request.GET.copy()
            data["status"] = "open"
            kwargs["data"] = data
        return kwargs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["can_merge"] = self.request.user.has_perm(MERGE)
        ctx["entities"] = scoring.ENTITY_TYPES
        ctx["recent_merges"] = Merge.objects.select_related("survivor", "merged_by")[:10]
        ctx["mappings"] = ObjectMapping.objects.filter(entity_type__in=scoring.ENTITY_TYPES)
        return ctx


class ScanView(RolePermissionMixin, View):
    """Queue a full scan of one entity for a worker (RevOps)."""

    permission_required = MERGE

    def post(self, request):
        entity = request.POST.get("entity", "")
        if entity not in scoring.ENTITY_TYPES:
            messages.error(request, f"There is no duplicate scan for {entity!r}.")
            return redirect("duplicates:queue")
        transaction.on_commit(lambda: tasks.scan_duplicates.delay(entity))
        messages.success(request, f"A duplicate scan of {entity}s is queued; new clusters appear here when it ends.")
        return redirect("duplicates:queue")


class CandidateView(RolePermissionMixin, TemplateView):
    """One cluster: the records side by side, what differs, the evidence, the external ids, the actions."""

    permission_required = VIEW
    template_name = "duplicates/candidate.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        candidate = get_object_or_404(DuplicateCandidate.objects.select_related("incoming_system"), pk=kwargs["pk"])
        try:
            survivor = int(self.request.GET.get("survivor", ""))
        except ValueError:
            survivor = None
        ctx["view"] = selectors.cluster_view(candidate=candidate, user=self.request.user, survivor_id=survivor)
        ctx["candidate"] = candidate
        ctx["can_merge"] = self.request.user.has_perm(MERGE) and candidate.status == "open"
        ctx["merges"] = candidate.merges.all()
        ctx["next"] = _next_open(candidate)
        return ctx

    def post(self, request, pk):
        if not request.user.has_perm(MERGE):
            raise PermissionDenied("Only RevOps admins merge or dismiss duplicates.")
        candidate = get_object_or_404(DuplicateCandidate, pk=pk)
        action = request.POST.get("action")
        try:
            if action == "merge":
                survivor = int(request.POST.get("survivor", "0"))
                merge = candidate_merge(candidate=candidate, survivor=survivor, user=request.user,
                                        choices=_overrides(request.POST, candidate, survivor))
                messages.success(request, f"Merged into {merge.survivor} (#{survivor}). You can undo this merge "
                                          f"until {merge.undo_until:%Y-%m-%d %H:%M} UTC.")
                return redirect("duplicates:merge", pk=merge.pk)
            elif action == "dismiss":
                services.candidate_dismiss(candidate=candidate, user=request.user)
                if candidate.is_incoming:
                    messages.success(request, f"Not a duplicate: {candidate.incoming_system.name} "
                                              f"{candidate.incoming_external_id} is a record of its own now; the "
                                              f"next sync creates it in the other system as the mapping says.")
                else:
                    messages.success(request, "Marked as not a duplicate: these records will not be proposed "
                                              "together again.")
            elif action == "skip":
                services.candidate_skip(candidate=candidate, user=request.user)
                messages.info(request, "Skipped: it waits behind the other clusters.")
            else:
                messages.error(request, "Choose merge, not a duplicate or skip.")
                return redirect("duplicates:detail", pk=pk)
        except (services.DuplicateError, ValueError) as exc:
            messages.error(request, str(exc))
            return redirect("duplicates:detail", pk=pk)
        following = _next_open(candidate)
        return redirect("duplicates:detail", pk=following.pk) if following else redirect("duplicates:queue")


def _overrides(post, candidate: DuplicateCandidate, survivor: int) -> dict[str, int | str]:
    """The fields whose chosen record (an id, or INCOMING for the record the sync held) differs from the default
    survivorship choice."""
    records = list(candidate.records.all())
    chosen = {key[7:]: value for key, value in post.items() if key.startswith("choice:")}
    by_id = {r.pk: r for r in records}
    if not chosen or survivor not in by_id:
        return {}
    defaults = survivorship.candidate_defaults(candidate, records, by_id[survivor])
    out: dict[str, int | str] = {}
    for name, value in chosen.items():
        if value == services.INCOMING and candidate.is_incoming:
            key: int | str = value
        else:
            try:
                key = int(value)
            except ValueError:
                raise services.DuplicateError(f"{name}: not a record id ({value!r}).") from None
        if name not in defaults or str(defaults[name].record_id) != str(key):
            out[name] = key
    return out


def _next_open(candidate: DuplicateCandidate) -> DuplicateCandidate | None:
    return selectors.candidates_queue().filter(status="open").exclude(pk=candidate.pk).first()


class MergeView(RolePermissionMixin, TemplateView):
    """One merge: survivor, absorbed records, field choices, each system's effect, and undo."""

    permission_required = VIEW
    template_name = "duplicates/merge.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        merge = get_object_or_404(Merge.objects.select_related("survivor", "merged_by", "undone_by"), pk=kwargs["pk"])
        ctx["merge"] = merge
        ctx["effects"] = [(e, pushes.effect_status(e)) for e in merge.effects.select_related("system", "outbound")]
        ctx["can_undo"] = (self.request.user.has_perm(MERGE) and merge.status == MergeStatus.DONE
                           and timezone.now() <= merge.undo_until)
        return ctx


class UndoView(RolePermissionMixin, View):
    permission_required = MERGE

    def post(self, request, pk):
        merge = get_object_or_404(Merge, pk=pk)
        try:
            merge_undo(merge=merge, user=request.user)
        except services.DuplicateError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Merge #{merge.pk} undone.")
        return redirect("duplicates:merge", pk=pk)


class ReadinessView(RolePermissionMixin, TemplateView):
    """Before go-live: per mapping, duplicates on each side, missing required fields, values no picklist map
    covers, records the match keys cannot link; each with the list to fix (paginated) and a CSV export."""

    permission_required = VIEW
    template_name = "duplicates/readiness.html"
    PAGE = 50

    def get(self, request, *args, **kwargs):
        mapping = get_object_or_404(ObjectMapping.objects.select_related("crm_system", "erp_system"), pk=kwargs["pk"])
        report = readiness.latest_report(mapping=mapping)
        if request.GET.get("format") == "csv":
            if report is None:
                messages.error(request, "Build the report first.")
                return redirect("duplicates:readiness", pk=mapping.pk)
            return _csv(mapping, report)
        sections = []
        for section in report.sections if report else []:
            page = Paginator(section.rows, self.PAGE).get_page(request.GET.get(section.key))
            sections.append((section, page))
        return self.render_to_response(self.get_context_data(
            mapping=mapping, report=report, sections=sections, can_build=request.user.has_perm(MERGE),
            building=readiness.building(mapping=mapping), failed=readiness.last_failure(mapping=mapping)))

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm(MERGE):
            raise PermissionDenied("Only RevOps admins build readiness reports.")
        mapping = get_object_or_404(ObjectMapping, pk=kwargs["pk"])
        readiness.readiness_request(mapping=mapping, user=request.user)
        messages.success(request, "The report is being built from both systems (nothing is written to them); "
                                  "this page shows it when it is ready.")
        return redirect("duplicates:readiness", pk=mapping.pk)


def _csv(mapping: ObjectMapping, report) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="readiness-{mapping.entity_type}-{mapping.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(["problem", "side", "system", "external id", "record", "name", "field", "value", "detail"])
    for section in report.sections:
        for row in section.rows:
            writer.writerow([section.title, row.side, row.system, row.external_id, row.record_id or "", row.name,
                             row.field, row.value, row.detail])
    return response
