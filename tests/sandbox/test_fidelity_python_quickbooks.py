"""Fidelity: the real python-quickbooks + intuit-oauth clients against the sandbox.

If these libraries and the sandbox disagree, the sandbox is wrong. AuthClient reads its
endpoints from an OpenID discovery URL (the sandbox serves one); python-quickbooks takes
its API root from ``QuickBooks.sandbox_api_url_v3``, which is patched to the sandbox.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks, exceptions
from quickbooks.cdc import change_data_capture
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

from quickbooks_sync.sandbox import SandboxConfig


@pytest.fixture
def qbo_sandbox_config():
    return SandboxConfig(seed=3, customers=40, invoices=120)


@pytest.fixture
def qb(qbo_sandbox, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox speaks plain http
    cfg = qbo_sandbox.cfg
    auth = AuthClient(
        cfg.client_id,
        cfg.client_secret,
        "http://localhost/callback",
        environment=f"{qbo_sandbox.url}/.well-known/openid_sandbox_configuration",
    )
    assert auth.token_endpoint == qbo_sandbox.token_url
    # The user "consents" at the authorize URL and comes back with code + realmId.
    resp = requests.get(
        auth.get_authorization_url([Scopes.ACCOUNTING]), allow_redirects=False, timeout=5
    )
    callback = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    assert callback["state"] == auth.state_token
    auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    assert auth.access_token and auth.refresh_token and auth.x_refresh_token_expires_in
    auth.environment = "sandbox"
    monkeypatch.setattr(QuickBooks, "sandbox_api_url_v3", f"{qbo_sandbox.url}/v3")
    client = QuickBooks(
        auth_client=auth,
        refresh_token=auth.refresh_token,
        company_id=callback["realmId"],
        minorversion=75,
    )
    assert client.api_url == f"{qbo_sandbox.url}/v3"
    return client


def truth(server, entity):
    return server.state.records(next(iter(server.state.realms)), entity)


def test_customer_all_filter_count_match_truth(qb, qbo_sandbox):
    records = truth(qbo_sandbox, "Customer")
    active = {k: v for k, v in records.items() if v["Active"]}
    got = Customer.all(qb=qb, max_results=1000)
    assert {c.Id for c in got} == set(active)
    for c in got:
        t = active[c.Id]
        assert (c.SyncToken, c.DisplayName, c.Balance, c.Active) == (
            t["SyncToken"],
            t["DisplayName"],
            t["Balance"],
            True,
        )
        assert c.MetaData["LastUpdatedTime"] == t["MetaData"]["LastUpdatedTime"]
        assert c.CurrencyRef.value == t["CurrencyRef"]["value"]
        assert c.BillAddr.City == t["BillAddr"]["City"]
        if "PrimaryEmailAddr" in t:
            assert c.PrimaryEmailAddr.Address == t["PrimaryEmailAddr"]["Address"]
    inactive = Customer.filter(Active=False, qb=qb)
    assert {c.Id for c in inactive} == set(records) - set(active)
    assert Customer.count(qb=qb) == len(active)
    assert Customer.count("Active = false", qb=qb) == len(records) - len(active)
    name = next(iter(active.values()))["DisplayName"]
    assert [c.DisplayName for c in Customer.filter(DisplayName=name, qb=qb)] == [name]
    assert {c.Id for c in Customer.choose(["1", "2", "3"], qb=qb)} == {"1", "2", "3"} & set(active)


def test_invoice_query_get_and_paging(qb, qbo_sandbox):
    records = truth(qbo_sandbox, "Invoice")
    pages, start = [], 1
    while True:
        page = Invoice.where(
            "", order_by="Metadata.LastUpdatedTime", start_position=start, max_results=50, qb=qb
        )
        pages += page
        if len(page) < 50:
            break
        start += 50
    assert sorted(i.Id for i in pages) == sorted(records)
    inv = Invoice.get("5", qb=qb)
    t = records["5"]
    got_lines = [(ln.Id, ln.Amount, ln.DetailType) for ln in inv.Line]
    assert got_lines == [(ln.get("Id"), ln["Amount"], ln["DetailType"]) for ln in t["Line"]]
    assert (inv.TotalAmt, inv.Balance, inv.DocNumber, inv.CustomerRef.value) == (
        t["TotalAmt"],
        t["Balance"],
        t["DocNumber"],
        t["CustomerRef"]["value"],
    )
    assert inv.Line[-1].DetailType == "SubTotalLineDetail"
    some = Invoice.query(
        f"SELECT * FROM Invoice WHERE CustomerRef = '{t['CustomerRef']['value']}'", qb=qb
    )
    assert "5" in {i.Id for i in some}
    with pytest.raises(exceptions.ObjectNotFoundException):
        Invoice.get("999999", qb=qb)
    with pytest.raises(exceptions.ValidationException):
        Invoice.query("SELECT * FROM Invoice WHERE", qb=qb)


def test_writes_through_python_quickbooks(qb, qbo_sandbox):
    realm = next(iter(qbo_sandbox.state.realms))
    c = Customer()
    c.DisplayName = "Fidelity Plumbing"
    c.GivenName = "Fi"
    c = c.save(qb=qb)
    assert c.Id and c.SyncToken == "0"
    c.CompanyName = "Fidelity Plumbing LLC"
    c.save(qb=qb)  # a full (non-sparse) update with every attribute python-quickbooks has
    stored = qbo_sandbox.state.get(realm, "Customer", c.Id)
    assert stored["SyncToken"] == "1" and stored["CompanyName"] == "Fidelity Plumbing LLC"
    assert stored["Active"] is True and stored["DisplayName"] == "Fidelity Plumbing"
    stale = Customer.get(c.Id, qb=qb)
    stale.SyncToken = "0"
    with pytest.raises(exceptions.QuickbooksException) as err:
        stale.save(qb=qb)
    assert err.value.error_code == 5010

    inv = Invoice.get("9", qb=qb)
    inv.void(qb=qb)
    assert qbo_sandbox.state.get(realm, "Invoice", "9")["Balance"] == 0
    Invoice.get("10", qb=qb).delete(qb=qb)
    assert "10" in qbo_sandbox.state.deleted_ids(realm, "Invoice")


def test_cdc_through_python_quickbooks(qb, qbo_sandbox):
    st = qbo_sandbox.state
    realm = next(iter(st.realms))
    since = st.clock.now() - timedelta(seconds=2)
    st.update(realm, "Customer", "3", {"Notes": "changed"})
    st.delete(realm, "Invoice", "8")
    resp = change_data_capture([Customer, Invoice], since.isoformat(), qb=qb)
    assert "3" in {c.Id for c in resp.Customer}
    deleted = [i for i in resp.Invoice if getattr(i, "status", None) == "Deleted"]
    assert [i.Id for i in deleted] == ["8"]


def test_expired_token_raises_authorization_exception(qb, qbo_sandbox):
    qbo_sandbox.state.clock.advance(seconds=3601)
    with pytest.raises(exceptions.AuthorizationException):
        Customer.all(qb=qb)
    qb.auth_client.refresh()  # rotation through intuitlib
    qb.session = None
    qb._start_session()
    assert Customer.count(qb=qb) > 0
