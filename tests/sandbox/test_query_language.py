"""The QBO query language: parser and evaluator, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quickbooks_sync.sandbox import SandboxConfig, SandboxState
from quickbooks_sync.sandbox.clock import fmt_qbo, parse_qbo_datetime
from quickbooks_sync.sandbox.evaluate import execute
from quickbooks_sync.sandbox.query import QueryError, parse

REALM = "9130350000000001"
NOW = datetime(2026, 3, 2, 18, 0, 0, tzinfo=UTC)


@pytest.fixture
def state():
    st = SandboxState(SandboxConfig(customers=0, invoices=0))
    st.clock.freeze(NOW)
    names = ["Cutlery 'R Us", "Ada Ng", "Bob Smith", "Zed Zap", "ada lovelace"]
    for i, name in enumerate(names):
        st.create(REALM, "Customer", {"DisplayName": name, "Balance": float(i * 10)})
    st.deactivate(REALM, "Customer", "4")
    for i in range(1, 6):
        st.create(REALM, "Invoice", {"CustomerRef": {"value": str(i)}, "TotalAmt": 100.0 * i})
    return st


def run(state, text):
    q = parse(text)
    q.entity = q.entity.capitalize() if q.entity.lower() != "companyinfo" else q.entity
    rows, total = execute(q, state.table(REALM, q.entity))
    return [r.obj() for r in rows], total


def ids(rows):
    return [r["Id"] for r in rows]


def test_select_star_is_id_ordered_and_hides_inactive(state):
    rows, _ = run(state, "SELECT * FROM Customer")
    assert ids(rows) == ["1", "2", "3", "5"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Id = '2'", ["2"]),
        ("Id = 2", ["2"]),
        ("Id > '2'", ["3", "5"]),
        ("Id < '3'", ["1", "2"]),
        ("Id >= '3'", ["3", "5"]),
        ("Id <= '2'", ["1", "2"]),
        ("Id IN ('1', '3', '4')", ["1", "3"]),
        ("DisplayName = 'Ada Ng'", ["2"]),
        ("DisplayName = 'ada ng'", []),
        ("DisplayName LIKE 'ada%'", ["2", "5"]),
        ("DisplayName LIKE '%SMITH'", ["3"]),
        ("DisplayName LIKE '%E%'", ["1", "5"]),
        ("DisplayName = 'Cutlery \\'R Us'", ["1"]),
        ("Balance > 15", ["3", "5"]),
        ("Balance = '20'", ["3"]),
        ("Active = false", ["4"]),
        ("Active = FALSE", ["4"]),
        ("Active IN (true, false)", ["1", "2", "3", "4", "5"]),
        ("Active = true AND Balance >= 10", ["2", "3", "5"]),
    ],
)
def test_operators(state, where, expected):
    rows, _ = run(state, f"SELECT * FROM Customer WHERE {where}")
    assert ids(rows) == expected


def test_keywords_entity_and_paths_are_case_insensitive(state):
    a, _ = run(state, "select * from customer where metadata.lastupdatedtime >= '2020-01-01'")
    b, _ = run(state, "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= '2020-01-01'")
    c, _ = run(state, "Select * From CUSTOMER Where Metadata.LastUpdatedTime >= '2020-01-01'")
    assert ids(a) == ids(b) == ids(c) == ["1", "2", "3", "5"]


def test_orderby_both_spellings_and_desc(state):
    a, _ = run(state, "SELECT * FROM Customer ORDERBY DisplayName")
    b, _ = run(state, "SELECT * FROM Customer ORDER BY DisplayName ASC")
    assert ids(a) == ids(b) == ["5", "2", "3", "1"]  # case-insensitive name order
    c, _ = run(state, "SELECT * FROM Invoice ORDER BY TotalAmt DESC")
    assert ids(c) == ["5", "4", "3", "2", "1"]


def test_lastupdatedtime_ties_are_broken_by_id_numerically(state):
    state.clock.advance(seconds=10)
    state.bulk_touch(REALM, "Invoice", ["5", "3", "1"])  # all share one later second
    rows, _ = run(state, "SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime")
    assert ids(rows) == ["2", "4", "1", "3", "5"]
    desc, _ = run(state, "SELECT * FROM Invoice ORDER BY Metadata.LastUpdatedTime DESC")
    assert ids(desc) == ["5", "3", "1", "4", "2"]


@pytest.mark.parametrize(
    "literal",
    [
        "2026-03-02T10:00:00-08:00",  # colon offset (PST)
        "2026-03-02T10:00:00-0800",  # compact offset
        "2026-03-02T18:00:00Z",
        "2026-03-02T18:00:00+00:00",
        "2026-03-02T10:00:00",  # naive = company zone
    ],
)
def test_datetime_literals_compare_as_instants(state, literal):
    # Everything was created at NOW exactly (18:00Z = 10:00 PST).
    assert (
        run(state, f"SELECT COUNT(*) FROM Invoice WHERE MetaData.LastUpdatedTime >= '{literal}'")[1]
        == 5
    )
    assert (
        run(state, f"SELECT COUNT(*) FROM Invoice WHERE MetaData.LastUpdatedTime > '{literal}'")[1]
        == 0
    )


def test_date_only_literal_and_dst_offsets():
    assert parse_qbo_datetime("2026-03-02") == datetime(2026, 3, 2, 8, tzinfo=UTC).timestamp()
    assert fmt_qbo(datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp()).endswith("-08:00")
    assert fmt_qbo(datetime(2026, 7, 15, 12, tzinfo=UTC).timestamp()).endswith("-07:00")
    assert fmt_qbo(datetime(2026, 7, 15, 12, 0, 0, 700000, tzinfo=UTC).timestamp()) == (
        "2026-07-15T05:00:00-07:00"
    )


def test_paging_and_defaults(state):
    q = parse("SELECT * FROM Customer")
    assert (q.start, q.max) == (1, 100)
    q = parse("SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 2")
    rows, _ = execute(q, state.table(REALM, "Customer"))
    assert [r.id for r in rows] == [2, 3]
    assert parse("SELECT * FROM Invoice MAXRESULTS 5000").max == 1000  # clamped
    assert parse("select * from invoice maxresults 10 startposition 3").start == 3


def test_count(state):
    assert run(state, "SELECT COUNT(*) FROM Customer")[1] == 4
    assert run(state, "SELECT count(*) FROM Customer WHERE Active = false")[1] == 1
    assert run(state, "SELECT COUNT(*) FROM Invoice WHERE TotalAmt > '250'")[1] == 3


def test_field_lists_are_accepted_and_ignored(state):
    rows, _ = run(state, "SELECT Id, DisplayName FROM Customer WHERE Id = '1'")
    assert rows[0]["DisplayName"] == "Cutlery 'R Us" and "MetaData" in rows[0]


def test_customerref_filter(state):
    rows, _ = run(state, "SELECT * FROM Invoice WHERE CustomerRef = '3'")
    assert ids(rows) == ["3"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "The query provided was empty"),
        ("   ", "The query provided was empty"),
        ("SELECT * FORM Customer", "Encountered"),
        ("SELECT * FROM Customer WHERE DisplayName = 'Cutlery 'R Us'", "Encountered"),
        ("SELECT * FROM Customer WHERE DisplayName = 'open", "QueryParserError"),
        ("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'", "Encountered"),
        ("SELECT * FROM Customer ORDER DisplayName", "Encountered"),
        ("SELECT * FROM Customer MAXRESULTS ten", "Encountered"),
        ("SELECT * FROM Customer WHERE Id != '1'", "Encountered"),
        ("DELETE FROM Customer", "Encountered"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(QueryError) as err:
        parse(text)
    assert err.value.code == "4000"
    assert err.value.message == "Error parsing query"
    assert err.value.detail.startswith("QueryParserError: ")
    assert fragment in err.value.detail


def test_unknown_property_is_a_validation_error(state):
    with pytest.raises(QueryError) as err:
        run(state, "SELECT * FROM Customer WHERE Nickname = 'x'")
    assert err.value.code == "4001"
    assert "Nickname".lower() in err.value.detail.lower()


def test_orderings_qbo_does_not_promise_can_each_be_served():
    """Ties on the ORDERBY key: stable by Id, or a new order per request; Ids sorted as
    numbers or strings; an unordered query shuffled too (API-NOTES §10)."""
    st = SandboxState(SandboxConfig(customers=0, invoices=0))
    st.clock.freeze(NOW)
    st.create(REALM, "Customer", {"DisplayName": "Bulk Buyer"})
    for _ in range(1, 13):
        st.create(REALM, "Invoice", {"CustomerRef": {"value": "1"}, "TotalAmt": 1.0})
    by_lut = "SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime STARTPOSITION 3 MAXRESULTS 6"
    assert ids(run_with(st, by_lut)) == [str(i) for i in range(3, 9)]
    st.set_ordering(tie_order="shuffle")
    seen = {tuple(ids(run_with(st, by_lut))) for _ in range(5)}
    assert len(seen) > 1, "ties should come back in a new order"
    full = "SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime DESC MAXRESULTS 100"
    assert sorted(ids(run_with(st, full)), key=int) == [str(i) for i in range(1, 13)]
    assert len({tuple(ids(run_with(st, "SELECT * FROM Invoice"))) for _ in range(5)}) > 1
    by_id = "SELECT * FROM Invoice ORDERBY Id MAXRESULTS 100"
    assert ids(run_with(st, by_id)) == [str(i) for i in range(1, 13)]
    st.set_ordering(id_order="string")
    assert ids(run_with(st, by_id))[:5] == ["1", "10", "11", "12", "2"]
    with pytest.raises(ValueError, match="tie_order"):
        st.set_ordering(tie_order="sometimes")
    with pytest.raises(ValueError, match="tie_order"):
        SandboxConfig(tie_order="sometimes")


def run_with(state, text):
    q = parse(text)
    rows, _ = execute(q, state.table(REALM, q.entity), state.ordering)
    return [r.obj() for r in rows]
