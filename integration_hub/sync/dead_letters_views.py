"""Dead-letter pages: every write the outbox gave up on, grouped by cause, and what a RevOps admin does with them
(retry one, the ticked ones or a whole cause; correct a value of one and retry it; discard with a reason), each
confirmed first. Thin: dead_letters.py does the work, checks the role again and keeps the audit."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel import roles
from integration_hub.kernel.form_ids import posted_ids
from integration_hub.kernel.views import RolePermissionMixin
from integration_hub.sync import dead_letters, tasks
from integration_hub.sync.dead_letters_causes import cause_of, causes
from integration_hub.sync.dead_letters_forms import PREFIX, REASON_CHARS, DeadLetterValuesForm, ReasonForm
from integration_hub.sync.dead_letters_tables import (
    DeadLetterFilterSet,
    DeadLetterTable,
    dead_and_discarded,
    shown_write,
)
from integration_hub.sync.models import OutboundChange, OutboundOperation, OutboundStatus

LIST_PARAMS_DROPPED = ("page", "sort")
CAUSES_SHOWN = 50
SAMPLE = 10
ACTIONS = {"retry": "Retry", "discard": "Discard"}


def list_query(request) -> str:
    """The list's filter as a query string, carried through a confirmation and back."""
    params = request.GET.copy()
    for key in LIST_PARAMS_DROPPED:
        params.pop(key, None)
    return params.urlencode()


def _with_cause(request, key: str) -> str:
    params = request.GET.copy()
    for name in LIST_PARAMS_DROPPED:
        params.pop(name, None)
    params["cause"] = key
    return params.urlencode()


def _back_to_list(request):
    query = list_query(request)
    return redirect(reverse("sync:dead-letters") + (f"?{query}" if query else ""))


def _send_soon() -> None:
    """What was put back goes with the next dispatch; ask for one now rather than within the minute."""
    transaction.on_commit(tasks.dispatch_outbox.delay)


class DeadLetterListView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "hub.view_outboundchange"
    filterset_class = DeadLetterFilterSet
    table_class = DeadLetterTable
    template_name = "hub/deadletter_list.html"

    def get_queryset(self):
        return dead_and_discarded().select_related("record", "system", "run")

    def _can_act(self) -> bool:
        return roles.is_revops(self.request.user) and self.filterset.form.data.get("status") == OutboundStatus.DEAD

    def get_table_kwargs(self):
        return {"user": self.request.user, "can_act": self._can_act()}

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        rows = self.filterset.qs if self.filterset.is_valid() else self.get_queryset().none()
        groups = causes(rows)
        ctx.update(causes=[(cause, _with_cause(self.request, cause.key)) for cause in groups[:CAUSES_SHOWN]],
                   more_causes=max(0, len(groups) - CAUSES_SHOWN),
                   total=sum(c.count for c in groups), can_act=self._can_act(), query=list_query(self.request),
                   discarded=self.filterset.form.data.get("status") == OutboundStatus.DISCARDED)
        if ctx["discarded"]:
            page = ctx["table"].page
            ctx["actions"] = dead_letters.actions_on([row.record for row in page.object_list] if page else [])
        return ctx


class DeadLetterDetailView(RolePermissionMixin, DetailView):
    """One write: its record, system and object, the payload sent, the system's error, what people did with it,
    and (for a RevOps admin, while it is a dead letter) retry, edit and retry, discard."""

    permission_required = "hub.view_outboundchange"
    template_name = "hub/deadletter_detail.html"
    context_object_name = "write"
    queryset = OutboundChange.objects.select_related("record", "system", "run", "link")

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        write = self.object
        can_act = roles.is_revops(self.request.user) and write.status == OutboundStatus.DEAD
        ctx.update(shown=shown_write(write, self.request.user, {}), cause=cause_of(write.last_error),
                   actions=dead_letters.actions_on([write]).get(write.pk, []), can_act=can_act,
                   editable=can_act and write.operation == OutboundOperation.UPSERT and bool(write.values),
                   reason_chars=REASON_CHARS)
        if ctx["editable"]:
            ctx["form"] = form or DeadLetterValuesForm(row=write)
        return ctx


class DeadLetterEditView(RolePermissionMixin, View):
    """Correct values of one dead write and send it again: the form, then a confirmation of the changes."""

    permission_required = "hub.change_outboundchange"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        dead_letters.require_revops(request.user)
        write = get_object_or_404(OutboundChange.objects.select_related("record", "system", "run", "link"), pk=pk)
        form = DeadLetterValuesForm(request.POST, row=write)
        if not form.is_valid():
            return self._again(request, write, form)
        if request.POST.get("confirmed") != "1":
            return render(request, "hub/deadletter_confirm.html", {
                "action": "edit", "verb": "Send the corrected write", "write": write, "changes": form.changes(),
                "hidden": [(field.html_name, field.value()) for field in form.value_fields()],
                "reason": form.cleaned_data["reason"], "count": 1})
        try:
            dead_letters.edit_and_retry(row=write, values=form.cleaned_data["changed"], user=request.user,
                                        reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for name, errors in (exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]):
                form.add_error(PREFIX + name if name and PREFIX + name in form.fields else None, errors)
            return self._again(request, write, form)
        _send_soon()
        messages.success(request, f"The corrected write to {write.system.name} for {write.record} is back in the "
                                  "outbox: it is sent with the next dispatch.")
        return redirect("sync:dead-letter", pk=write.pk)

    def _again(self, request, write, form):
        view = DeadLetterDetailView(request=request, kwargs={"pk": write.pk}, object=write)
        return render(request, view.template_name, view.get_context_data(form=form, object=write), status=400)


def _selection(request) -> QuerySet | None:
    """The ticked dead writes, or (with "all") every dead write the list's filter selects (a cause group)."""
    if request.POST.get("all") == "1":
        filterset = DeadLetterFilterSet(request.GET, queryset=dead_and_discarded())
        if not filterset.is_valid():
            raise BadRequest("The filter is not valid: " + "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()))
        return filterset.qs.filter(status=OutboundStatus.DEAD)
    ids = posted_ids(request.POST.getlist("select"))
    return dead_letters.dead_letters().filter(pk__in=ids) if ids else None


def _action(request) -> str:
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        raise BadRequest(f"Choose retry or discard, not {action!r}.")
    return action


class DeadLetterConfirmView(RolePermissionMixin, View):
    """How many writes, of which causes, to which systems: confirm (with a reason) to retry or discard them."""

    permission_required = "hub.change_outboundchange"
    http_method_names = ["post"]

    def post(self, request, errors=None, status=200):
        dead_letters.require_revops(request.user)
        action, rows = _action(request), _selection(request)
        if rows is None or not rows.exists():
            messages.error(request, "Tick the dead letters to act on, or choose a whole cause.")
            return _back_to_list(request)
        groups = causes(rows)
        return render(request, "hub/deadletter_confirm.html", {
            "action": action, "verb": f"{ACTIONS[action]} {sum(c.count for c in groups)}",
            "count": sum(c.count for c in groups), "causes": groups,
            "sample": rows.select_related("record", "system").order_by("id")[:SAMPLE],
            "all": request.POST.get("all") == "1", "ids": posted_ids(request.POST.getlist("select")),
            "query": list_query(request), "reason": request.POST.get("reason", ""), "errors": errors or [],
            "reason_chars": REASON_CHARS}, status=status)


class DeadLetterActView(RolePermissionMixin, View):
    """Carry out a confirmed retry or discard."""

    permission_required = "hub.change_outboundchange"
    http_method_names = ["post"]

    def post(self, request):
        dead_letters.require_revops(request.user)
        action, rows = _action(request), _selection(request)
        if rows is None:
            messages.error(request, "Tick the dead letters to act on, or choose a whole cause.")
            return _back_to_list(request)
        why = ReasonForm(request.POST)
        if not why.is_valid():
            return DeadLetterConfirmView().post(request, errors=why.errors.get("reason", []), status=400)
        reason = why.cleaned_data["reason"]
        if action == "discard":
            try:
                outcome = dead_letters.discard(rows=rows, user=request.user, reason=reason)
            except ValidationError as exc:
                return DeadLetterConfirmView().post(request, errors=exc.messages, status=400)
            messages.success(request, f"{len(outcome.done)} write{'s' if len(outcome.done) != 1 else ''} "
                                      "discarded: never sent, kept with your reason in each record's history.")
            return _back_to_list(request)
        outcome = dead_letters.retry(rows=rows, user=request.user, reason=reason)
        if outcome.done:
            _send_soon()
            messages.success(request, f"{len(outcome.done)} write{'s' if len(outcome.done) != 1 else ''} back in "
                                      "the outbox: sent with the next dispatch.")
        if outcome.kept:
            messages.warning(request, f"{len(outcome.kept)} not retried: " + "; ".join(
                f"#{pk}: {why}" for pk, why in list(outcome.kept.items())[:5]))
        return _back_to_list(request)
