"""Scores from per-feature similarities, with evidence; tunable weights; blocking that loses no true pair."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.dedupe import generate, true_pairs
from reconciliation.duplicates import blocking, matching, scoring

ACME = {"name": "Acme Inc", "domain": "https://www.acme.com", "phone": "(415) 555-0123",
        "shipping_street": "12 Main Street", "shipping_city": "San Francisco", "shipping_postcode": "94105",
        "shipping_country": "US"}


def _score(a, b, entity="account", **overrides):
    profile = scoring.profile_for(entity, overrides or None)
    return scoring.score(profile, profile.prepare(a), profile.prepare(b))


def _evidence(a, b, entity="account"):
    profile = scoring.profile_for(entity)
    return scoring.evidence(profile, profile.prepare(a), profile.prepare(b))


def test_three_spellings_of_one_company_are_near_certain_matches():
    profile = scoring.profile_for("account")
    for name in ("ACME, Inc.", "Acme Incorporated"):
        assert _score(ACME, {**ACME, "name": name, "domain": "acme.com", "phone": "+1 415 555 0123"}) >= profile.upper


def test_a_sister_company_sharing_the_brand_is_not_a_candidate():
    sister = {"name": "Acme Foods Inc", "domain": "acmefoods.com", "phone": "(212) 555-0199",
              "shipping_street": "400 Lake Avenue", "shipping_city": "Chicago", "shipping_postcode": "60601",
              "shipping_country": "US"}
    assert _score(ACME, sister) < scoring.profile_for("account").lower


def test_the_same_name_with_nothing_else_in_common_is_left_for_a_person_not_linked():
    value = _score({"name": "Acme Inc"}, {"name": "ACME Incorporated"})
    profile = scoring.profile_for("account")
    assert profile.lower <= value < profile.upper


def test_evidence_lists_each_feature_with_both_values_and_its_contribution():
    other = {**ACME, "name": "ACME, Inc.", "phone": "", "shipping_postcode": "94107"}
    value, rows = _evidence(ACME, other)
    by_feature = {row["feature"]: row for row in rows}
    assert set(by_feature) == {f.name for f in scoring.ACCOUNT.features}
    name = by_feature["name"]
    assert (name["left"], name["right"], name["left_compared"], name["similarity"]) == (
        "Acme Inc", "ACME, Inc.", "acme", 1.0)
    assert name["contribution"] == scoring.ACCOUNT.feature("name").agree
    assert by_feature["phone"]["contribution"] == 0 and by_feature["phone"]["right"] is None  # missing: no say
    assert by_feature["postcode"]["contribution"] == -scoring.ACCOUNT.feature("postcode").disagree
    assert by_feature["domain"]["left"] == "https://www.acme.com"
    assert by_feature["domain"]["left_compared"] == "acme.com"
    total = scoring.ACCOUNT.bias + sum(row["contribution"] for row in rows)
    assert value == pytest.approx(1 / (1 + math.exp(-total)), abs=1e-3)
    assert value == pytest.approx(_score(ACME, other))


def test_a_disagreeing_tax_id_outweighs_a_matching_name():
    a = {**ACME, "tax_id": "12-3456789"}
    assert _score(a, {**ACME, "tax_id": "98-7654321"}) < _score(a, {**ACME, "tax_id": "12 3456789"})
    profile = scoring.profile_for("account")
    assert profile.lower <= _score(a, {**ACME, "tax_id": "98-7654321"}) < profile.upper  # a person decides


def test_weights_and_thresholds_can_be_tuned_per_entity():
    a, b = {"name": "Acme", "phone": "415 555 0123"}, {"name": "Acme", "phone": "(415) 555-0123"}
    assert _score(a, b, phone={"agree": 9.0}) == pytest.approx(_score(a, b))  # an unknown key is no override
    tuned = scoring.profile_for("account", {"features": {"phone": {"agree": 9.0}}, "upper": 0.99})
    assert scoring.score(tuned, tuned.prepare(a), tuned.prepare(b)) > _score(a, b)
    assert tuned.upper == 0.99 and scoring.profile_for("account").upper == scoring.ACCOUNT.upper
    with pytest.raises(ValueError, match="thresholds"):
        scoring.profile_for("account", {"lower": 0.9, "upper": 0.8})
    with pytest.raises(ValueError, match="no duplicate detection"):
        scoring.profile_for("invoice")


def test_contacts_and_items_have_their_own_features():
    ann = {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@acme.com", "account": "record:4"}
    assert _score(ann, {"first_name": "LEE", "last_name": "Ann", "email": "Ann.Lee@acme.com"}, "contact") > 0.97
    assert _score(ann, {"first_name": "Ann", "last_name": "Lee", "email": "ann@other.com",
                        "account": "record:9"}, "contact") < 0.5
    widget = {"sku": "WID-100", "name": "Widget, blue"}
    assert _score(widget, {"sku": "wid100", "name": "Blue widget"}, "item") > 0.97
    assert _score(widget, {"sku": "WID-200", "name": "Widget, blue"}, "item") < 0.5


RECORD = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["Acme Inc", "ACME", "Acme Foods", "Nordwind GmbH", "Zeta B.V.", ""]),
    "domain": st.sampled_from(["acme.com", "www.acme.com", "nordwind.de", ""]),
    "phone": st.sampled_from(["(415) 555-0123", "+1 415 555 0123", "+49 30 1234567", ""]),
    "shipping_street": st.sampled_from(["12 Main Street", "12 Main St.", "5 Lake Ave", ""]),
    "shipping_postcode": st.sampled_from(["94105", "10115", ""]),
    "tax_id": st.sampled_from(["DE123456789", "de 123 456 789", "GB999"]),
})


@given(RECORD, RECORD)
@settings(max_examples=300, deadline=None)
def test_scores_are_symmetric_bounded_and_the_threshold_shortcut_never_drops_a_candidate(a, b):
    profile = scoring.profile_for("account")
    pa, pb = profile.prepare(a), profile.prepare(b)
    value = scoring.score(profile, pa, pb)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(scoring.score(profile, pb, pa))
    shortcut = scoring.score(profile, pa, pb, profile.lower)
    assert shortcut == value or (shortcut == 0.0 and value < profile.lower)
    assert scoring.evidence(profile, pa, pb)[0] == pytest.approx(value)


@given(RECORD)
@settings(max_examples=100, deadline=None)
def test_a_record_is_its_own_best_match(a):
    profile = scoring.profile_for("account")
    p = profile.prepare(a)
    assert scoring.score(profile, p, p) >= scoring.score(profile, p, profile.prepare({"name": "Other Ltd"}))


def test_blocking_loses_no_true_pair_of_the_test_set():
    rows, truth = generate(3000, seed=11)
    profile = scoring.profile_for("account")
    prepared = [profile.prepare(values) for _, values in rows]
    keys = [blocking.blocking_keys("account", p) for p in prepared]
    encoded, counts = blocking.candidate_pairs(keys, [matching.sort_value(p) for p in prepared])
    size = len(rows)
    blocked = {matching.pair_key(rows[c // size][0], rows[c % size][0]) for c in encoded}
    expected = true_pairs(truth, [record_id for record_id, _ in rows])
    assert len(expected) > 1000
    assert expected - blocked == set()
    assert counts["pairs"] < size * 20  # grows with the data, not its square (4.5M pairs all-to-all)


def test_oversized_blocks_fall_back_to_sorted_neighbourhood():
    keys = [{"t:global"} for _ in range(200)]
    names = [f"name {i:03d}" for i in range(200)]
    encoded, counts = blocking.candidate_pairs(keys, names, max_block=50, window=3)
    assert counts["oversized_blocks"] == 1
    assert len(encoded) == 199 + 198 + 197  # each with its 3 nearest neighbours, not 19,900 pairs


def test_a_scan_clusters_candidates_and_skips_pairs_marked_not_duplicates():
    rows = [(1, {"name": "Acme Inc", "domain": "acme.com"}), (2, {"name": "ACME, Inc.", "domain": "www.acme.com"}),
            (3, {"name": "Acme Incorporated", "domain": "acme.com"}), (4, {"name": "Nordwind GmbH"}),
            (5, {"name": "Zeta BV", "phone": "+31 20 123 4567"}), (6, {"name": "Zeta B.V.", "phone": "020 1234567"})]
    result = matching.scan("account", rows, with_evidence=True)
    assert result.clusters[0] == [1, 2, 3] and [4] not in result.clusters
    assert {(p.left, p.right) for p in result.pairs} >= {(1, 2), (1, 3), (2, 3)}
    assert all(p.evidence for p in result.pairs)
    again = matching.scan("account", rows, exclude={(1, 2), (1, 3), (2, 3)})
    assert [1, 2, 3] not in again.clusters and all(p.left != 1 for p in again.pairs)
