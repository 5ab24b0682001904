"""Put a messy corpus into running sandbox emulators, and read the public restaurants set as CRM companies.

The loader writes through each emulator's own write path (HubSpot's property validation and unique emails,
NetSuite's required fields, options and references), in the process that runs the emulator: the `emulators`
fixture's, or one the bench saves to a state file and serves from a subprocess. What a vendor would refuse is
refused here too and reported, never forced in.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.sandbox.hubspot_data import property_spec
from connectors.sandbox.messy_corpus import CRM, ERP, KINDS, CorpusRecord
from connectors.sandbox.messy_faults import EXTRA_INDUSTRIES, EXTRA_LIFECYCLE_STAGES, observe
from connectors.sandbox.server import Emulator, HttpError

RESTAURANT_KEY = "crm:companies:restaurant-{row}"  # row: 1-based, as the set's own gold file numbers them


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
    """Create the records in the emulators (running ones, or `Emulator` objects): HubSpot's records in `hubspot`,
    NetSuite's in `netsuite` (a system left out is skipped). Parents go first; a contact is associated with its
    company (HubSpot: the association and its primary company id; NetSuite: `company`); HubSpot companies
    marked archived are archived last, as someone did after their contacts were entered."""
    loaded = Loaded()
    by_kind: dict[tuple[str, str], list[CorpusRecord]] = {kind: [] for kind in KINDS}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    crm, erp = getattr(hubspot, "emulator", hubspot), getattr(netsuite, "emulator", netsuite)
    if crm is not None:
        with crm.store.lock:
            portal_options(crm)
            for kind in KINDS:
                if kind[0] == CRM:
                    for record in by_kind[kind]:
                        _hubspot_create(crm, record, loaded)
            for record in by_kind[(CRM, "companies")]:
                if record.archived and record.key in loaded.ids:
                    crm._archive("companies", crm._records("companies")[loaded.ids[record.key]])
            crm.store.changed()
    if erp is not None:
        with erp.store.lock:
            for kind in KINDS:
                if kind[0] == ERP:
                    for record in by_kind[kind]:
                        _netsuite_create(erp, record, loaded)
            erp.store.changed()
    return loaded


def portal_options(emulator: Emulator) -> None:
    """Give the HubSpot portal what a real one has beyond the emulator's short lists: HubSpot's other industries
    and lifecycle stages, and the standard company description."""
    for object_type, name, values in (("companies", "industry", EXTRA_INDUSTRIES),
                                      ("companies", "lifecyclestage", EXTRA_LIFECYCLE_STAGES),
                                      ("contacts", "lifecyclestage", EXTRA_LIFECYCLE_STAGES)):
        options = emulator.store.table(f"properties:{object_type}")[name]["options"]
        known = {option["value"] for option in options}
        options.extend({"label": value.replace("_", " ").title(), "value": value, "displayOrder": len(options) + i,
                        "hidden": False} for i, value in enumerate(v for v in values if v not in known))
    companies = emulator.store.table("properties:companies")
    if "description" not in companies:
        companies["description"] = property_spec("description", "Description", field_type="textarea",
                                                 group="companyinformation")


def _hubspot_create(emulator: Any, record: CorpusRecord, loaded: Loaded) -> None:
    properties = dict(record.fields)
    parent = loaded.ids.get(record.parent or "")
    if parent and record.object == "contacts":
        properties["associatedcompanyid"] = parent
    try:
        values = emulator._validate(record.object, properties)
        emulator._check_unique(record.object, values, None)
        created = emulator._write(record.object, values)
        if parent:
            emulator._associate(record.object, created["id"], "companies", parent)
    except HttpError as exc:
        loaded.refused[record.key] = exc.message
        return
    loaded.ids[record.key] = created["id"]


def _netsuite_create(emulator: Any, record: CorpusRecord, loaded: Loaded) -> None:
    body = dict(record.fields)
    if record.parent:
        parent = loaded.ids.get(record.parent)
        if parent is None:
            loaded.refused[record.key] = f"its company {record.parent} was refused"
            return
        body["company"] = {"id": parent}
    try:
        loaded.ids[record.key] = emulator._save(record.object, body, None, None, set())
    except HttpError as exc:
        loaded.refused[record.key] = exc.message


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
