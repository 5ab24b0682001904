"""Reconciliation against both sandboxes: discrepancies built in the emulators are found, exactly."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from integration_hub.records.models import Record
from reconciliation.reports import services
from reconciliation.reports.models import ReconciliationReport, ReportItem, ReportStatus
from reconciliation.reports.reconcile import report_create, report_run
from tests.health.conftest import invoice_rules_fixed, sync

pytestmark = pytest.mark.django_db


def reconcile(mapping) -> ReconciliationReport:
    return report_run(report=report_create(mapping=mapping, trigger="command"))


def found(report) -> set[tuple]:
    """What a report found, as (kind, field, crm id, erp id, currency) lines."""
    return {(i.kind, i.field, i.crm_id, i.erp_id, i.currency) for i in report.items.all()}


def ids(mapping, name: str) -> tuple[Record, str, str]:
    record = Record.objects.get(entity_type=mapping.entity_type, values__name=name)
    return (record, record.links.get(system=mapping.crm_system).external_id,
            record.links.get(system=mapping.erp_system).external_id)


def test_a_settled_integration_reconciles_with_counts_from_the_vendors_count_queries(synced, emulators):
    hubspot, netsuite = emulators
    report = reconcile(synced["account"])

    assert report.status == ReportStatus.SUCCEEDED, report.error
    assert report.counts["crm"]["system"] == 8 and report.counts["crm"]["counted_by"] == "HubSpot search total"
    assert report.counts["erp"]["system"] == 5 and report.counts["erp"]["counted_by"] == "SuiteQL COUNT(*)"
    assert report.counts["hub"] == {"records": 5, "linked_both": 5}  # "Umbrella Corp" linked by duplicate score
    assert report.compared == 5 and report.mismatched == 0 and report.consistency_score == 1.0
    # The CRM's two extra Acme spellings (waiting in the duplicate queue) and the company the ERP never got are
    # one-sided; every ERP customer is linked.
    assert sorted(i.crm_id for i in report.items.filter(kind="only_crm")) == ["1001", "1002", "1008"]
    assert report.items.filter(kind="only_erp").count() == 0
    # Counting asked the vendors' count queries, not a download.
    assert any(p.endswith("/companies/search") for _, p, _ in hubspot.emulator.request_log)
    assert "sales_owner" in {s["field"] for s in report.skipped_fields}  # kept in the CRM only


def test_the_report_finds_exactly_the_discrepancies_built_in_the_emulators(synced, emulators):
    hubspot, netsuite = emulators
    account = synced["account"]
    baseline = found(reconcile(account))
    stark, stark_crm, stark_erp = ids(account, "Stark Industries")
    globex, globex_crm, _ = ids(account, "Globex Corporation")
    initech, initech_crm, _ = ids(account, "Initech LLC")

    # 1. A customer deleted in the ERP.
    del netsuite.store.table("customer")[stark_erp]
    # 2. A field changed behind the integration's back: no modification time moved, no sync will ever see it.
    hubspot.store.table("companies")[globex_crm]["properties"]["city"] = "Shelbyville"
    # 3. A renamed field: NetSuite now calls the customer's phone "phoneNumber".
    netsuite.set_faults(renamed_fields={"customer": {"phone": "phoneNumber"}})
    # Not a discrepancy: an ordinary edit the next scheduled sync will carry (in flight).
    from connectors.services import connector_session
    with connector_session(account.crm_system) as connector:
        [result] = connector.upsert_many("companies", [{"id": initech_crm, "city": "Boulder"}], None)
    assert result.ok

    report = reconcile(account)

    assert report.status == ReportStatus.SUCCEEDED, report.error
    assert found(report) - baseline == {
        ("only_crm", "", stark_crm, stark_erp, ""),
        ("field", "shipping_city", globex_crm, ReportItem.objects.get(report=report, field="shipping_city").erp_id, ""),
    }
    assert baseline - found(report) == set()
    deleted = report.items.get(kind="only_crm", crm_id=stark_crm)
    assert "no longer returns" in deleted.detail and deleted.record_id == stark.pk
    city = report.items.get(kind="field")
    before = globex.values["shipping_city"]
    assert (city.crm_value, city.erp_value, city.hub_value, city.record_id) == ("Shelbyville", before, before,
                                                                               globex.pk)
    assert city.lineage["crm"]["how"] and city.lineage["erp"]["how"]
    assert report.field_mismatches == {"shipping_city": 1}
    # In flight: the shipping-street edit just pushed, and Umbrella's name waiting in the conflict queue.
    assert report.in_flight == 2 and report.mismatched == 1 and report.compared == 4
    assert report.consistency_score == pytest.approx(3 / 4)
    # The renamed field is reported once, with the drift check's reason, and not compared record by record.
    [phone] = [s for s in report.skipped_fields if s["field"] == "phone"]
    assert phone["side"] == "erp" and "phone" in phone["reason"]
    assert "phone" not in report.compared_fields


def test_re_sync_this_record_puts_the_systems_back_in_agreement(synced, emulators, revops_user):
    hubspot, netsuite = emulators
    account = synced["account"]
    globex, globex_crm, globex_erp = ids(account, "Globex Corporation")
    hubspot.store.table("companies")[globex_crm]["properties"]["city"] = "Shelbyville"
    report = reconcile(account)
    item = report.items.get(kind="field", field="shipping_city")

    run = services.item_resync(item=item, user=revops_user)
    from integration_hub.sync import outbox
    outbox.dispatch_all()

    assert run.trigger == "manual" and run.status == "succeeded"
    address = next(line for line in netsuite.store.table("customer")[globex_erp]["addressBook"]
                   if line.get("defaultShipping"))
    assert address["addressBookAddress"]["city"] == "Shelbyville"  # a shared field: the CRM's edit flowed
    assert reconcile(account).items.filter(kind="field").count() == 0


def test_an_invoice_total_off_by_a_cent_is_found_in_the_field_and_the_money_totals(
        synced, emulators, revops_user, finance_user):
    hubspot, _ = emulators
    invoice = invoice_rules_fixed(synced, revops_user, finance_user)
    for _ in range(2):
        sync(invoice)
    baseline = reconcile(invoice)
    assert baseline.mismatched == 0 and baseline.money_mismatches == 0, found(baseline)
    record = next(r for r in Record.objects.filter(entity_type="invoice")
                  if (r.values.get("amount") or {}).get("amount") == "6200.00")
    crm_id = record.links.get(system=invoice.crm_system).external_id
    hubspot.store.table("invoices")[crm_id]["properties"]["hs_amount_billed"] = "6199.99"

    report = reconcile(invoice)

    assert {(i.kind, i.field) for i in report.items.all()} == {("field", "amount"), ("money", "amount")}
    amount = report.items.get(kind="field")
    assert amount.crm_value == {"amount": "6199.99", "currency": "USD"}
    assert amount.erp_value == {"amount": "6200.00", "currency": "USD"}
    money = report.items.get(kind="money")
    # the account's invoiced total (all its invoices) is a cent short in the CRM
    assert Decimal(money.erp_value) - Decimal(money.crm_value) == Decimal("0.01") and money.currency == "USD"
    invoiced = next(m for m in report.money if m["field"] == "amount")
    assert invoiced["difference"] == "-0.01" and not invoiced["agree"]
    outstanding = next(m for m in report.money if m["field"] == "amount_due")
    assert outstanding["agree"]


def test_an_unreachable_system_fails_the_report_with_the_vendors_message(synced, emulators, settings):
    _, netsuite = emulators
    settings.SYNC_CONNECTOR_OPTIONS = {"timeout": 5, "backoff_base": 0.01, "max_attempts": 2}  # give up quickly
    netsuite.set_faults(fail_next=100, fail_status=503)
    report = reconcile(synced["account"])
    assert report.status == ReportStatus.FAILED and "503" in report.error
    assert report.finished_at is not None


def test_the_command_prints_the_summary_and_the_page_shows_the_report_and_its_csv(synced, client, viewer_user):
    out = io.StringIO()
    call_command("reconcile", "account", stdout=out)
    assert "only in the CRM 3" in out.getvalue() and "consistency 100.0 %" in out.getvalue()
    report = ReconciliationReport.objects.get()
    assert report.trigger == "command"

    client.force_login(viewer_user)
    page = client.get(f"/reconciliation/{report.pk}/").content.decode()
    assert "100.0 %" in page and "HubSpot record 1001 is linked to nothing" in page
    assert "Re-sync this record" not in page  # viewers read; RevOps re-syncs
    listing = client.get("/reconciliation/").content.decode()
    assert f"/reconciliation/{report.pk}/" in listing and "Run now" not in listing
    response = client.get(f"/reconciliation/{report.pk}/csv/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"] == "text/csv" and len(rows) == report.items.count()
    assert {r["kind"] for r in rows} >= {"only_crm"}


def test_the_run_button_queues_a_report_for_revops_only(synced, client, revops_user, viewer_user,
                                                        django_capture_on_commit_callbacks):
    account = synced["account"]
    client.force_login(viewer_user)
    assert client.post(f"/reconciliation/run/{account.pk}/").status_code == 403
    client.force_login(revops_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/reconciliation/run/{account.pk}/")
    report = ReconciliationReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reconciliation/{report.pk}/"
    assert report.requested_by == revops_user and report.trigger == "manual" and len(callbacks) == 1


def test_the_daily_schedule_reconciles_every_enabled_published_mapping(synced):
    from django_celery_beat.models import PeriodicTask

    from reconciliation.reports import tasks

    schedule = PeriodicTask.objects.get(name="daily reconciliation")
    assert schedule.task == "reconciliation.reports.tasks.reconcile_all" and schedule.interval.every == 24 * 60
    reports = ReconciliationReport.objects.filter(pk__in=tasks.reconcile_all())
    enabled = {m.entity_type for m in synced.values() if m.is_enabled}
    assert {r.entity_type for r in reports} == enabled
    assert all(r.status == "succeeded" and r.trigger == "schedule" for r in reports)


def test_money_totals_are_compared_per_account_and_currency(synced, emulators, revops_user, finance_user):
    hubspot, _ = emulators
    invoice = invoice_rules_fixed(synced, revops_user, finance_user)
    for _ in range(2):
        sync(invoice)  # the ERP's invoices reach the CRM, each with its company
    baseline = reconcile(invoice)
    assert baseline.compared >= 2 and baseline.mismatched == 0 and baseline.money_mismatches == 0, found(baseline)

    record = next(r for r in Record.objects.filter(entity_type="invoice")
                  if (r.values.get("amount_due") or {}).get("amount") == "6200.00")
    account = Record.objects.get(pk=int(record.values["customer"][7:]))
    crm_id = record.links.get(system=invoice.crm_system).external_id
    hubspot.store.table("invoices")[crm_id]["properties"]["erp_amount_due"] = "6100.00"
    report = reconcile(invoice)

    money = report.items.get(kind="money")
    assert (money.field, money.record_id, money.currency) == ("amount_due", account.pk, "USD")
    assert f"Outstanding for {account.display_name} in USD: CRM" in money.detail
    assert {(i.kind, i.field) for i in report.items.all()} == {("field", "amount_due"), ("money", "amount_due")}


def test_an_erp_invoice_total_off_by_a_cent_is_found_through_netsuites_aggregate_query(
        synced, emulators, revops_user, finance_user, monkeypatch):
    """NetSuite adds the invoice totals up (SuiteQL SUM ... GROUP BY customer, currency); HubSpot has no sum query,
    so its side is summed from the read. A cent taken off one NetSuite invoice is found in the field and in the
    account's invoiced total -- and nothing else is."""
    from connectors.netsuite import NetSuiteConnector

    _, netsuite = emulators
    queries: list[str] = []
    suiteql = NetSuiteConnector.suiteql

    def spy(self, query, **kwargs):
        queries.append(query)
        return suiteql(self, query, **kwargs)
    monkeypatch.setattr(NetSuiteConnector, "suiteql", spy)
    invoice = invoice_rules_fixed(synced, revops_user, finance_user)
    for _ in range(2):
        sync(invoice)
    baseline = reconcile(invoice)
    assert baseline.mismatched == 0 and baseline.money_mismatches == 0, found(baseline)
    assert baseline.counts["erp"]["money_totalled_by"] == "SuiteQL SUM(...) GROUP BY"
    assert baseline.counts["crm"]["money_totalled_by"] == "no aggregate query for this vendor: summed while reading"
    record = next(r for r in Record.objects.filter(entity_type="invoice")
                  if (r.values.get("amount") or {}).get("amount") == "6200.00")
    account = Record.objects.get(pk=int(record.values["customer"][7:]))
    erp_id = record.links.get(system=invoice.erp_system).external_id
    netsuite.store.table("invoice")[erp_id]["total"] = 6199.99
    queries.clear()

    report = reconcile(invoice)

    assert ("SELECT currency, entity, SUM(amountpaid) AS sum_amountpaid, SUM(amountremaining) AS sum_amountremaining, "
            "SUM(total) AS sum_total FROM transaction WHERE type = 'CustInvc' GROUP BY currency, entity "
            "ORDER BY currency, entity") in queries
    assert {(i.kind, i.field) for i in report.items.all()} == {("field", "amount"), ("money", "amount")}
    money = report.items.get(kind="money")
    assert (money.record_id, money.currency) == (account.pk, "USD")
    assert Decimal(money.crm_value) - Decimal(money.erp_value) == Decimal("0.01")
    assert f"Invoiced for {account.display_name} in USD" in money.detail
    invoiced = next(m for m in report.money if m["field"] == "amount")
    assert invoiced["difference"] == "0.01" and not invoiced["agree"]
    assert all(m["agree"] for m in report.money if m["field"] != "amount")


def test_the_erp_totals_are_netsuites_sums_not_the_records_read(synced, emulators, revops_user, finance_user,
                                                                  monkeypatch):
    """What NetSuite's aggregate answers is the ERP's total, even where it disagrees with the records read."""
    from connectors.netsuite import NetSuiteConnector

    invoice = invoice_rules_fixed(synced, revops_user, finance_user)
    for _ in range(2):
        sync(invoice)
    totals = NetSuiteConnector.totals

    def doctored(self, object, sums, group_by=()):
        rows = totals(self, object, sums, group_by)
        rows[0]["sum_amountpaid"] = str(Decimal(rows[0].get("sum_amountpaid") or 0) + Decimal("1.00"))
        return rows
    monkeypatch.setattr(NetSuiteConnector, "totals", doctored)

    report = reconcile(invoice)

    paid = next(m for m in report.money if m["field"] == "amount_paid")
    assert paid["difference"] == "-1.00" and not paid["agree"]
    assert report.mismatched == 0  # the records themselves agree
    assert {(i.kind, i.field) for i in report.items.all()} == {("money", "amount_paid")}
