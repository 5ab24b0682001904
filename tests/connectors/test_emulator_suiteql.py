"""The NetSuite emulator answers the SuiteQL real clients send as NetSuite (on Oracle) does, over real HTTP:
pattern matching, lists and ranges, NULLs, case functions, sorting, row limits and the REST paging envelope;
and refuses what NetSuite refuses with its error document (shared/contracts/netsuite/CONTRACT.md)."""
from __future__ import annotations

import pytest
import requests

from connectors.sandbox import RunningEmulator
from connectors.sandbox import netsuite_suiteql as suiteql
from tests.connectors.netsuite_fixtures import ns_fixture, signed  # noqa: F401

SUITEQL = "/services/rest/query/v1/suiteql"
REC = "/services/rest/record/v1"


def rows(running: RunningEmulator, sql: str, **params: int) -> list[dict]:
    response = query(running, sql, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def query(running: RunningEmulator, sql: str, **params: int) -> requests.Response:
    return signed("POST", f"{running.url}{SUITEQL}", json={"q": sql}, headers={"Prefer": "transient"},
                  params=params)


def names(running: RunningEmulator, where: str, order: str = "ORDER BY id") -> list[str]:
    return [row["companyname"] for row in rows(running, f"SELECT companyname FROM customer WHERE {where} {order}")]


# The demo ERP's customers, by id: 100 Acme Incorporated, 101 Globex Corporation, 102 Initech LLC,
# 103 Umbrella Corporation, 104 Stark Industries. Only Acme has a web address.
ALL = ["Acme Incorporated", "Globex Corporation", "Initech LLC", "Umbrella Corporation", "Stark Industries"]


class TestPatterns:
    def test_like_matches_with_percent_and_underscore_and_is_case_sensitive(self, ns):
        assert names(ns, "companyname LIKE 'Acme%'") == ["Acme Incorporated"]
        assert names(ns, "companyname LIKE 'acme%'") == []
        assert names(ns, "companyname LIKE '%Corporation'") == ["Globex Corporation", "Umbrella Corporation"]
        assert names(ns, "entityid LIKE 'CUST-100_'") == ALL
        assert names(ns, "entityid LIKE 'CUST-10_'") == []

    def test_upper_and_lower_make_a_match_case_blind(self, ns):
        assert names(ns, "UPPER(companyname) LIKE 'ACME%'") == ["Acme Incorporated"]
        assert names(ns, "LOWER(companyname) = 'initech llc'") == ["Initech LLC"]
        assert names(ns, "companyname = 'initech llc'") == []

    def test_not_like_leaves_out_what_matches_and_what_is_null(self, ns):
        assert names(ns, "companyname NOT LIKE '%Corporation'") == ["Acme Incorporated", "Initech LLC",
                                                                     "Stark Industries"]
        # Only Acme has a web address: NOT LIKE on a NULL is unknown, so the others are not returned either.
        assert names(ns, "url NOT LIKE '%globex%'") == ["Acme Incorporated"]
        assert names(ns, "url IS NULL") == ALL[1:]
        assert names(ns, "NOT url = 'https://acme.example'") == []

    def test_escape_quotes_the_wildcards(self, ns):
        for name in ("100% Juice Co", "100 Percent Juice Co"):
            assert signed("POST", f"{ns.url}{REC}/customer", json={"companyName": name}).status_code == 204

        assert names(ns, "companyname LIKE '100\\% %' ESCAPE '\\'") == ["100% Juice Co"]
        assert names(ns, "companyname LIKE '100% %'") == ["100% Juice Co", "100 Percent Juice Co"]


class TestListsRangesAndNulls:
    def test_in_and_not_in(self, ns):
        assert names(ns, "entityid IN ('CUST-1001', 'CUST-1003')") == ["Acme Incorporated", "Initech LLC"]
        assert names(ns, "id NOT IN (100, 101, 102)") == ["Umbrella Corporation", "Stark Industries"]
        assert names(ns, "id NOT IN (100, NULL)") == []  # NOT IN a list holding NULL is never true

    def test_between_includes_both_bounds(self, ns):
        assert names(ns, "id BETWEEN 101 AND 103") == ALL[1:4]
        assert names(ns, "id NOT BETWEEN 101 AND 103") == ["Acme Incorporated", "Stark Industries"]
        assert names(ns, "creditlimit BETWEEN 25000 AND 50000 AND creditlimit > 25000") == ["Acme Incorporated"]

    def test_between_dates(self, ns):
        assert names(ns, "lastmodifieddate BETWEEN TO_DATE('2000-01-01', 'YYYY-MM-DD') "
                         "AND TO_DATE('2999-12-31', 'YYYY-MM-DD')") == ALL
        assert names(ns, "lastmodifieddate BETWEEN TO_DATE('2000-01-01', 'YYYY-MM-DD') "
                         "AND TO_DATE('2000-12-31', 'YYYY-MM-DD')") == []


class TestSelectAndSort:
    def test_upper_and_lower_in_the_select_list(self, ns):
        found = rows(ns, "SELECT UPPER(companyname) AS shout, LOWER(email) mail FROM customer WHERE id = 101")

        assert found == [{"links": [], "shout": "GLOBEX CORPORATION", "mail": "billing@globex.example"}]

    def test_order_by_several_keys_in_both_directions(self, ns):
        found = rows(ns, "SELECT category, companyname FROM customer ORDER BY category DESC, companyname ASC")

        assert [(r["category"], r["companyname"]) for r in found] == [
            ("Software", "Globex Corporation"), ("Software", "Initech LLC"), ("Services", "Umbrella Corporation"),
            ("Retail", "Stark Industries"), ("Manufacturing", "Acme Incorporated")]

    def test_order_by_an_alias_a_position_and_an_expression(self, ns):
        assert signed("POST", f"{ns.url}{REC}/customer", json={"companyName": "aardvark Ltd"}).status_code == 204
        by_alias = rows(ns, "SELECT id, LOWER(companyname) AS n FROM customer ORDER BY n DESC")
        by_position = rows(ns, "SELECT id, companyname FROM customer ORDER BY 2")
        by_expression = rows(ns, "SELECT companyname FROM customer ORDER BY UPPER(companyname)")

        assert [r["n"] for r in by_alias] == sorted((n.lower() for n in [*ALL, "aardvark Ltd"]), reverse=True)
        # Oracle sorts text by code point: capitals before small letters, unless the key is UPPER/LOWER.
        assert [r["companyname"] for r in by_position] == [*sorted(ALL), "aardvark Ltd"]
        assert [r["companyname"] for r in by_expression] == ["aardvark Ltd", *sorted(ALL)]

    def test_nulls_sort_last_ascending_first_descending_unless_told(self, ns):
        def urls(order: str) -> list[str | None]:
            return [r.get("url") for r in rows(ns, f"SELECT id, url FROM customer ORDER BY url {order}, id")]

        assert urls("ASC") == ["https://acme.example", None, None, None, None]
        assert urls("DESC") == [None, None, None, None, "https://acme.example"]
        assert urls("ASC NULLS FIRST")[0] is None and urls("DESC NULLS LAST")[0] == "https://acme.example"

    def test_distinct(self, ns):
        assert rows(ns, "SELECT DISTINCT category FROM customer WHERE category LIKE 'S%' ORDER BY category") == [
            {"links": [], "category": "Services"}, {"links": [], "category": "Software"}]


class TestRowLimits:
    def test_fetch_first_cuts_the_sorted_result(self, ns):
        response = query(ns, "SELECT id FROM customer ORDER BY id DESC FETCH FIRST 2 ROWS ONLY").json()

        assert [r["id"] for r in response["items"]] == ["104", "103"]
        assert (response["totalResults"], response["hasMore"]) == (2, False)

    def test_offset_then_fetch_next_and_top(self, ns):
        assert [r["id"] for r in rows(ns, "SELECT id FROM customer ORDER BY id OFFSET 1 ROWS FETCH NEXT 2 ROWS "
                                          "ONLY")] == ["101", "102"]
        assert [r["id"] for r in rows(ns, "SELECT TOP 1 id FROM customer ORDER BY companyname DESC")] == ["103"]

    def test_rownum_numbers_rows_before_they_are_sorted(self, ns):
        numbered = rows(ns, "SELECT id, ROWNUM AS n FROM customer WHERE ROWNUM <= 3 ORDER BY id DESC")

        assert len(numbered) == 3 and sorted(r["n"] for r in numbered) == ["1", "2", "3"]
        assert [r["id"] for r in numbered] == sorted((r["id"] for r in numbered), reverse=True)
        assert rows(ns, "SELECT id FROM customer WHERE ROWNUM > 1") == []


class TestPaging:
    def test_pages_follow_next_links_to_the_end(self, ns):
        seen, url, params = [], f"{ns.url}{SUITEQL}", {"limit": 2}
        pages = []
        while True:
            body = signed("POST", url, json={"q": "SELECT id FROM customer ORDER BY id"},
                          headers={"Prefer": "transient"}, params=params).json()
            pages.append(body)
            seen += [r["id"] for r in body["items"]]
            nxt = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
            if nxt is None:
                break
            url, params = nxt, None

        assert seen == ["100", "101", "102", "103", "104"]
        assert [(p["offset"], p["count"], p["hasMore"], p["totalResults"]) for p in pages] == [
            (0, 2, True, 5), (2, 2, True, 5), (4, 1, False, 5)]
        assert [link["rel"] for link in pages[0]["links"]] == ["next", "last", "self"]
        assert [link["rel"] for link in pages[2]["links"]] == ["previous", "first", "last", "self"]

    def test_no_more_than_a_thousand_pages(self, ns):
        response = query(ns, "SELECT id FROM customer", limit=5, offset=5000)

        assert response.status_code == 400
        assert response.json()["o:errorDetails"][0]["o:errorQueryParam"] == "offset"
        assert query(ns, "SELECT id FROM customer", limit=5, offset=4995).status_code == 200


class TestRefusals:
    @pytest.mark.parametrize(("sql", "says"), [
        ("SELECT nosuch FROM customer", "Field 'nosuch' for record 'customer' was not found"),
        ("SELECT id FROM customer WHERE UPPER(nosuch) LIKE 'A%'", "Field 'nosuch'"),
        ("SELECT id FROM customer ORDER BY nosuch", "Field 'nosuch'"),
        ("SELECT id FROM nosuchtable", "Record 'nosuchtable' was not found"),
        ("SELECT id FROM customer WHERE companyname LIKE 'a' ESCAPE 'ab'", "ESCAPE"),
        ("SELECT id FROM customer FETCH FIRST 2 PERCENT ROWS ONLY", "ROW"),
        ("SELECT id FROM customer ORDER BY 3", "position 3"),
        ("SELECT id FROM customer WHERE id NOT = 1", "NOT"),
    ])
    def test_what_netsuite_refuses_is_a_400_problem_document(self, ns, sql, says):
        response = query(ns, sql)

        assert response.status_code == 400
        body = response.json()
        assert (body["status"], body["title"]) == (400, "Bad Request")
        assert body["type"] == "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1"
        detail = body["o:errorDetails"][0]
        assert (detail["o:errorCode"], detail["o:errorQueryParam"]) == ("INVALID_PARAMETER", "q")
        assert says in detail["detail"]


def test_three_valued_logic_in_the_parser():
    table = [{"id": 1, "a": "x", "b": None}, {"id": 2, "a": None, "b": "y"}, {"id": 3, "a": "x", "b": "y"}]

    def ids(where: str) -> list[int]:
        return [r["id"] for r in suiteql.run(suiteql.parse(f"SELECT id FROM t WHERE {where} ORDER BY id"), table,
                                             {"id", "a", "b"})]

    assert ids("a = 'x' OR b = 'z'") == [1, 3]          # unknown OR true is true
    assert ids("NOT (a = 'x' AND b = 'y')") == []  # row 1: NOT (true AND unknown) is unknown
    assert ids("NOT (a = 'q' AND b = 'y')") == [1, 3]   # row 1: NOT (false AND unknown) is true
    assert ids("a IS NOT NULL AND b IS NULL") == [1]
