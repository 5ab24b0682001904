"""Put a messy corpus into running sandbox emulators, and read the public restaurants set as CRM companies.

The loader calls each emulator's public API (HubSpot's property validation and unique emails, NetSuite's required
fields, options, references and the defaults it fills in), in the process that runs the emulator: the
`emulators` fixture's, or one the bench saves to a state file and serves from a subprocess. What a vendor would
refuse is refused here too and reported, never forced in.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from connectors.base import error_message
from connectors.sandbox.hubspot_data import property_spec
from connectors.sandbox.messy_corpus import CRM, ERP, KINDS, CorpusRecord
from connectors.sandbox.messy_faults import EXTRA_INDUSTRIES, EXTRA_LIFECYCLE_STAGES, observe
from connectors.sandbox.server import Emulator, Request

RESTAURANT_KEY = "crm:companies:restaurant-{row}"  # row: 1-based, as the set's own gold file numbers them
# HubSpot's unlabeled association type from a contact or a deal to its company.
UNLABELED_TO_COMPANY = {"contacts": 279, "deals": 341}


@dataclass
class Loaded:
    """What the vendors made of a corpus: their ids, and the records they refused with their errors."""

    ids: dict[str, str] = field(default_factory=dict)  # corpus key -> the vendor's id
    refused: dict[str, str] = field(default_factory=dict)  # corpus key -> the vendor's error message

    def keys_by_id(self, system: str, object: str) -> dict[str, str]:
        """The vendor's id -> corpus key, for one system's records of one object (NetSuite numbers each record
        type on its own)."""
        prefix = f"{system}:{object}:"
        return {vendor_id: key for key, vendor_id in self.ids.items() if key.startswith(prefix)}


def load_corpus(records: Iterable[CorpusRecord], *, hubspot: Any = None, netsuite: Any = None) -> Loaded:
    """Create the records in the emulators (running ones, or `Emulator` objects) through each vendor's public API,
    called in this process: HubSpot's records in `hubspot`, NetSuite's in `netsuite` (a system left out is
    skipped). Parents go first; a contact names its company (HubSpot: the association and `associatedcompanyid`,
    its primary company; NetSuite: `company`), a deal its company; HubSpot companies marked archived are archived
    last, as someone did after their contacts were entered."""
    loaded = Loaded()
    by_kind: dict[tuple[str, str], list[CorpusRecord]] = {kind: [] for kind in KINDS}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    crm, erp = getattr(hubspot, "emulator", hubspot), getattr(netsuite, "emulator", netsuite)
    if crm is not None:
        api = InProcess(crm)
        with crm.store.lock:
            portal_options(crm)
        for kind in KINDS:
            for record in by_kind[kind] if kind[0] == CRM else ():
                _hubspot_create(api, record, loaded)
        for record in by_kind[(CRM, "companies")]:
            if record.archived and record.key in loaded.ids:
                api("DELETE", f"/crm/v3/objects/companies/{loaded.ids[record.key]}")
    if erp is not None:
        api = InProcess(erp)
        for kind in KINDS:
            for record in by_kind[kind] if kind[0] == ERP else ():
                _netsuite_create(api, record, loaded)
    return loaded


class InProcess:
    """An emulator's public API called without a socket: routing, auth, validation and the vendor's defaults as
    over HTTP, at the speed a corpus of tens of thousands of records needs."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
        headers = Message()
        headers["Authorization"] = f"Bearer {self.emulator.token}"
        headers["Host"] = "sandbox.invalid"
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode() if body is not None else b""
        response = self.emulator.handle(Request(method, path, {}, headers, data))
        return response.status, json.loads(response.body) if response.body else None, response.headers


def portal_options(emulator: Emulator) -> None:
    """Give the HubSpot portal what a real one has beyond the emulator's short lists, as its settings page would
    (the API has no call for it): HubSpot's other industries and lifecycle stages, and the company description."""
    for object_type, name, values in (("companies", "industry", EXTRA_INDUSTRIES),
                                      ("companies", "lifecyclestage", EXTRA_LIFECYCLE_STAGES),
                                      ("contacts", "lifecyclestage", EXTRA_LIFECYCLE_STAGES)):
        table = emulator.store.table(f"properties:{object_type}")
        options = table[name]["options"]
        known = {option["value"] for option in options}
        # A new definition, never the seed's lists extended in place: other emulators in this process share them.
        table[name] = {**table[name], "options": [*options, *(
            {"label": value.replace("_", " ").title(), "value": value, "displayOrder": len(options) + i,
             "hidden": False} for i, value in enumerate(v for v in values if v not in known))]}
    companies = emulator.store.table("properties:companies")
    if "description" not in companies:
        companies["description"] = property_spec("description", "Description", field_type="textarea",
                                                 group="companyinformation")


def _hubspot_create(api: InProcess, record: CorpusRecord, loaded: Loaded) -> None:
    body: dict[str, Any] = {"properties": dict(record.fields)}
    parent = loaded.ids.get(record.parent or "")
    if record.parent and parent is None:
        loaded.refused[record.key] = f"its company {record.parent} was refused"
        return
    if parent:
        if record.object == "contacts":
            body["properties"]["associatedcompanyid"] = parent
        body["associations"] = [{"to": {"id": parent}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": UNLABELED_TO_COMPANY[record.object]}]}]
    status, answer, _ = api("POST", f"/crm/v3/objects/{record.object}", body)
    if status == 201:
        loaded.ids[record.key] = str(answer["id"])
    else:
        loaded.refused[record.key] = error_message(answer)


def _netsuite_create(api: InProcess, record: CorpusRecord, loaded: Loaded) -> None:
    body = dict(record.fields)
    if record.parent:
        parent = loaded.ids.get(record.parent)
        if parent is None:
            loaded.refused[record.key] = f"its company {record.parent} was refused"
            return
        body["company"] = {"id": parent}
    status, answer, headers = api("POST", f"/services/rest/record/v1/{record.object}", body)
    if status == 204:
        loaded.ids[record.key] = headers["Location"].rstrip("/").rpartition("/")[2]
    else:
        loaded.refused[record.key] = error_message(answer)


# -- the public restaurants set ------------------------------------------------------------------------------


class MissingData(FileNotFoundError):
    """A public data set the corpus reads is not on this machine (the message says where it was looked for)."""


def restaurants_dir(repo: Path | None = None) -> Path:
    """Where the restaurants set lives: beside the repository, never inside it."""
    return Path(repo or Path(__file__).resolve().parents[2]).parent / "shared/data/er/restaurants"


def restaurant_companies(directory: Path | None = None) -> list[CorpusRecord]:
    """Every row of the restaurants set (Fodor's and Zagat's guides) as a HubSpot company: name, street, city,
    phone, the cuisine in the description. The `class` column is the set's duplicate label: never loaded."""
    path = (directory or restaurants_dir()) / "restaurant.csv"
    if not path.is_file():
        raise MissingData(f"the public restaurants set is not on this machine: no {path}")
    records = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row, line in enumerate(csv.DictReader(handle), start=1):
            line.pop("class", None)
            record = CorpusRecord(
                key=RESTAURANT_KEY.format(row=row), system=CRM, object="companies", entity="",
                fields={"name": line["name"].strip(), "address": line["addr"].strip(), "city": line["city"].strip(),
                        "phone": line["phone"].strip(), "country": "United States",
                        "description": f"Cuisine: {line['type'].strip()}"})
            observe(record)
            records.append(record)
    return records
