"""Throughput of the compiled mapping pipeline on a realistic account rule set (HubSpot company <-> NetSuite customer).

Run: .venv/bin/python bench/mapping_pipeline.py [--records 100000] [--repeat 3]

Plain Python, no Django: builds 15 account field rules from plain RuleSpecs, generates vendor records on both
sides (HubSpot: every property is text; NetSuite: typed JSON with references and an address sublist), then
times, on one core, vendor -> canonical (transforms + validation) and canonical -> vendor for each side.
The headline figures are the slower side's; phones come in the mix a CRM really holds (international,
national, US-style), so the full phone parser runs on part of them.
Prints one `figure: <name> = <value> <unit>` line per figure.
"""
from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mapping.pipeline import RuleSpec, SideMapper, check_specs, compile_rules  # noqa: E402
from mapping.types import FieldType  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
ADDRESS = "addressbook.items.0.addressbookaddress"
INDUSTRIES = {"COMPUTER_SOFTWARE": "software", "FINANCIAL_SERVICES": "finance", "RETAIL": "retail",
              "MACHINERY": "manufacturing", "HOSPITAL_HEALTH_CARE": "healthcare"}
NETSUITE_INDUSTRIES = {"1": "software", "2": "finance", "3": "retail", "4": "manufacturing", "5": "healthcare"}
TERMS = {"Net 15": "net_15", "Net 30": "net_30", "Net 60": "net_60", "Due on receipt": "due_on_receipt"}
NETSUITE_TERMS = {"1": "net_15", "2": "net_30", "3": "net_60", "4": "due_on_receipt"}
NETSUITE_CURRENCIES = {"1": "USD", "2": "GBP", "4": "EUR"}
COUNTRIES = [("United Kingdom", "GB"), ("Germany", "DE"), ("France", "FR"), ("Netherlands", "NL"),
             ("United States", "US"), ("Spain", "ES")]


def account_specs() -> list[RuleSpec]:
    """The account rule set: 15 fields, as a RevOps admin would configure HubSpot companies <-> NetSuite customers."""
    trim = {"name": "trim", "params": {}}
    erp_money = {"name": "money", "params": {"currency_field": "currency.id", "currency_map": NETSUITE_CURRENCIES,
                                             "vendor_type": "number"}}
    return [
        RuleSpec("name", FieldType.TEXT, "name", "companyName", [trim], [trim],
                 {"required": True, "max_length": 83}),
        RuleSpec("domain", FieldType.TEXT, "domain", "custentity_domain",
                 [trim, {"name": "case", "params": {"mode": "lower"}}], [trim],
                 {"max_length": 253, "pattern": r"[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"}),
        RuleSpec("phone", FieldType.TEXT, "phone", "phone",
                 [{"name": "phone_e164", "params": {"default_region": "GB"}}],
                 [{"name": "phone_e164", "params": {"default_region": "GB"}}],
                 {"max_length": 16}),
        RuleSpec("address_line1", FieldType.TEXT, "address", f"{ADDRESS}.addr1", [trim], [trim],
                 {"max_length": 150}),
        RuleSpec("address_line2", FieldType.TEXT, "address2", f"{ADDRESS}.addr2", [trim], [trim],
                 {"max_length": 150}),
        RuleSpec("city", FieldType.TEXT, "city", f"{ADDRESS}.city", [trim], [trim], {"max_length": 50}),
        RuleSpec("postcode", FieldType.TEXT, "zip", f"{ADDRESS}.zip",
                 [trim, {"name": "case", "params": {"mode": "upper"}}], [trim], {"max_length": 36}),
        RuleSpec("country", FieldType.TEXT, "country", f"{ADDRESS}.country.id",
                 [{"name": "country", "params": {}}], [{"name": "country", "params": {"vendor": "alpha2"}}],
                 {"max_length": 2}),
        RuleSpec("industry", FieldType.CHOICE, "industry", "custentity_industry.id",
                 [{"name": "picklist", "params": {"map": INDUSTRIES}}],
                 [{"name": "picklist", "params": {"map": NETSUITE_INDUSTRIES}}],
                 {"choices": sorted(INDUSTRIES.values())}),
        RuleSpec("credit_limit", FieldType.MONEY, "credit_limit", "creditLimit",
                 [{"name": "money", "params": {"currency": "EUR"}}], [erp_money], {"min": 0, "max": 10_000_000}),
        RuleSpec("payment_terms", FieldType.CHOICE, "payment_terms", "terms.id",
                 [{"name": "picklist", "params": {"map": TERMS}}],
                 [{"name": "picklist", "params": {"map": NETSUITE_TERMS}}],
                 {"required": True, "choices": sorted(TERMS.values())}),
        RuleSpec("credit_hold", FieldType.BOOLEAN, "credit_hold", "custentity_credit_hold",
                 [{"name": "boolean", "params": {}}],
                 [{"name": "boolean", "params": {"true": True, "false": False}}], {}),
        RuleSpec("customer_number", FieldType.TEXT, "customer_number", "entityId", [trim], [trim],
                 {"required": True, "max_length": 32, "pattern": r"CUST-\d{5,8}"}),
        RuleSpec("balance", FieldType.MONEY, "balance_cents", "balance",
                 [{"name": "cents_to_units", "params": {"vendor_type": "string"}},
                  {"name": "money", "params": {"currency": "EUR"}}], [erp_money], {}),
        RuleSpec("updated", FieldType.DATETIME, "hs_lastmodifieddate", "lastModifiedDate",
                 [{"name": "datetime_format", "params": {}}],
                 [{"name": "datetime_format", "params": {"format": "%d/%m/%Y %H:%M:%S", "timezone": "Europe/Berlin"}}],
                 {"required": True}),
    ]


def _phone(rng: random.Random) -> str:
    """A phone number as people type them: mostly international, some national (UK), some US-style."""
    local = f"{rng.randrange(100_000_000):08d}"
    pick = rng.random()
    if pick < 0.6:
        return f"+44 20 {local[:4]} {local[4:]}"
    if pick < 0.85:
        return f"020 {local[:4]} {local[4:]}"
    return f"+1 (415) {local[:3]}-{local[3:7]}"


def records(count: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """``count`` HubSpot company property dicts and as many NetSuite customer records."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    crm, erp = [], []
    industries, terms = list(INDUSTRIES), list(TERMS)
    for number in range(count):
        name = f"  Acme {number} Holdings Ltd "
        country, code = COUNTRIES[number % len(COUNTRIES)]
        cents = rng.randrange(0, 50_000_000)
        limit = rng.randrange(0, 200) * 500
        moment = start + timedelta(seconds=rng.randrange(0, 60_000_000))
        crm.append({
            "name": name, "domain": f" Acme{number}.Example.com", "phone": _phone(rng),
            "address": f"{number} High Street ", "address2": "Unit 4" if number % 3 else "",
            "city": "London", "zip": f"ec1a {number % 9}bb", "country": country,
            "industry": industries[number % len(industries)], "credit_limit": f"{limit}.00",
            "payment_terms": terms[number % len(terms)], "credit_hold": "true" if number % 17 == 0 else "false",
            "customer_number": f"CUST-{number:06d}", "balance_cents": str(cents),
            "hs_lastmodifieddate": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        })
        erp.append({
            "id": str(number + 100), "companyName": name.strip(), "custentity_domain": f"acme{number}.example.com",
            "phone": f"+44 20 {number % 10000:04d} {rng.randrange(10000):04d}",
            "addressbook": {"items": [{"addressbookaddress": {
                "addr1": f"{number} High Street", "addr2": "Unit 4", "city": "London",
                "zip": f"EC1A {number % 9}BB", "country": {"id": code, "refName": country}}}]},
            "custentity_industry": {"id": str(number % 5 + 1), "refName": "Software"},
            "creditLimit": limit, "currency": {"id": "4", "refName": "EUR"},
            "terms": {"id": str(number % 4 + 1), "refName": "Net 30"}, "custentity_credit_hold": number % 17 == 0,
            "entityId": f"CUST-{number:06d}", "balance": cents / 100,
            "lastModifiedDate": moment.astimezone(BERLIN).strftime("%d/%m/%Y %H:%M:%S"),
        })
    return crm, erp


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def measure(mapper: SideMapper, vendor_records: list[dict], repeat: int) -> tuple[float, float, int]:
    """(to_canonical records/s, to_vendor records/s, records with errors); best of ``repeat`` timed passes.

    Results are dropped as they come, as a sync worker drops each batch once it is written; keeping 100,000
    results alive would time the garbage collector's scans of them instead of the mapping.
    """
    results = [mapper.to_canonical(record) for record in vendor_records]  # untimed: the input of to_vendor
    failed = sum(1 for result in results if result.errors)
    canonical = [result.values for result in results]
    del results
    gc.collect()
    gc.freeze()
    to_canonical, to_vendor = mapper.to_canonical, mapper.to_vendor
    best_read = best_write = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for record in vendor_records:
            to_canonical(record)
        best_read = min(best_read, time.process_time() - started)
        started = time.process_time()
        for values in canonical:
            to_vendor(values)
        best_write = min(best_write, time.process_time() - started)
    return _rate(len(vendor_records), best_read), _rate(len(canonical), best_write), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    specs = account_specs()
    problems = check_specs(specs)
    if problems:
        raise SystemExit("the bench rule set does not check:\n" + "\n".join(problems))
    crm_records, erp_records = records(args.records)
    gc.freeze()  # the generated input is setup, not work: keep the collector from rescanning it while timing
    print(f"{len(specs)} fields, {args.records} records per side, best of {args.repeat}", flush=True)
    figures = {}
    for side, vendor_records in (("crm", crm_records), ("erp", erp_records)):
        mapper = compile_rules(specs, side)
        read, write, failed = measure(mapper, vendor_records, args.repeat)
        if failed:
            sample = next(r for r in (mapper.to_canonical(v) for v in vendor_records) if r.errors)
            raise SystemExit(f"{side}: {failed} records failed to map, e.g. {sample.errors}")
        figures[side] = (read, write)
        print(f"  {side}: to_canonical {read:,.0f} records/s, to_vendor {write:,.0f} records/s", flush=True)
    print(f"figure: mapping_pipeline_to_canonical = {min(r for r, _ in figures.values()):.0f} records/s")
    print(f"figure: mapping_pipeline_to_vendor = {min(w for _, w in figures.values()):.0f} records/s")


if __name__ == "__main__":
    main()
