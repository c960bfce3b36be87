"""The /_sandbox control API and the ``qbo_sandbox`` management command."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def call(server, method, path, **kw):
    resp = requests.request(method, f"{server.url}/_sandbox/{path}", timeout=20, **kw)
    assert resp.headers["intuit_tid"]
    return resp


def test_admin_api_round_trip(qbo_sandbox, qbo_sandbox_realm):
    s, realm = qbo_sandbox, qbo_sandbox_realm
    health = call(s, "GET", "health").json()
    assert health["status"] == "ok" and health["realms"] == [realm]
    assert health["token_url"] == s.token_url

    code = call(s, "POST", f"realms/{realm}/codes").json()["code"]
    assert s.state.tokens.exchange_code(code, False)["access_token"]

    created = call(s, "POST", f"realms/{realm}/customer", json={"DisplayName": "Http Co"}).json()
    cid = created["Id"]
    upd = call(
        s, "POST", f"realms/{realm}/Customer/{cid}", json={"op": "update", "fields": {"Notes": "x"}}
    ).json()
    assert upd["SyncToken"] == "1"
    assert (
        call(s, "POST", f"realms/{realm}/Customer/{cid}", json={"op": "deactivate"}).json()[
            "Active"
        ]
        is False
    )
    refused = call(s, "POST", f"realms/{realm}/Customer/{cid}", json={"op": "delete"})
    assert refused.status_code == 400
    assert (
        call(s, "POST", f"realms/{realm}/Invoice/1", json={"op": "void"}).json()["PrivateNote"]
        == "Voided"
    )
    assert call(s, "POST", f"realms/{realm}/Invoice/2", json={"op": "delete"}).status_code == 200
    touched = call(
        s, "POST", f"realms/{realm}/bulk_touch", json={"entity": "Invoice", "ids": ["3", "4"]}
    ).json()
    assert touched == {"touched": 2}

    truth = call(s, "GET", f"realms/{realm}/truth/Invoice").json()
    assert truth["deleted"] == ["2"] and "2" not in truth["records"]
    assert truth["records"]["3"]["LastUpdatedTime"] == truth["records"]["4"]["LastUpdatedTime"]
    assert truth["records"]["1"]["SyncToken"] == str(
        int(s.state.get(realm, "Invoice", 1)["SyncToken"])
    )
    ctruth = call(s, "GET", f"realms/{realm}/truth/Customer").json()
    assert ctruth["records"][cid]["Active"] is False

    merged = call(s, "POST", f"realms/{realm}/merge", json={"absorbed_id": "3", "survivor_id": "4"})
    assert merged.status_code == 200 and merged.json()["Id"] == "4"

    clock = call(s, "POST", "clock", json={"set": "2030-01-01T00:00:00Z", "freeze": True}).json()
    assert clock["frozen"] is True and clock["now"].startswith("2030-01-01T00:00:00")
    clock = call(s, "POST", "clock", json={"advance_seconds": 90}).json()
    assert clock["now"].startswith("2030-01-01T00:01:30")

    pending = call(
        s, "POST", "faults", json={"kind": "503", "count": 2, "path_contains": "/query"}
    ).json()["pending"]
    assert pending[0]["kind"] == "503" and pending[0]["remaining"] == 2
    assert call(s, "POST", "faults", json={"kind": "bogus"}).status_code == 400
    assert call(s, "DELETE", "faults").json() == {"pending": []}

    assert (
        call(s, "POST", "latency", json={"seconds": 0.01, "jitter": 0.0}).json()["seconds"] == 0.01
    )
    assert "api_requests" in call(s, "GET", "stats").json()
    assert call(s, "POST", "stats/reset").json()["token_requests"] == {
        "authorization_code": 0,
        "refresh_token": 0,
    }
    assert call(s, "GET", "realms/nope/truth/Customer").status_code == 404
    assert call(s, "GET", "nothing-here").status_code == 404


def test_admin_seed_is_fast_enough_for_big_realms(qbo_sandbox_factory):
    server = qbo_sandbox_factory(customers=0, invoices=0, throttle=False)
    realm = next(iter(server.state.realms))
    t = time.monotonic()
    resp = call(
        server,
        "POST",
        f"realms/{realm}/seed",
        json={"customers": 2000, "invoices": 10000, "seed": 9},
    )
    made = resp.json()
    assert (made["customers"], made["invoices"]) == (2000, 10000)
    assert made["Payment"] > 5000  # every paid invoice has its payment
    assert time.monotonic() - t < 5
    made = call(server, "POST", "realms", json={"realm_id": "42", "customers": 3}).json()
    assert made["realm_id"] == "42" and made["customers"] == 3 and made["invoices"] == 0
    assert made["accounts"] > 0  # a new company starts with its chart of accounts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_management_command_serves_and_exits_cleanly_on_sigterm():
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qbproject.settings", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "qbo_sandbox",
            "--port",
            str(port),
            "--customers",
            "5",
            "--invoices",
            "10",
            "--realm",
            "111",
            "--realm",
            "222",
            "--no-throttle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line, line + proc.stderr.read()
        assert "realms=111,222" in line and "client_id=sandbox-client-id" in line
        health = requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=5).json()
        assert health["realms"] == ["111", "222"]
        truth = requests.get(
            f"http://127.0.0.1:{port}/_sandbox/realms/222/truth/Invoice", timeout=5
        ).json()
        assert len(truth["records"]) == 10
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert re.search(r"client_secret=\S+", line)
