"""The /v3 API over HTTP: envelopes, paging, reads, writes, errors and CDC."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests

from quickbooks_sync.sandbox import SandboxConfig, obtain_tokens

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[78]:00$")
META_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[78]:00$")


def test_query_envelope_and_entity_shape(api):
    resp = api.query("SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 10")
    assert resp.status_code == 200
    assert resp.headers["intuit_tid"]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert TIME_RE.match(body["time"])
    qr = body["QueryResponse"]
    assert set(qr) == {"Customer", "startPosition", "maxResults"}
    assert qr["startPosition"] == 1 and qr["maxResults"] == len(qr["Customer"]) == 10
    for c in qr["Customer"]:
        assert isinstance(c["Id"], str) and isinstance(c["SyncToken"], str)
        assert c["domain"] == "QBO" and c["sparse"] is False and c["Active"] is True
        assert META_RE.match(c["MetaData"]["LastUpdatedTime"])
        assert META_RE.match(c["MetaData"]["CreateTime"])
        assert None not in c.values()


def test_paging_max_results_is_rows_in_page_and_empty_envelope(api, qbo_sandbox):
    total = api.query("SELECT COUNT(*) FROM Invoice").json()["QueryResponse"]
    assert total == {"totalCount": 200}
    seen, start = [], 1
    while True:
        qr = api.query(
            f"SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime STARTPOSITION {start} "
            "MAXRESULTS 75"
        ).json()["QueryResponse"]
        if "Invoice" not in qr:
            assert qr == {}
            break
        assert qr["startPosition"] == start and qr["maxResults"] == len(qr["Invoice"])
        seen += [i["Id"] for i in qr["Invoice"]]
        start += 75
    assert len(seen) == len(set(seen)) == 200
    assert set(seen) == set(qbo_sandbox.state.records(api.realm, "Invoice"))


def test_default_page_is_100_and_post_query_works(api):
    assert len(api.rows("SELECT * FROM Invoice", "Invoice")) == 100
    resp = api.post(
        "query",
        params={"minorversion": "75"},
        data="SELECT * FROM Invoice MAXRESULTS 3",
        headers={"Content-Type": "application/text"},
    )
    assert resp.status_code == 200 and len(resp.json()["QueryResponse"]["Invoice"]) == 3


def test_inactive_customers_hidden_unless_active_is_mentioned(api, qbo_sandbox):
    truth = qbo_sandbox.state.records(api.realm, "Customer")
    inactive = {k for k, v in truth.items() if not v["Active"]}
    assert inactive  # ~10% of 50
    visible = {c["Id"] for c in api.rows("SELECT * FROM Customer MAXRESULTS 1000")}
    assert visible == set(truth) - inactive
    every = api.rows("SELECT * FROM Customer WHERE Active IN (true, false) MAXRESULTS 1000")
    assert {c["Id"] for c in every} == set(truth)
    only = api.rows("SELECT * FROM Customer WHERE Active = false MAXRESULTS 1000")
    assert {c["Id"] for c in only} == inactive


def test_parse_error_fault(api):
    resp = api.query("SELECT * FROM Customer WHERE DisplayName = 'Cutlery 'R Us'")
    assert resp.status_code == 400
    err = resp.json()["Fault"]
    assert err["type"] == "ValidationFault"
    assert err["Error"][0]["code"] == "4000"
    assert err["Error"][0]["Message"] == "Error parsing query"
    assert err["Error"][0]["Detail"].startswith("QueryParserError:")
    empty = api.query("").json()["Fault"]["Error"][0]
    assert empty["Detail"] == "QueryParserError: The query provided was empty"
    bad_entity = api.query("SELECT * FROM Custard").json()["Fault"]["Error"][0]
    assert bad_entity["code"] == "4000"


def test_entities_the_sandbox_does_not_serve_are_a_query_error_never_empty(api):
    for name in ("JournalCode", "Attachable", "Custard"):
        resp = api.query(f"SELECT * FROM {name}")
        assert resp.status_code == 400
        err = resp.json()["Fault"]["Error"][0]
        assert (err["code"], err["Message"]) == ("4000", "Error parsing query")
        assert err["Detail"].startswith(f"QueryParserError: Invalid entity name: {name}")
    assert api.query("SELECT * FROM Vendor").json()["QueryResponse"]["Vendor"]


def test_companyinfo_is_queryable(api):
    info = api.rows("SELECT * FROM CompanyInfo", "CompanyInfo")
    assert info[0]["Country"] == "US"


def test_read_one_companyinfo_and_not_found(api, qbo_sandbox):
    resp = api.get("invoice/7")
    assert resp.status_code == 200
    assert resp.json()["Invoice"] == qbo_sandbox.state.records(api.realm, "Invoice")["7"]
    inactive = next(
        k for k, v in qbo_sandbox.state.records(api.realm, "Customer").items() if not v["Active"]
    )
    assert api.get(f"customer/{inactive}").json()["Customer"]["Active"] is False
    qbo_sandbox.state.delete(api.realm, "Invoice", "7")
    gone = api.get("invoice/7")
    assert gone.status_code == 400
    assert gone.json()["Fault"]["Error"][0]["code"] == "610"
    info = api.get(f"companyinfo/{api.realm}").json()["CompanyInfo"]
    assert info["CompanyName"] and info["Country"] == "US"


def test_invoice_lines_and_money(api):
    for inv in api.rows("SELECT * FROM Invoice MAXRESULTS 50", "Invoice"):
        *items, subtotal = inv["Line"]
        assert subtotal["DetailType"] == "SubTotalLineDetail" and "Id" not in subtotal
        assert all(ln["DetailType"] == "SalesItemLineDetail" and "Id" in ln for ln in items)
        assert round(sum(ln["Amount"] for ln in items), 2) == inv["TotalAmt"]
        assert 0 <= inv["Balance"] <= inv["TotalAmt"]
        assert inv["DueDate"] >= inv["TxnDate"]
        assert inv["CustomerRef"]["value"] and inv["CustomerRef"]["name"]


def test_writes_sync_token_and_stale_object(api, qbo_sandbox):
    created = api.post("customer", json={"DisplayName": "New Co", "GivenName": "Nu"}).json()
    cust = created["Customer"]
    assert cust["SyncToken"] == "0" and cust["Active"] is True
    upd = api.post(
        "customer",
        json={"Id": cust["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "New Co Ltd"},
    ).json()["Customer"]
    assert upd["SyncToken"] == "1" and upd["GivenName"] == "Nu"
    stale = api.post("customer", json={"Id": cust["Id"], "SyncToken": "0", "sparse": True})
    assert stale.status_code == 400
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    dup = api.post("customer", json={"DisplayName": "New Co"})
    assert dup.json()["Fault"]["Error"][0]["code"] == "6240"

    inv = api.post(
        "invoice",
        json={
            "CustomerRef": {"value": cust["Id"]},
            "Line": [
                {
                    "Amount": 40.0,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
    ).json()["Invoice"]
    assert inv["TotalAmt"] == 40.0 and inv["Balance"] == 40.0
    voided = api.post(
        "invoice", params={"operation": "void"}, json={"Id": inv["Id"], "SyncToken": "0"}
    ).json()["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"], voided["PrivateNote"]) == (0, 0, "Voided")
    deleted = api.post(
        "invoice", params={"operation": "delete"}, json={"Id": inv["Id"], "SyncToken": "1"}
    ).json()["Invoice"]
    assert deleted == {"domain": "QBO", "status": "Deleted", "Id": inv["Id"]}
    assert inv["Id"] in qbo_sandbox.state.deleted_ids(api.realm, "Invoice")


def test_batch_queries(api):
    resp = api.post(
        "batch",
        json={
            "BatchItemRequest": [
                {"bId": "a", "Query": "SELECT COUNT(*) FROM Invoice"},
                {"bId": "b", "Query": "SELECT * FROM Nope"},
            ]
        },
    ).json()
    items = {i["bId"]: i for i in resp["BatchItemResponse"]}
    assert items["a"]["QueryResponse"] == {"totalCount": 200}
    assert items["b"]["Fault"]["Error"][0]["code"] == "4000"


def test_realm_access(api, qbo_sandbox_factory):
    server = qbo_sandbox_factory(SandboxConfig(customers=2, invoices=2, realms=("111", "222")))
    tok = obtain_tokens(server, "111")
    h = {"Authorization": f"Bearer {tok['access_token']}", "Accept": "application/json"}
    ok = requests.get(
        f"{server.url}/v3/company/111/query",
        params={"query": "select * from Customer"},
        headers=h,
        timeout=5,
    )
    assert ok.status_code == 200
    for realm in ("222", "999"):
        resp = requests.get(
            f"{server.url}/v3/company/{realm}/companyinfo/{realm}", headers=h, timeout=5
        )
        assert resp.status_code == 403
        assert resp.json()["fault"]["error"][0]["code"] == "3100"


class TestCdc:
    def test_changed_and_deleted_stubs(self, api, qbo_sandbox):
        st = qbo_sandbox.state
        st.clock.freeze()
        since = (st.clock.now() - timedelta(minutes=1)).isoformat()
        st.clock.advance(seconds=5)
        st.update(api.realm, "Invoice", "3", {"PrivateNote": "hi"})
        st.deactivate(api.realm, "Customer", "2")
        st.delete(api.realm, "Invoice", "4")
        before = {c["Id"] for c in self.changed(api, since, "Customer")}
        resp = api.get("cdc", entities="Customer,Invoice", changedSince=since)
        assert resp.status_code == 200
        body = resp.json()
        assert TIME_RE.match(body["time"])
        groups = body["CDCResponse"][0]["QueryResponse"]
        by_key = {
            next(k for k in g if k not in ("startPosition", "maxResults")): g for g in groups if g
        }
        invoices = {i["Id"]: i for i in by_key["Invoice"]["Invoice"]}
        assert invoices["3"]["PrivateNote"] == "hi"
        assert invoices["4"] == {
            "domain": "QBO",
            "status": "Deleted",
            "Id": "4",
            "MetaData": {"LastUpdatedTime": invoices["4"]["MetaData"]["LastUpdatedTime"]},
        }
        assert by_key["Invoice"]["maxResults"] == len(invoices)
        assert "2" in before  # inactive customers are included
        assert next(c for c in by_key["Customer"]["Customer"] if c["Id"] == "2")["Active"] is False

    @staticmethod
    def changed(api, since, entity):
        groups = api.get("cdc", entities=entity, changedSince=since).json()["CDCResponse"][0][
            "QueryResponse"
        ]
        return [o for g in groups for o in g.get(entity, [])]

    def test_entity_without_changes_is_empty_object(self, api, qbo_sandbox):
        future = (qbo_sandbox.state.clock.now() + timedelta(hours=1)).isoformat()
        body = api.get("cdc", entities="Customer,Invoice", changedSince=future).json()
        assert body["CDCResponse"][0]["QueryResponse"] == [{}, {}]

    def test_thirty_day_window_and_unsupported_entities(self, api, qbo_sandbox):
        now = qbo_sandbox.state.clock.now()
        old = (now - timedelta(days=31)).isoformat()
        resp = api.get("cdc", entities="Customer", changedSince=old)
        assert resp.status_code == 400
        assert resp.json()["Fault"]["type"] == "ValidationFault"
        ok = (now - timedelta(days=29)).isoformat()
        assert api.get("cdc", entities="Customer", changedSince=ok).status_code == 200
        for bad in ("TaxCode", "JournalCode", "TimeActivity", "TaxAgency", "TaxRate"):
            assert api.get("cdc", entities=f"Customer,{bad}", changedSince=ok).status_code == 400
        assert api.get("cdc", entities="Customer").status_code == 400

    @pytest.mark.parametrize("qbo_sandbox_config", [SandboxConfig(customers=700, invoices=900)])
    def test_thousand_object_cap_across_entities_keeps_oldest(self, api, qbo_sandbox):
        st = qbo_sandbox.state
        st.clock.freeze()
        since = st.clock.now().isoformat()
        st.clock.advance(seconds=1)
        st.bulk_touch(api.realm, "Customer", [str(i) for i in range(1, 601)])
        st.clock.advance(seconds=1)
        st.bulk_touch(api.realm, "Invoice", [str(i) for i in range(1, 601)])
        groups = api.get("cdc", entities="Invoice,Customer", changedSince=since).json()[
            "CDCResponse"
        ][0]["QueryResponse"]
        inv, cust = groups[0]["Invoice"], groups[1]["Customer"]
        assert len(cust) == 600 and len(inv) == 400  # oldest first, silently truncated
        assert [i["Id"] for i in inv] == [str(i) for i in range(1, 401)]


def test_chunked_body_keep_alive_and_stop(qbo_sandbox_factory):
    server = qbo_sandbox_factory()
    tok = obtain_tokens(server)
    url = f"{server.url}/v3/company/{tok['realm_id']}/query"
    headers = {"Authorization": f"Bearer {tok['access_token']}", "Content-Type": "application/text"}

    def body():
        yield b"SELECT COUNT(*) "
        yield b"FROM Invoice"

    with requests.Session() as s:
        for _ in range(3):  # same pooled connection, chunked request bodies
            resp = s.post(url, data=body(), headers=headers, timeout=5)
            assert resp.json()["QueryResponse"] == {"totalCount": 200}
        server.stop()
        with pytest.raises(requests.ConnectionError):
            s.post(url, data="SELECT * FROM Invoice", headers=headers, timeout=5)
