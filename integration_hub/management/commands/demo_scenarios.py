"""Play scenarios 1, 3 and 4–6 on the demo sandboxes through their APIs, as people in each system would.

Run it after a first sync; the next sync (scheduled, "Sync now", or `manage.py sync <entity>`) shows:
an address change flowing from the CRM (4), a conflict for a name both teams changed (5), a rep's
price edit held for finance (6), a rep's edit of an ERP-owned customer number put back and logged as a
blocked edit, and a contact that fails the rules, held until it is fixed (replay). With the deal and invoice
mappings switched on (the demo's set-up does it): a deal closed at a negotiated price becomes one ERP order (1),
and a payment finance records in the ERP reaches the CRM's invoice (3).
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import RecordLink
from mapping.models import ObjectMapping


class Command(BaseCommand):
    help = "Edit the demo sandboxes the way a sales team and a finance team would (scenarios 4, 5, 6)."

    def add_arguments(self, parser):
        parser.add_argument("--crm", default="hubspot-sandbox", help="slug of the CRM system")
        parser.add_argument("--erp", default="netsuite-sandbox", help="slug of the ERP system")

    def handle(self, *args, crm, erp, **options):
        try:
            crm = ConnectedSystem.objects.get(slug=crm)
            erp = ConnectedSystem.objects.get(slug=erp)
        except ConnectedSystem.DoesNotExist as exc:
            raise CommandError("Run `python manage.py setup_demo` first.") from exc

        def linked(system, entity, **values):
            link = RecordLink.objects.filter(system=system, entity_type=entity,
                                             **{f"record__values__{k}": v for k, v in values.items()}).first()
            if link is None:
                raise CommandError(f"No synced {entity} {values} yet: run a first sync (manage.py sync {entity}).")
            return link.external_id

        def edit(system, vendor_object, external_id, fields, what):
            with connector_session(system) as connector:
                [result] = connector.upsert_many(vendor_object, [{"id": external_id, **fields}], None)
            if not result.ok:
                raise CommandError(f"{what}: {result.error.message}")
            self.stdout.write(f"  {what}")

        self.stdout.write("Editing the sandboxes:")
        edit(crm, "companies", linked(crm, "account", name="Initech LLC"), {"address": "4120 Freidrich Lane"},
             "sales moved Initech's shipping address in the CRM")
        edit(crm, "companies", linked(crm, "account", name="Globex Corporation"), {"name": "Globex (Sales East)"},
             "sales renamed Globex in the CRM ...")
        edit(erp, "customer", linked(erp, "account", name="Globex Corporation"), {"companyName": "Globex Corp."},
             "           ... and finance corrected its legal name in the ERP")
        edit(crm, "products", linked(crm, "price", sku="WID-100"), {"price": "11.00"},
             "a rep 'fixed' the Widget Standard price in the CRM")
        edit(crm, "companies", linked(crm, "account", name="Stark Industries"), {"erp_customer_number": "STARK-1"},
             "a rep typed a customer number of their own for Stark in the CRM (the ERP owns it)")
        edit(crm, "contacts", linked(crm, "contact", email="hank@globex.example"), {"lastname": ""},
             "a rep blanked Hank's last name (a required field)")
        if ObjectMapping.objects.filter(crm_system=crm, erp_system=erp, entity_type__in=["deal", "invoice"],
                                        is_enabled=True).count() == 2:
            edit(crm, "deals", linked(crm, "deal", name="Globex annual supply"), {"dealstage": "closedwon"},
                 "a rep closed the Globex deal at its negotiated prices (no one re-keys the order)")
            with connector_session(erp) as connector:
                [paid] = connector.upsert_many("customerPayment", [{
                    "customer": {"externalId": "CUST-1001"}, "payment": 1000.0,
                    "apply": [{"doc": {"externalId": "INV-DEMO-3"}, "amount": 1000.0}]}], None)
            if not paid.ok:
                raise CommandError(f"{paid.error.message}")
            self.stdout.write("  finance recorded a payment of 1000.00 USD on Acme's invoice in the ERP")
        self.stdout.write(self.style.SUCCESS(
            "Done. The next sync of accounts, prices and contacts shows the address flowing, a name conflict, "
            "a price held for finance, a blocked edit and Hank's last name held (the rest of him still syncs, nothing "
            "is erased in the ERP) until someone types it again; the next "
            "sync of deals and invoices, Globex's order and Acme's payment."))
