"""Create the demo users (one per role) — idempotent; later issues add systems and data."""
from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from connectors.sandbox.demo import demo_emulators_running, register_demo_systems
from integration_hub.kernel import audit, roles
from integration_hub.sync import engine, outbox
from integration_hub.sync.models import SyncRun
from mapping import services as mapping_services
from mapping.models import ObjectMapping
from mapping.services import mapping_sync_schedule

DEMO_USERS = (
    # username, role group (None = superuser), environment variable for the password
    ("admin", None, "DEMO_ADMIN_PASSWORD"),
    ("revops", roles.REVOPS_ADMIN, "DEMO_REVOPS_PASSWORD"),
    ("finance", roles.FINANCE_APPROVER, "DEMO_FINANCE_PASSWORD"),
    ("viewer", roles.VIEWER, "DEMO_VIEWER_PASSWORD"),
)


DEMO_SYNC_MINUTES = 2  # the demo's cadence: soon enough to watch a scheduled sync happen
DOCUMENT_MAPPINGS = ("quote", "deal", "invoice")  # quote to cash (scenarios 1-3), switched on in the demo


class Command(BaseCommand):
    help = ("Set up the demo: users for each role (passwords printed once, or from DEMO_*_PASSWORD) "
            "and the sandbox CRM and ERP systems.")

    def handle(self, *args, **options):
        logins_file = settings.DATA_DIR / "demo-logins.txt"
        created_lines: list[str] = []
        with audit.acting_as("setup-demo", reason="demo set-up"), transaction.atomic():
            roles.sync_roles(Group, Permission)
            for username, role, env_var in DEMO_USERS:
                line = self._ensure_user(username, role, env_var)
                if line:
                    created_lines.append(line)
            systems = register_demo_systems()
        if created_lines:
            settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
            fd = os.open(logins_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as fh:
                fh.write("\n".join(created_lines) + "\n")
            self.stdout.write(self.style.SUCCESS("Demo logins (shown once; also kept in data/demo-logins.txt):"))
            for line in created_lines:
                self.stdout.write(f"  {line}")
        else:
            self.stdout.write(f"Demo users already exist; their logins are in {logins_file} "
                              "(or were set from DEMO_*_PASSWORD).")

        for system in systems:
            self.stdout.write(f"Demo system: {system.name} at {system.base_url} ({system.get_rollout_stage_display()})")
        self._install_template(*systems)

    def _install_template(self, crm, erp) -> None:
        """Install the default HubSpot ↔ NetSuite template and publish it, as the demo's RevOps and finance."""
        User = get_user_model()
        revops = User.objects.filter(groups__name=roles.REVOPS_ADMIN).first()
        finance = User.objects.filter(groups__name=roles.FINANCE_APPROVER).first()
        if ObjectMapping.objects.filter(crm_system=crm, erp_system=erp, published_version__isnull=False).exists():
            self.stdout.write("Default field template: already published.")
            return
        with demo_emulators_running():
            created = mapping_services.template_prepare_crm(crm_system=crm)
            if created:
                self.stdout.write(f"Created {len(created)} custom HubSpot properties the template writes to.")
            mappings = mapping_services.template_install(crm_system=crm, erp_system=erp, user=revops)
            published = 0
            for mapping in mappings:
                draft = mapping.versions.filter(status="draft").first()
                if draft is None:
                    continue
                if draft.needs_finance_signoff:
                    mapping_services.version_sign_off(version=draft, user=finance)
                try:
                    mapping_services.version_publish(version=draft, user=revops)
                    published += 1
                except ValidationError as exc:
                    self.stderr.write(f"{mapping}: not published — " + "; ".join(exc.messages))
            self._enable_documents(mappings)
            self._first_sync()
        rest = "" if published == len(mappings) else " (fix and publish the rest from the Mappings page)"
        self.stdout.write(self.style.SUCCESS(f"Default field template: {published} of {len(mappings)} mappings "
                                             f"published{rest}."))

    def _enable_documents(self, mappings) -> None:
        """Quote to cash in the demo: the sandboxes have the items linked by the first sync and NetSuite's discount
        column, so the quote, deal and invoice mappings (installed switched off) are switched on."""
        for mapping in ObjectMapping.objects.filter(pk__in=[m.pk for m in mappings], is_enabled=False,
                                                    entity_type__in=DOCUMENT_MAPPINGS,
                                                    published_version__isnull=False):
            mapping.is_enabled = True
            mapping._change_reason = "demo: quote to cash switched on"
            mapping.save(update_fields=["is_enabled", "updated_at"])

    def _first_sync(self) -> None:
        """Sync the demo's enabled mappings once, so the hub shows linked records from the start; then play the
        demo scenarios in the sandboxes, so the first scheduled sync (every DEMO_SYNC_MINUTES) shows a conflict,
        a blocked edit and a held record to replay."""
        if SyncRun.objects.exists():
            return
        mappings = list(ObjectMapping.objects.filter(is_enabled=True, published_version__isnull=False).order_by("id"))
        for mapping in mappings:
            run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping, trigger="manual"))
            counts = ", ".join(f"{k} {v}" for k, v in run.counts.items() if v)
            self.stdout.write(f"First sync of {mapping}: {run.get_status_display()} ({counts}).")
        sent = outbox.dispatch_all_until_empty()
        # The orders and estimates just created: their numbers and statuses come back to the CRM.
        for mapping in mappings:
            if mapping.entity_type in DOCUMENT_MAPPINGS:
                engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping, trigger="manual"))
        sent.sent += outbox.dispatch_all_until_empty().sent
        self.stdout.write(f"Sent {sent.sent} writes to the sandboxes.")
        call_command("demo_scenarios", stdout=self.stdout)
        for mapping in mappings:
            # The sandboxes send no webhooks: real-time mappings poll at the demo's cadence too.
            mapping.cadence, mapping.interval_minutes = "interval", DEMO_SYNC_MINUTES
            mapping.save(update_fields=["cadence", "interval_minutes", "updated_at"])
            mapping_sync_schedule(mapping=mapping)
        self.stdout.write(f"Scheduled syncs run every {DEMO_SYNC_MINUTES} minutes (the worker and beat of `make run`): "
                          "watch Sync runs for the conflicts, the blocked edit, the held contact, the closed deal "
                          "becoming an ERP order, and invoices paid in the ERP.")

    def _ensure_user(self, username: str, role: str | None, env_var: str) -> str | None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            return None
        from_env = os.environ.get(env_var)
        password = from_env or secrets.token_urlsafe(9)
        user = User.objects.create_user(
            username=username, password=password, email=f"{username}@example.com",
            is_superuser=role is None, is_staff=role in (None, roles.REVOPS_ADMIN),
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        label = role or "superuser"
        shown = "(from $" + env_var + ")" if from_env else password
        return f"{username:8} {shown:20} {label}"
