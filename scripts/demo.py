#!/usr/bin/env python
"""The one-command demo (``make demo``): a real sync against the bundled QBO sandbox.

It starts the sandbox in its own process, migrates a fresh SQLite database (demo.db),
bootstraps tokens through the OAuth code exchange, runs a full sync with the real
``runsync`` command, changes records in the sandbox (edit, deactivate, void, delete,
add), runs an incremental cycle, proves the copy is whole with ``verifysync --ids`` and
prints a summary with the way into the admin. Re-runnable; leaves nothing running.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from qbproject.devkey import development_secret_key

ROOT = Path(__file__).resolve().parent.parent
DB = ROOT / "demo.db"
REALM = "9130350000000001"
CUSTOMERS, INVOICES = 300, 3000


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def call(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def start_sandbox(env: dict) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "qbo_sandbox",
            "--port",
            "0",
            "--seed",
            "42",
            "--customers",
            str(CUSTOMERS),
            "--invoices",
            str(INVOICES),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"listening on (\S+)", line)
    if not match:
        process.terminate()
        raise SystemExit(f"the sandbox did not start: {line.strip() or 'no output'}")
    return process, match.group(1)


def change_records(base: str) -> list[str]:
    realm = f"/_sandbox/realms/{REALM}"
    truth = call(base, "GET", f"{realm}/truth/Invoice")["records"]
    invoice_ids = sorted(truth, key=int)
    done = []
    for qb_id in ("1", "2", "3"):
        customer = call(base, "GET", f"{realm}/Customer/{qb_id}")
        name = customer["DisplayName"] + " (renamed)"
        call(
            base,
            "POST",
            f"{realm}/Customer/{qb_id}",
            {"op": "update", "fields": {"DisplayName": name}},
        )
    done.append("renamed customers 1, 2, 3")
    for qb_id in range(4, 60):
        try:
            call(base, "POST", f"{realm}/Customer/{qb_id}", {"op": "deactivate"})
        except urllib.error.HTTPError:
            continue  # QBO refuses to deactivate a customer with an open balance
        done.append(f"deactivated customer {qb_id}")
        break
    call(base, "POST", f"{realm}/Invoice/{invoice_ids[10]}", {"op": "void"})
    done.append(f"voided invoice {invoice_ids[10]}")
    for qb_id in invoice_ids[20:22]:
        call(base, "POST", f"{realm}/Invoice/{qb_id}", {"op": "delete"})
    done.append(f"deleted invoices {invoice_ids[20]} and {invoice_ids[21]}")
    new_ids = []
    for amount in (120.0, 480.0):
        created = call(
            base,
            "POST",
            f"{realm}/Invoice",
            {
                "CustomerRef": {"value": "1"},
                "Line": [
                    {
                        "Amount": amount,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
                    }
                ],
            },
        )
        new_ids.append(created["Id"])
    done.append(f"added invoices {', '.join(new_ids)}")
    return done


def main() -> int:
    started = time.monotonic()
    DB.unlink(missing_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QB_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(DATABASE_URL=f"sqlite:///{DB.name}", QBO_SYNC_ENV_FILE="/nonexistent")
    env["QB_TOKEN_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    # Django refuses to start without a key; the demo uses the per-checkout one.
    env["DJANGO_SECRET_KEY"] = development_secret_key()
    env.setdefault("LOG_LEVEL", "warning")  # the commands' own output tells the story

    say("Starting the bundled QuickBooks sandbox")
    sandbox, base = start_sandbox(env)
    try:
        health = call(base, "GET", "/_sandbox/health")
        print(f"sandbox at {base}; realm {REALM}; {CUSTOMERS} customers, {INVOICES} invoices")
        env.update(
            QB_API_BASE_URL=base,
            QB_OAUTH_TOKEN_URL=f"{base}/oauth2/v1/tokens/bearer",
            QB_OAUTH_REVOKE_URL=f"{base}/v2/oauth2/tokens/revoke",
            QB_CLIENT_ID=health.get("client_id", "sandbox-client-id"),
            QB_CLIENT_SECRET=health.get("client_secret", "sandbox-client-secret"),
            QB_REALM_ID=REALM,
        )

        say("Migrating the embedded SQLite database (demo.db); collecting the admin's static files")
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")

        say("Exchanging a one-time authorization code for tokens (bootstrap_tokens)")
        code = call(base, "POST", f"/_sandbox/realms/{REALM}/codes")["code"]
        manage(
            env,
            "bootstrap_tokens",
            "--code",
            code,
            "--realm-id",
            REALM,
            "--redirect-uri",
            "http://localhost:8000/quickbooks/callback/",
        )

        say("Full sync (runsync --once)")
        t = time.monotonic()
        manage(env, "runsync", "--once")
        full_s = time.monotonic() - t

        say("Changing records in the sandbox, as a bookkeeper would in QuickBooks")
        changes = change_records(base)
        for change in changes:
            print(f"  - {change}")

        say("Incremental cycle (runsync --once): one CDC request brings every change")
        call(base, "POST", "/_sandbox/stats/reset")
        t = time.monotonic()
        manage(env, "runsync", "--once")
        incr_s = time.monotonic() - t
        requests = call(base, "GET", "/_sandbox/stats")["api_requests"].get(REALM, {})

        say("Proving the copy is whole (verifysync --ids)")
        manage(env, "verifysync", "--ids")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)

    os.environ.update(
        DATABASE_URL=env["DATABASE_URL"],
        QBO_SYNC_ENV_FILE="/nonexistent",
        DJANGO_SECRET_KEY=env["DJANGO_SECRET_KEY"],
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from quickbooks_sync.models import Customer, Invoice

    password = secrets.token_urlsafe(12)
    get_user_model().objects.create_superuser("admin", "admin@example.com", password)

    say(f"Done in {time.monotonic() - started:.1f}s")
    customers, invoices = Customer.objects.all(), Invoice.objects.all()
    print(
        f"  Customers: {customers.live().count()} "
        f"({customers.filter(active=False).count()} inactive)"
    )
    print(
        f"  Invoices:  {invoices.live().count()} live, {invoices.deleted().count()} deleted, "
        f"{invoices.filter(voided=True).count()} voided"
    )
    print(
        f"  Full sync {full_s:.1f}s; incremental cycle {incr_s:.1f}s using "
        f"{requests.get('total', '?')} API request(s)"
    )
    print("\n  Browse the synced data in the admin:")
    print(
        f"    DJANGO_DEBUG=true DATABASE_URL=sqlite:///{DB.name} "
        ".venv/bin/python manage.py runserver"
    )
    print(f"    open http://127.0.0.1:8000/admin/  user: admin  password: {password}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        print(f"\ndemo failed: `{' '.join(exc.cmd[1:])}` exited {exc.returncode}", file=sys.stderr)
        sys.exit(1)
