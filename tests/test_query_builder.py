"""The one query builder (``qbo.query``): every literal escaped, names never from data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from quickbooks_sync.qbo import query as q
from quickbooks_sync.sandbox.query import parse


def test_literals_are_escaped_and_parse_back_to_the_same_value():
    for value in ["O'Brien", "back\\slash", "both \\' at once", "'", ""]:
        statement = q.select("Customer", q.Where().and_("DisplayName", "=", value))
        parsed = parse(statement)  # the sandbox's parser follows QBO's escape rule
        assert parsed.conds[0].values[0].raw == value


def test_datetimes_are_written_in_utc_with_an_explicit_offset():
    pacific = timezone(timedelta(hours=-8))
    at = datetime(2026, 3, 1, 4, 0, 0, 500, tzinfo=pacific)
    where = q.Where().updated_between(at, at + timedelta(seconds=1), hi_inclusive=False)
    assert where.text() == (
        "Metadata.LastUpdatedTime >= '2026-03-01T12:00:00+00:00' AND "
        "Metadata.LastUpdatedTime < '2026-03-01T12:00:01+00:00'"
    )


def test_statements_follow_the_documented_grammar():
    where = q.base_filter(include_inactive=True).in_("Id", ["1", "2"])
    assert q.select("Vendor", where, order_by=q.ID, start=11, max_results=10) == (
        "SELECT * FROM Vendor WHERE Active IN (true, false) AND Id IN ('1', '2') "
        "ORDERBY Id STARTPOSITION 11 MAXRESULTS 10"
    )
    assert q.count("Invoice") == "SELECT COUNT(*) FROM Invoice"


@pytest.mark.parametrize(
    "build",
    [
        lambda: q.select("Invoice; DROP", None),
        lambda: q.select("Invoice", q.Where().and_("Id' OR '1", "=", "1")),
        lambda: q.select("Invoice", q.Where().and_("Id", "!=", "1")),
        lambda: q.select("Invoice", q.Where().in_("Id", [])),
        lambda: q.select("Invoice", max_results=1001),
        lambda: q.select("Invoice", start=0),
        lambda: q.literal("line\nbreak"),
        lambda: q.literal(1.5),
    ],
)
def test_what_cannot_be_written_safely_is_refused(build):
    with pytest.raises(q.QueryBuildError):
        build()


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        q.literal(datetime(2026, 1, 1))
    assert q.literal(datetime(2026, 1, 1, tzinfo=UTC)) == "'2026-01-01T00:00:00+00:00'"
