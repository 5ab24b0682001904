"""Mapping pages: the rules matrix, versions, preview, sign-off, publish, rollback, drift."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from connectors.base import ConnectorError
from connectors.models import ConnectedSystem
from integration_hub.kernel import roles
from integration_hub.kernel.form_ids import posted_id
from integration_hub.kernel.views import RolePermissionMixin
from mapping import default_template, drift, preview, services
from mapping.filters import MappingFilterSet
from mapping.models import ObjectMapping, RuleSetVersion, VersionStatus
from mapping.tables import MappingTable


class MappingListView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "mapping.view_objectmapping"
    queryset = ObjectMapping.objects.select_related("crm_system", "erp_system", "published_version")
    filterset_class = MappingFilterSet
    table_class = MappingTable
    template_name = "mapping/mapping_list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        if roles.is_revops(self.request.user):
            ctx["template_crms"] = ConnectedSystem.objects.filter(role="crm", vendor=default_template.CRM_VENDOR)
            ctx["template_erps"] = ConnectedSystem.objects.filter(role="erp", vendor=default_template.ERP_VENDOR)
        return ctx


class TemplateInstallView(RolePermissionMixin, View):
    """Install the default HubSpot ↔ NetSuite template for a chosen pair of systems (RevOps)."""

    permission_required = "mapping.add_objectmapping"
    http_method_names = ["post"]

    def post(self, request):
        crm = get_object_or_404(ConnectedSystem, pk=posted_id(request.POST, "crm_system", what="a CRM"), role="crm")
        erp = get_object_or_404(ConnectedSystem, pk=posted_id(request.POST, "erp_system", what="an ERP"), role="erp")
        try:
            created = services.template_prepare_crm(crm_system=crm)
            mappings = services.template_install(crm_system=crm, erp_system=erp, user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except ConnectorError as exc:
            messages.error(request, f"Could not prepare {crm.name}: {exc.message}")
        else:
            messages.success(request, f"Default template installed: {len(mappings)} mappings with draft rules "
                                      f"({len(created)} custom CRM properties created). Preview, then publish each.")
        return redirect("mapping:list")


class MappingDetailView(RolePermissionMixin, DetailView):
    permission_required = "mapping.view_objectmapping"
    model = ObjectMapping
    template_name = "mapping/mapping_detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        mapping = self.object
        draft = mapping.versions.filter(status=VersionStatus.DRAFT).first()
        user = self.request.user
        published_rules = {r.field: r.as_dict() for r in mapping.published_version.rules.all()} \
            if mapping.published_version else {}
        draft_rules = list(draft.rules.all()) if draft else []
        ctx.update(
            changed_fields={r.field for r in draft_rules if published_rules.get(r.field) != r.as_dict()},
            removed_fields=sorted(set(published_rules) - {r.field for r in draft_rules}) if draft else [],
            published=mapping.published_version,
            published_rules=mapping.published_version.rules.all() if mapping.published_version else [],
            draft=draft,
            draft_rules=draft_rules,
            draft_problems=services.publish_problems(draft, check_remote=False) if draft else [],
            finance_changes=draft.finance_changes() if draft else [],
            versions=mapping.versions.select_related("published_by", "finance_signoff_by"),
            findings=mapping.drift_findings.filter(is_open=True),
            can_edit=roles.is_revops(user),
            can_sign_off=roles.has_role(user, roles.FINANCE_APPROVER),
        )
        return ctx


class MappingActionView(RolePermissionMixin, View):
    """POST-only actions on a mapping; each calls one service and reports the outcome."""

    permission_required = "mapping.view_objectmapping"
    http_method_names = ["post"]

    def post(self, request, pk: int, action: str):
        mapping = get_object_or_404(ObjectMapping, pk=pk)
        handler = getattr(self, f"do_{action.replace('-', '_')}", None)
        if handler is None:
            messages.error(request, f"Unknown action {action!r}.")
            return redirect(mapping)
        try:
            handler(request, mapping)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect(mapping)

    def _version(self, request, mapping, *allowed: str, action: str) -> RuleSetVersion:
        """The version the form names, once the user's role may act on it: someone who may not gets 403
        whatever they sent; a `version` that is not a version number is the sender's mistake (400)."""
        if not roles.has_role(request.user, *allowed):
            raise PermissionDenied(f"Only {' or '.join(allowed)}s may {action}.")
        return get_object_or_404(RuleSetVersion, mapping=mapping,
                                 pk=posted_id(request.POST, "version", what=f"a version to {action}"))

    def do_draft(self, request, mapping):
        draft = services.version_create_draft(mapping=mapping, user=request.user)
        messages.success(request, f"Draft v{draft.number} is open; edit its rules in the admin.")

    def do_sign_off(self, request, mapping):
        version = self._version(request, mapping, roles.FINANCE_APPROVER, action="sign off finance rules")
        version = services.version_sign_off(version=version, user=request.user)
        messages.success(request, f"Finance sign-off recorded for v{version.number}.")

    def do_publish(self, request, mapping):
        version = self._version(request, mapping, roles.REVOPS_ADMIN, action="publish rules")
        version = services.version_publish(version=version, user=request.user)
        messages.success(request, f"v{version.number} is published: syncs use it from now on.")

    def do_rollback(self, request, mapping):
        version = self._version(request, mapping, roles.REVOPS_ADMIN, action="roll back rules")
        version = services.version_rollback(version=version, user=request.user)
        messages.success(request, f"Rolled back: v{version.number} is the published version again.")

    def do_preview(self, request, mapping):
        version = self._version(request, mapping, roles.REVOPS_ADMIN, action="run a preview")
        result = preview.version_preview(version=version)
        messages.success(request, f"Preview of v{version.number} over {result['records']} records is ready.")

    def do_drift_check(self, request, mapping):
        services.require_revops(request.user, action="check schema drift")
        findings = drift.drift_check(mapping=mapping)
        if findings:
            messages.warning(request, f"{len(findings)} schema drift finding(s).")
        else:
            messages.success(request, "No schema drift: both systems still have every mapped field.")

