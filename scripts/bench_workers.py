#!/usr/bin/env python
"""Benchmark: time to sync N realms with 1, 2 and 4 `runsync --loop` workers on PostgreSQL.

The sandbox runs in its own process with a per-request latency (real QBO answers in
~0.25 s; default here 0.05 s to keep the run short), so the work is dominated by waiting
on the API, which is what more workers overlap. Each round starts from an empty copy
(rows and cursors deleted, every realm due now) and ends when every realm has finished a
sync. Prints a table and writes JSON to bench-results/workers.json.

    make bench-workers            # or: .venv/bin/python scripts/bench_workers.py --realms 50
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
BENCH_DB = "qbo_bench_workers"


def scratch_database() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {BENCH_DB}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realms", type=int, default=50)
    parser.add_argument("--invoices", type=int, default=200, help="per realm")
    parser.add_argument("--customers", type=int, default=20, help="per realm")
    parser.add_argument("--latency", type=float, default=0.05, help="sandbox seconds/request")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()

    realms = [str(9130350000001000 + i) for i in range(args.realms)]
    database_url = scratch_database()
    from cryptography.fernet import Fernet

    from qbproject.devkey import development_secret_key

    env = {k: v for k, v in os.environ.items() if not k.startswith(("QB_", "DJANGO_"))}
    env.update(
        DJANGO_SECRET_KEY=development_secret_key(),
        DATABASE_URL=database_url,
        QBO_SYNC_ENV_FILE="/nonexistent",
        LOG_LEVEL="warning",
        QB_TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        QB_SETTLE_SECONDS="0",
        QB_MAX_RESULTS="100",
        SYNC_INTERVAL_MINUTES="600",
        SYNC_POLL_SECONDS="0.1",
        SYNC_LEASE_SECONDS="30",
    )
    command = [
        sys.executable,
        "manage.py",
        "qbo_sandbox",
        "--port",
        "0",
        "--no-throttle",
        "--customers",
        str(args.customers),
        "--invoices",
        str(args.invoices),
        "--latency",
        str(args.latency),
    ]
    for realm in realms:
        command += ["--realm", realm]
    sandbox = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    url = re.search(r"listening on (\S+)", sandbox.stdout.readline()).group(1)
    env.update(
        QB_API_BASE_URL=url,
        QB_OAUTH_TOKEN_URL=f"{url}/oauth2/v1/tokens/bearer",
        QB_CLIENT_ID="sandbox-client-id",
        QB_CLIENT_SECRET="sandbox-client-secret",
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from quickbooks_sync.models import Company, Customer, Invoice, SyncState
    from quickbooks_sync.tokens import token_bootstrap

    rows = []
    try:
        call_command("migrate", verbosity=0)
        import urllib.request

        for realm in realms:
            request = urllib.request.Request(
                f"{url}/_sandbox/realms/{realm}/codes", data=b"{}", method="POST"
            )
            with urllib.request.urlopen(request) as answer:
                code = json.loads(answer.read())["code"]
            token_bootstrap(realm_id=realm, code=code, redirect_uri="http://localhost/cb")
        total_records = args.realms * (args.invoices + args.customers)
        for count in [int(n) for n in args.workers.split(",")]:
            Customer.objects.all().delete()
            Invoice.objects.all().delete()
            SyncState.objects.all().delete()
            start_mark = timezone.now()
            Company.objects.update(
                next_sync_due_at=start_mark,
                last_sync_finished_at=None,
                lease_owner="",
                lease_expires_at=None,
            )
            started = time.monotonic()
            workers = [
                subprocess.Popen(
                    [sys.executable, "manage.py", "runsync", "--loop", "--no-progress"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
                for _ in range(count)
            ]
            while Company.objects.filter(last_sync_finished_at__isnull=True).exists():
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
            failures = SyncState.objects.exclude(status="success").count()
            rows.append(
                {
                    "workers": count,
                    "seconds": round(elapsed, 2),
                    "realms_per_s": round(args.realms / elapsed, 2),
                    "records_per_s": round(total_records / elapsed),
                    "failed_syncs": failures,
                }
            )
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=10)
    base = rows[0]["seconds"] if rows else 1
    print(
        f"\n{args.realms} realms x ({args.customers} customers + {args.invoices} invoices), "
        f"sandbox latency {args.latency}s/request, page size 100, PostgreSQL"
    )
    print(f"{'workers':>8} {'seconds':>8} {'realms/s':>9} {'records/s':>10} {'speedup':>8}")
    for row in rows:
        row["speedup"] = round(base / row["seconds"], 2)
        print(
            f"{row['workers']:>8} {row['seconds']:>8} {row['realms_per_s']:>9} "
            f"{row['records_per_s']:>10} {row['speedup']:>7}x"
            + (f"  ({row['failed_syncs']} failed)" if row["failed_syncs"] else "")
        )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "workers.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0 if all(r["failed_syncs"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
