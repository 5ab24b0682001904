"""Conflict queue pages: the queue, one conflict's decision page, comments, bulk decisions with progress."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel.form_ids import posted_ids
from integration_hub.kernel.views import RolePermissionMixin
from reconciliation.conflicts import selectors, services
from reconciliation.conflicts.filters import ConflictFilterSet, known_fields
from reconciliation.conflicts.forms import CommentForm, DecisionForm
from reconciliation.conflicts.models import BulkDecision, Choice, Conflict
from reconciliation.conflicts.tables import ConflictTable

LIST_PARAMS_DROPPED = ("page", "sort")


def queue_query(request) -> str:
    """The queue's filter as a query string, carried to the decision page and back."""
    params = request.GET.copy()
    for key in LIST_PARAMS_DROPPED:
        params.pop(key, None)
    return params.urlencode()


class QueueFilterSet(ConflictFilterSet):
    status = None  # the queue is the open conflicts


def queue_filterset(request, queryset=None) -> QueueFilterSet:
    return QueueFilterSet(request.GET or None, queryset=queryset if queryset is not None
                          else selectors.open_conflicts(), request=request)


class ConflictQueueView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "reconciliation.view_conflict"
    filterset_class = QueueFilterSet
    table_class = ConflictTable
    template_name = "reconciliation/conflict_list.html"

    def get_queryset(self):
        return selectors.open_conflicts()

    def get_table_kwargs(self):
        return {"user": self.request.user, "query": queue_query(self.request)}

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        qs = self.filterset.qs if self.filterset.is_valid() else self.get_queryset()
        ctx.update(summary=selectors.queue_summary(qs), query=queue_query(self.request), known_fields=known_fields(),
                   can_decide=bool(selectors.decidable_roles(self.request.user)),
                   filtered=any(v for k, v in self.request.GET.items() if k not in LIST_PARAMS_DROPPED))
        return ctx


class ConflictDetailView(RolePermissionMixin, DetailView):
    """Base / CRM / ERP side by side with the record's context; the decision form; next / previous."""

    permission_required = "reconciliation.view_conflict"
    template_name = "reconciliation/conflict_detail.html"
    queryset = selectors.conflicts_for_list().select_related("account", "mapping__published_version")

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        conflict, user = self.object, self.request.user
        hidden = selectors.hidden_for(user, conflict.record.entity_type)
        previous, following = selectors.neighbours(conflict, queue_filterset(self.request).qs)
        query = queue_query(self.request)
        ctx.update(
            selectors.conflict_context(conflict, user),
            values={side: selectors.shown(getattr(conflict, f"{side}_value"), conflict.field, hidden)
                    for side in ("base", "crm", "erp", "chosen")},
            form=form or DecisionForm(conflict=conflict),
            can_decide=services.can_decide(user, conflict),
            can_comment=services.can_comment(user),
            needs=services.approver_label(conflict.approver_role),
            comment_required=services.comment_required(conflict),
            query=query, suffix=f"?{query}" if query else "",
            previous=previous, next=following,
            over_sla=conflict.is_open and conflict.created_at < selectors.sla_cutoff(),
            systems=(conflict.mapping.crm_system, conflict.mapping.erp_system),
        )
        return ctx

    def post(self, request, *args, **kwargs):
        self.object = conflict = self.get_object()
        services.require_decider(request.user, conflict)
        form = DecisionForm(request.POST, conflict=conflict)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        choice = form.cleaned_data["choice"]
        here = conflict.get_absolute_url() + (f"?{queue_query(request)}" if queue_query(request) else "")
        try:
            decided = services.conflict_decide(conflict=conflict, choice=choice, user=request.user,
                                               value=form.cleaned_data.get("value"),
                                               comment=form.cleaned_data.get("comment", ""))
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
                return self.render_to_response(self.get_context_data(form=form), status=400)
            messages.error(request, " ".join(exc.messages))
            return redirect(here)
        except services.ConflictStale as exc:
            messages.error(request, f"{exc} — the values below are what the systems hold now.")
            return redirect(here)
        except services.ConflictUnreadable as exc:
            messages.error(request, str(exc))
            return redirect(here)
        pushed = f" Pushed by sync-run:{decided.decision_run_id}." if decided.decision_run_id else ""
        messages.success(request, f"{conflict.record} · {conflict.field}: {Choice(choice).label}.{pushed}")
        _, following = selectors.neighbours(decided, queue_filterset(request).qs)
        if following:
            return redirect(reverse("conflicts:detail", args=[following])
                            + (f"?{queue_query(request)}" if queue_query(request) else ""))
        return redirect(reverse("conflicts:queue") + (f"?{queue_query(request)}" if queue_query(request) else ""))


def posted_comment(request, name: str) -> str:
    """The comment a form sent, through CommentForm; BadRequest (400, with the reason) when it cannot be kept."""
    form = CommentForm({"text": request.POST.get(name, "")})
    if not form.is_valid():
        raise BadRequest(" ".join(form.errors["text"]))
    return form.cleaned_data["text"]


class ConflictCommentView(RolePermissionMixin, View):
    permission_required = "reconciliation.view_conflict"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        conflict = get_object_or_404(Conflict, pk=pk)
        if not services.can_comment(request.user):
            raise PermissionDenied("Only RevOps admins and Finance approvers may comment on conflicts.")
        try:
            services.conflict_comment(conflict=conflict, user=request.user, text=posted_comment(request, "text"))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Comment added.")
        query = queue_query(request)
        return redirect(conflict.get_absolute_url() + (f"?{query}" if query else ""))


def _bulk_selection(request) -> tuple[list[int] | None, dict]:
    """The ticked conflicts, or (with "all") the queue's filter from the query string."""
    filter_params = {k: v for k, v in request.GET.items() if k not in LIST_PARAMS_DROPPED and v}
    if request.POST.get("all") == "1":
        return None, filter_params
    return posted_ids(request.POST.getlist("select")), filter_params


class BulkConfirmView(RolePermissionMixin, View):
    """How many, which approver rules, how many are yours: confirm (with a comment) to start the job."""

    permission_required = "reconciliation.comment_conflict"  # the approver roles: nothing to confirm for others
    template_name = "reconciliation/bulk_confirm.html"
    http_method_names = ["post"]

    def post(self, request):
        ids, filter_params = _bulk_selection(request)
        if ids == []:
            messages.error(request, "Tick the conflicts to decide, or choose all matching the filter.")
            return redirect(reverse("conflicts:queue") + (f"?{queue_query(request)}" if queue_query(request) else ""))
        try:
            queryset = services.bulk_queryset(conflict_ids=ids, filter_params=filter_params)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("conflicts:queue")
        return render(request, self.template_name, {
            "summary": services.bulk_summary(user=request.user, queryset=queryset), "ids": ids,
            "all": ids is None, "query": queue_query(request), "choice": request.POST.get("choice", Choice.ERP),
            "choices": [(c, Choice(c).label) for c in services.BULK_CHOICES],
            "sample": queryset.select_related("record")[:10], "errors": {}})


class BulkStartView(RolePermissionMixin, View):
    permission_required = "reconciliation.comment_conflict"
    http_method_names = ["post"]

    def post(self, request):
        ids, filter_params = _bulk_selection(request)
        try:
            job = services.bulk_decision_start(user=request.user, choice=request.POST.get("choice", ""),
                                               comment=posted_comment(request, "comment"), conflict_ids=ids,
                                               filter_params=filter_params)
        except ValidationError as exc:
            queryset = services.bulk_queryset(conflict_ids=ids, filter_params=filter_params)
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            return render(request, BulkConfirmView.template_name, {
                "summary": services.bulk_summary(user=request.user, queryset=queryset), "ids": ids,
                "all": ids is None, "query": queue_query(request), "choice": request.POST.get("choice"),
                "comment": request.POST.get("comment", ""), "errors": errors,
                "choices": [(c, Choice(c).label) for c in services.BULK_CHOICES],
                "sample": queryset.select_related("record")[:10]}, status=400)
        messages.success(request, f"Bulk decision started: {job.total} conflicts.")
        return redirect(job)


class BulkDecisionView(RolePermissionMixin, DetailView):
    permission_required = "reconciliation.view_conflict"
    model = BulkDecision
    template_name = "reconciliation/bulk_detail.html"


class BulkProgressView(RolePermissionMixin, View):
    """JSON for the bulk page's progress bar."""

    permission_required = "reconciliation.view_conflict"

    def get(self, request, pk: int):
        job = get_object_or_404(BulkDecision, pk=pk)
        return JsonResponse({"status": job.status, "status_label": job.get_status_display(), "total": job.total,
                             "processed": job.processed, "percent": job.percent, "decided": job.decided,
                             "stale": job.stale, "refused": job.refused, "failed": job.failed,
                             "finished": job.finished_at is not None})
