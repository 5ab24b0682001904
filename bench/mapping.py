"""Mapping + validation throughput of the default HubSpot ↔ NetSuite template's account rules.

Run: .venv/bin/python bench/mapping.py [--records 100000] [--repeat 3]

Plain Python (no database): the account rules of mapping/default_template.py (the ones setup_demo
publishes: 20 fields with trims, phones, countries, picklists, money with a currency field, an address
sublist selected by its default-shipping flag), over generated HubSpot companies and NetSuite customers.
Times vendor -> canonical (transforms + validation, what every pulled record goes through) on one core.
Target: >= 50,000 records/s. Prints one `figure: <name> = <value> <unit>` line per figure.
"""
from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mapping.default_template import ACCOUNT_RULES  # noqa: E402
from mapping.pipeline import RuleSpec, compile_rules  # noqa: E402

CITIES = [("Springfield", "62704"), ("Austin", "73301"), ("Chicago", "60601"), ("Malibu", "90265")]
COUNTRIES = [("United States", "US"), ("Germany", "DE"), ("United Kingdom", "GB"), ("France", "FR")]
INDUSTRIES = ["COMPUTER_SOFTWARE", "MANUFACTURING", "RETAIL", "WHOLESALE", "LOGISTICS"]
CATEGORIES = ["Software", "Manufacturing", "Retail", "Wholesale", "Services"]
STATUSES = ["LEAD-Qualified", "PROSPECT-In Discussion", "CUSTOMER-Closed Won", "CUSTOMER-Renewal"]


def specs() -> list[RuleSpec]:
    def paths(text: str) -> str | list[str]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return parts if len(parts) > 1 else (parts[0] if parts else "")

    return [RuleSpec(field=r["field"], field_type=r["field_type"], crm_path=paths(r["crm_path"]),
                     erp_path=paths(r["erp_path"]), crm_transforms=r["crm_transforms"],
                     erp_transforms=r["erp_transforms"], validation=r["validation"], sensitive=r["sensitive"])
            for r in ACCOUNT_RULES]


def hubspot_companies(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        city, zip_code = rng.choice(CITIES)
        out.append({
            "name": f"  Company {i} Inc ", "phone": f"+1 217 555 {i % 10000:04d}", "address": f"{i} Main Street",
            "city": city, "zip": zip_code, "country": rng.choice(COUNTRIES)[0], "industry": rng.choice(INDUSTRIES),
            "domain": f"company{i}.example", "lifecyclestage": rng.choice(["lead", "opportunity", "customer"]),
            "hubspot_owner_id": str(100 + i % 7), "erp_customer_number": f"CUST-{i}",
            "erp_billing_street": f"{i} Main Street", "erp_billing_city": city, "erp_billing_zip": zip_code,
            "erp_billing_country": "US", "erp_credit_limit": f"{(i % 50) * 1000}.00", "erp_currency": "USD",
            "erp_payment_terms": "Net 30", "erp_credit_hold": "auto", "erp_outstanding_balance": f"{i % 997}.50",
            "erp_overdue_balance": "0.00",
        })
    return out


def netsuite_customers(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        city, zip_code = rng.choice(CITIES)
        address = {"addr1": f"{i} Main Street", "city": city, "zip": zip_code, "country": rng.choice(COUNTRIES)[1]}
        out.append({
            "id": str(i), "entityId": f"CUST-{i}", "companyName": f"Company {i} Incorporated",
            "phone": f"+1 217 555 {i % 10000:04d}", "url": f"https://company{i}.example",
            "category": rng.choice(CATEGORIES), "entityStatus": rng.choice(STATUSES), "creditLimit": (i % 50) * 1000,
            "currency": "USD", "terms": "Net 30", "creditHoldOverride": "AUTO", "balance": (i % 997) + 0.5,
            "overdueBalance": 0,
            "addressBook": [{"defaultShipping": True, "defaultBilling": True, "addressBookAddress": address}],
        })
    return out


def measure(mapper, records: list[dict], repeat: int) -> tuple[float, int]:
    best = float("inf")
    failures = 0
    to_canonical = mapper.to_canonical
    for _ in range(repeat):
        started = time.process_time()
        failures = 0
        for record in records:
            if to_canonical(record).errors:
                failures += 1
        best = min(best, time.process_time() - started)
    return len(records) / best, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    rules = specs()
    crm_records, erp_records = hubspot_companies(args.records, rng), netsuite_customers(args.records, rng)
    gc.freeze()  # the generated input is not garbage; keep the collector from re-scanning it
    crm_rate, crm_failed = measure(compile_rules(rules, "crm"), crm_records, args.repeat)
    erp_rate, erp_failed = measure(compile_rules(rules, "erp"), erp_records, args.repeat)
    print(f"{len(rules)} account rules, {args.records} records per side, best of {args.repeat} "
          f"(records failing validation: crm {crm_failed}, erp {erp_failed})")
    print(f"figure: mapping_crm_accounts = {crm_rate:.0f} records/s")
    print(f"figure: mapping_erp_accounts = {erp_rate:.0f} records/s")
    print(f"figure: mapping_accounts = {min(crm_rate, erp_rate):.0f} records/s")


if __name__ == "__main__":
    main()
