"""Injected faults, throttling, latency and stats."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from quickbooks_sync.sandbox import SandboxConfig

Q = "SELECT * FROM Customer MAXRESULTS 2"


def test_429_with_and_without_retry_after(api, qbo_sandbox):
    qbo_sandbox.state.inject_fault("429")
    resp = api.query(Q)
    assert resp.status_code == 429 and "Retry-After" not in resp.headers
    err = resp.json()["Fault"]
    assert err["type"] == "SERVICE" and err["Error"][0]["code"] == "3001"
    assert err["Error"][0]["Detail"] == "The request limit was reached.  Try again later"
    qbo_sandbox.state.inject_fault("429", retry_after=7)
    assert api.query(Q).headers["Retry-After"] == "7"
    assert api.query(Q).status_code == 200  # the faults are used up


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503)])
def test_server_errors(api, qbo_sandbox, kind, status):
    qbo_sandbox.state.inject_fault(kind, count=2)
    for _ in range(2):
        resp = api.query(Q)
        assert resp.status_code == status
        assert resp.json()["Fault"]["type"] == "SystemFault" and resp.headers["intuit_tid"]
    assert api.query(Q).status_code == 200


def test_401_gateway_body(api, qbo_sandbox):
    qbo_sandbox.state.inject_fault("401")
    resp = api.query(Q)
    assert resp.status_code == 401
    assert resp.json()["fault"]["error"][0]["code"] == "3200"


def test_slow(api, qbo_sandbox):
    qbo_sandbox.state.inject_fault("slow", delay=0.3)
    t = time.monotonic()
    assert api.query(Q).status_code == 200
    assert time.monotonic() - t >= 0.3


def test_reset(api, qbo_sandbox):
    qbo_sandbox.state.inject_fault("reset")
    with pytest.raises(requests.ConnectionError):
        api.query(Q)
    assert api.query(Q).status_code == 200


def test_truncated_and_html(api, qbo_sandbox):
    qbo_sandbox.state.inject_fault("truncated")
    resp = api.query(Q)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()
    qbo_sandbox.state.inject_fault("html")
    resp = api.query(Q)
    assert resp.status_code == 502 and resp.text.startswith("<!DOCTYPE html>")
    qbo_sandbox.state.inject_fault("html", status=200)
    assert api.query(Q).status_code == 200


def test_filters_by_path_and_realm(api, qbo_sandbox):
    st = qbo_sandbox.state
    st.inject_fault("500", path_contains="/cdc")
    st.inject_fault("500", realm_id="someone-else")
    assert api.query(Q).status_code == 200
    assert (
        api.get("cdc", entities="Customer", changedSince=st.clock.now().isoformat()).status_code
        == 500
    )
    assert len(st.faults.pending()) == 1
    with pytest.raises(ValueError):
        st.inject_fault("teapot")


def test_stats_count_by_kind(api, qbo_sandbox):
    st = qbo_sandbox.state
    st.reset_stats()
    api.query(Q)
    api.get("cdc", entities="Customer", changedSince=st.clock.now().isoformat())
    api.get("customer/1")
    api.get(f"companyinfo/{api.realm}")
    per = st.stats()["api_requests"][api.realm]
    assert (per["query"], per["cdc"], per["read"], per["companyinfo"], per["total"]) == (
        1,
        1,
        1,
        1,
        4,
    )
    assert st.stats()["max_in_flight"][api.realm] == 1


@pytest.mark.parametrize("qbo_sandbox_config", [SandboxConfig(rate_limit_per_minute=5)])
def test_rate_limit_per_minute(api):
    codes = [api.query(Q).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2


@pytest.mark.parametrize("qbo_sandbox_config", [SandboxConfig(latency=0.3)])
def test_concurrency_limit_and_latency(api, qbo_sandbox):
    results = []

    def call():
        with requests.Session() as s:
            s.headers.update(api.session.headers)
            results.append(s.get(api.url("query"), params={"query": Q}, timeout=10).status_code)

    threads = [threading.Thread(target=call) for _ in range(14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) == 10 and results.count(429) == 4
    assert qbo_sandbox.state.stats()["max_in_flight"][api.realm] >= 11
    qbo_sandbox.state.set_latency(0.0)
    qbo_sandbox.state.set_throttle(False)
    assert api.query(Q).status_code == 200
