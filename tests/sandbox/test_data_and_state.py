"""Seed determinism, realism of generated data, and the SandboxState operations."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from quickbooks_sync.sandbox import SandboxConfig, SandboxState
from quickbooks_sync.sandbox.clock import parse_qbo_datetime

REALM = "9130350000000001"
ANCHOR = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def make(**kw) -> SandboxState:
    from quickbooks_sync.sandbox.clock import SandboxClock

    clock = SandboxClock()
    clock.freeze(ANCHOR)
    return SandboxState(SandboxConfig(**kw), clock=clock)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = make(seed=5), make(seed=5), make(seed=6)
    assert a.records(REALM, "Invoice") == b.records(REALM, "Invoice")
    assert a.records(REALM, "Customer") == b.records(REALM, "Customer")
    assert a.records(REALM, "Customer") != c.records(REALM, "Customer")


def test_generated_customers_are_realistic():
    st = make(customers=300, invoices=1200)
    customers = st.records(REALM, "Customer")
    invoices = st.records(REALM, "Invoice")
    names = [c["DisplayName"] for c in customers.values()]
    assert len(names) == len(set(names))
    inactive = [c for c in customers.values() if not c["Active"]]
    assert 0.04 < len(inactive) / len(customers) < 0.2
    assert all(c["Balance"] == 0 for c in inactive)
    currencies = Counter(c["CurrencyRef"]["value"] for c in customers.values())
    assert currencies.most_common(1)[0][0] == "USD" and len(currencies) >= 3
    open_by_customer = Counter()
    for inv in invoices.values():
        open_by_customer[inv["CustomerRef"]["value"]] += inv["Balance"]
    for memo in st.records(REALM, "CreditMemo").values():  # open credits net the Balance
        open_by_customer[memo["CustomerRef"]["value"]] -= memo["Balance"]
    for cid, c in customers.items():
        assert c["Balance"] == pytest.approx(open_by_customer[cid], abs=0.01)
        assert c["FullyQualifiedName"] == c["DisplayName"]
        assert None not in c.values()


def test_generated_invoices_mix_states_and_timestamps():
    st = make(customers=100, invoices=1500)
    invoices = list(st.records(REALM, "Invoice").values())
    today = ANCHOR.date().isoformat()
    paid = [i for i in invoices if i["Balance"] == 0]
    partial = [i for i in invoices if 0 < i["Balance"] < i["TotalAmt"]]
    overdue = [i for i in invoices if i["Balance"] > 0 and i["DueDate"] < today]
    assert paid and partial and overdue
    luts = [parse_qbo_datetime(i["MetaData"]["LastUpdatedTime"]) for i in invoices]
    assert max(luts) <= ANCHOR.timestamp()
    assert min(luts) >= (ANCHOR - timedelta(days=731)).timestamp()
    clusters = Counter(luts)
    assert any(3 <= n <= 50 for n in clusters.values())
    assert sum(1 for t in luts if t >= (ANCHOR - timedelta(days=30)).timestamp()) > 20
    for i in invoices:
        assert i["MetaData"]["CreateTime"] <= i["MetaData"]["LastUpdatedTime"] or (
            parse_qbo_datetime(i["MetaData"]["CreateTime"])
            <= parse_qbo_datetime(i["MetaData"]["LastUpdatedTime"])
        )


def test_big_realm_has_bulk_edit_clusters_over_a_page():
    st = make(customers=1000, invoices=20000)
    tab = st.table(REALM, "Invoice")
    biggest = Counter(lut for lut, _ in tab.order).most_common(1)[0][1]
    assert biggest >= 1500
    made = st.seed(REALM, customers=10, invoices=100)
    assert (made["customers"], made["invoices"]) == (10, 100)
    assert len(st.records(REALM, "Invoice")) == 20100


def test_state_operations():
    st = make(customers=5, invoices=10)
    cust = st.create(REALM, "Customer", {"GivenName": "Ada", "FamilyName": "Ng"})
    assert cust["DisplayName"] == "Ada Ng" and cust["SyncToken"] == "0"
    st.clock.advance(seconds=30)
    upd = st.update(REALM, "Customer", cust["Id"], {"Notes": "vip"})
    assert upd["SyncToken"] == "1" and upd["GivenName"] == "Ada"
    assert upd["MetaData"]["LastUpdatedTime"] != cust["MetaData"]["LastUpdatedTime"]
    assert upd["MetaData"]["CreateTime"] == cust["MetaData"]["CreateTime"]
    assert st.deactivate(REALM, "Customer", cust["Id"])["Active"] is False
    assert cust["Id"] in st.records(REALM, "Customer")  # inactive still in the truth
    assert st.activate(REALM, "Customer", cust["Id"])["SyncToken"] == "3"
    with pytest.raises(ValueError):
        st.delete(REALM, "Customer", cust["Id"])
    inv = st.create(REALM, "Invoice", {"CustomerRef": {"value": cust["Id"]}, "TotalAmt": 50})
    assert inv["CustomerRef"]["name"] == "Ada Ng" and inv["Balance"] == 50
    voided = st.void(REALM, "Invoice", inv["Id"])
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided"
    assert inv["Id"] in st.records(REALM, "Invoice")
    st.delete(REALM, "Invoice", inv["Id"])
    assert inv["Id"] not in st.records(REALM, "Invoice")
    assert st.deleted_ids(REALM, "Invoice") == {inv["Id"]}
    with pytest.raises(ValueError):
        st.create(REALM, "Invoice", {"CustomerRef": {"value": "9999"}})


def test_merge_and_bulk_touch():
    st = make(customers=6, invoices=40)
    st.clock.advance(seconds=60)
    owned = [i for i, v in st.records(REALM, "Invoice").items() if v["CustomerRef"]["value"] == "2"]
    before = st.records(REALM, "Customer")
    survivor = st.merge_customers(REALM, "2", "1")
    assert survivor["Balance"] == pytest.approx(before["1"]["Balance"] + before["2"]["Balance"])
    assert "2" not in st.records(REALM, "Customer")
    assert st.deleted_ids(REALM, "Customer") == {"2"}
    invoices = st.records(REALM, "Invoice")
    assert all(invoices[i]["CustomerRef"]["value"] == "1" for i in owned)
    at = ANCHOR + timedelta(minutes=5)
    assert st.bulk_touch(REALM, "Invoice", ["1", "2", "3"], at=at) == 3
    stamps = {st.records(REALM, "Invoice")[i]["MetaData"]["LastUpdatedTime"] for i in "123"}
    assert stamps == {"2026-03-02T10:05:00-08:00"}


def test_clock():
    st = make(customers=0, invoices=0)
    assert st.clock.now() == ANCHOR
    st.clock.advance(seconds=10)
    assert st.clock.now() == ANCHOR + timedelta(seconds=10)
    st.clock.set(ANCHOR)
    assert st.clock.now() == ANCHOR
    st.clock.unfreeze()
    assert abs((st.clock.now() - ANCHOR).total_seconds()) < 5
    with pytest.raises(ValueError):
        st.clock.set(datetime(2026, 1, 1))
