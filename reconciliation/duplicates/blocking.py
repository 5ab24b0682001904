"""Blocking: only records that share a key are compared, so the work grows with the data, not its square.

Keys are made from the normalised values (pure functions): exact keys on strong identifiers (domain, phone,
e-mail, tax id, SKU) and typo-tolerant keys on names (each distinctive token, and its first and last four
letters, so one typo in a word still leaves a shared key; initials for acronyms; postcode + first letter).
The same keys are stored per golden record (``BlockingKey``) so the sync's match step looks a record up
by index instead of scanning the table.

In a full scan a block larger than ``max_block`` is not compared all-to-all: its records are sorted by name
and each is compared with its ``window`` nearest neighbours (sorted neighbourhood), which keeps a key
shared by thousands of records ("global", a shared switchboard number) linear.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from reconciliation.duplicates import normalize as n
from reconciliation.duplicates.scoring import Prepared

MAX_BLOCK = 50
WINDOW = 4


def _token_keys(tokens: Sequence[str], prefix: str = "t", scope: str = "") -> list[str]:
    """Each distinctive token; and for longer ones their first and last four letters (within ``scope``,
    e.g. the country, as such fragments are common), so one typo in a word still leaves a key."""
    keys = []
    distinctive = [t for t in tokens if t not in n.GENERIC_NAME_WORDS and len(t) >= 2]
    for token in distinctive:
        keys.append(f"{prefix}:{token}")
        if len(token) >= 6:
            keys.append(f"{prefix}<:{scope}:{token[:4]}")
            keys.append(f"{prefix}>:{scope}:{token[-4:]}")
    if not distinctive and tokens:
        keys.append(f"{prefix}=:{' '.join(tokens)}")  # "Global Solutions": only the whole name is a key
    return keys


def account_keys(p: Prepared) -> set[str]:
    tokens = p.get("name_tokens", ())
    keys = set(_token_keys(tokens, scope=p.get("country", "")))
    if len(tokens) >= 3:  # "international business machines" meets "ibm"
        keys.add("a:" + n.initials(tokens))
    elif len(tokens) == 1 and 3 <= len(tokens[0]) <= 5:
        keys.add("a:" + tokens[0])
    for feature in ("domain", "phone", "email", "tax_id"):
        if p.get(feature):
            keys.add(f"{feature[0]}:{p[feature]}")
    if p.get("postcode") and tokens:
        keys.add(f"z:{p['postcode']}:{tokens[0][0]}")
    street = p.get("street", "").split()
    number = next((t for t in street if t[:1].isdigit()), "")
    word = next((t for t in street if not t[:1].isdigit() and len(t) > 2), "")
    if number and word:  # the same building: "12 main st" in the same city (or postcode)
        keys.add(f"s:{number}:{word}:{p.get('city') or p.get('postcode')}")
    return keys


def contact_keys(p: Prepared) -> set[str]:
    keys = set()
    for feature in ("email", "phone"):
        if p.get(feature):
            keys.add(f"{feature[0]}:{p[feature]}")
    parts = p.get("name", "").split()
    first, last = p.get("first", ""), p.get("last", "")
    for token in parts:  # either part with the other's initial: survives swapped first/last names
        if len(token) < 2:
            continue
        others = [t[0] for t in parts if t != token]
        for initial in others[:2] or [""]:
            keys.add(f"n:{token}:{initial}")
            if len(token) >= 6:
                keys.add(f"n<:{token[:4]}:{initial}")
                keys.add(f"n>:{token[-4:]}:{initial}")
    if last and p.get("account"):
        keys.add(f"c:{p['account']}:{last[:2]}")
    if first and p.get("account"):
        keys.add(f"c:{p['account']}:{first[:2]}")
    return keys


def item_keys(p: Prepared) -> set[str]:
    keys = set(_token_keys(p.get("name_tokens", ())))
    sku = p.get("sku")
    if sku:
        keys.add(f"s:{sku}")
        if len(sku) >= 6:
            keys.add(f"s<:{sku[:-2]}")
    return keys


KEYS = {"account": account_keys, "contact": contact_keys, "item": item_keys}


def blocking_keys(entity_type: str, prepared: Prepared) -> set[str]:
    """The blocking keys of one prepared record (each at most 255 characters)."""
    return {key[:255] for key in KEYS[entity_type](prepared)}


def candidate_pairs(keys_by_index: Sequence[Iterable[str]], sort_values: Sequence[str], *,
                    max_block: int = MAX_BLOCK, window: int = WINDOW) -> tuple[set[int], dict[str, int]]:
    """Every pair of record positions that share a key, as ``i * size + j`` (i < j).

    Blocks over ``max_block`` records are compared by sorted neighbourhood on ``sort_values`` within
    ``window``. Returns the pairs and counts (blocks, oversized blocks, pairs)."""
    size = len(keys_by_index)
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, keys in enumerate(keys_by_index):
        for key in keys:
            blocks[key].append(index)
    pairs: set[int] = set()
    oversized = 0
    for members in blocks.values():
        count = len(members)
        if count < 2:
            continue
        if count <= max_block:
            for x in range(count):
                i = members[x]
                base = i * size
                for y in range(x + 1, count):
                    j = members[y]
                    pairs.add(base + j if i < j else j * size + i)
            continue
        oversized += 1
        ordered = sorted(members, key=sort_values.__getitem__)
        for x in range(count):
            i = ordered[x]
            for y in range(x + 1, min(count, x + 1 + window)):
                j = ordered[y]
                pairs.add(i * size + j if i < j else j * size + i)
    return pairs, {"blocks": len(blocks), "oversized_blocks": oversized, "pairs": len(pairs)}
