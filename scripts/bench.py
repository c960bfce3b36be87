#!/usr/bin/env python
"""Performance benchmark of the sync (``make bench``): is our own cost a small part of QBO's?

QBO allows ~500 requests/min per realm and 1000 records per page: ~120 ms per page is
the budget. This measures, against the bundled sandbox in a separate process (no
latency, no throttle), for SQLite and PostgreSQL:

1. a full backfill of 20,000 customers + 100,000 invoices through the real commands
   (`bootstrap_tokens`, `runsync --once`): records/s, the split of time between HTTP+JSON,
   validation/mapping and database writes, peak RSS of the sync process;
2. the local cost of one 1000-invoice page (JSON parse + map + bulk upsert with the
   cursor), against a floor (the fastest JSON parser installed + a raw driver
   ``executemany`` upsert) and a naive baseline (per-row ``update_or_create``);
3. peak RSS of an Invoice backfill at 10,000 and at 200,000 records;
4. an idle incremental cycle: requests sent and wall time;
5. an Invoice backfill with the sandbox answering each request after 0.25 s (and 0 s),
   QBO's throttle on: records/s, requests in flight (max, mean), busiest rolling minute.

Writes bench-results/bench.json and prints a table with pass/fail per target.
Options: --invoices/--customers to shrink the run, --db sqlite|postgres|both.
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
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"
PG_ADMIN = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
REALM, MEM_SMALL, MEM_LARGE = "9130350000000001", "9130350000000002", "9130350000000003"
PAGES = 10  # pages of 1000 invoices for the per-page measurements


def http(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
    request = urllib.request.Request(base + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=600) as answer:
        return json.loads(answer.read() or b"{}")


def database_url(kind: str, name: str) -> str:
    if kind == "sqlite":
        path = OUT / f"{name}.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def run_measured(command: list[str], env: dict) -> tuple[float, int, str]:
    """Run a command; return (seconds, peak RSS in MB, stderr)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[1:])} failed:\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss // 1024, stderr


def events(stderr: str) -> list[dict]:
    out = []
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "entity_synced":
            out.append(event)
    return out


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def bootstrap(base: str, env: dict, realm: str) -> None:
    code = http(base, "POST", f"/_sandbox/realms/{realm}/codes")["code"]
    subprocess.run(
        manage("bootstrap_tokens", "--code", code, "--realm-id", realm),
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def backfill(kind: str, base: str, env: dict) -> dict:
    env = {**env, "DATABASE_URL": database_url(kind, "qbo_bench_backfill")}
    subprocess.run(manage("migrate", "-v", "0"), cwd=ROOT, env=env, check=True)
    bootstrap(base, env, REALM)
    seconds, rss, stderr = run_measured(
        manage("runsync", "--once", "--no-progress", "--realm", REALM), env
    )
    synced = events(stderr)
    records = sum(e["written"] for e in synced)  # distinct records stored
    http(base, "POST", "/_sandbox/stats/reset")
    idle_s, _, _ = run_measured(manage("runsync", "--once", "--no-progress", "--realm", REALM), env)
    idle_requests = http(base, "GET", "/_sandbox/stats")["api_requests"][REALM]["total"]
    child = subprocess.run(
        [sys.executable, __file__, "--micro", base],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"per-page measurement failed:\n{child.stderr[-3000:]}")
    micro = json.loads(child.stdout.splitlines()[-1])
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "http_json_s": round(sum(e["http_s"] for e in synced), 2),
        "map_s": round(sum(e["map_s"] for e in synced), 2),
        "db_s": round(sum(e["db_s"] for e in synced), 2),
        "requests": sum(e["requests"] for e in synced),
        "peak_rss_mb": rss,
        "idle_cycle_requests": idle_requests,
        "idle_cycle_seconds": round(idle_s, 2),
        **micro,
    }


def latency_backfill(kind: str, base: str, env: dict, latency: float) -> dict:
    """Invoice backfill with a per-request latency, QBO's throttle on: records/s and how
    full the pipe was (max and mean in flight, busiest rolling minute)."""
    env = {**env, "DATABASE_URL": database_url(kind, "qbo_bench_latency")}
    subprocess.run(manage("migrate", "-v", "0"), cwd=ROOT, env=env, check=True)
    bootstrap(base, env, REALM)
    http(base, "POST", "/_sandbox/latency", {"seconds": latency})
    http(base, "POST", "/_sandbox/throttle", {"enabled": True})
    http(base, "POST", "/_sandbox/stats/reset")
    try:
        seconds, _, stderr = run_measured(
            manage("runsync", "--once", "--no-progress", "--realm", REALM, "--entity", "Invoice"),
            env,
        )
    finally:
        http(base, "POST", "/_sandbox/latency", {"seconds": 0})
        http(base, "POST", "/_sandbox/throttle", {"enabled": False})
    stats = http(base, "GET", "/_sandbox/stats")
    traffic = stats["traffic"][REALM]
    records = sum(e["written"] for e in events(stderr))  # distinct records stored
    throttled = stderr.count("HTTP 429")
    return {
        "latency_s": latency,
        "records": records,
        "records_read": sum(e["records"] for e in events(stderr)),
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "requests": traffic["requests"],
        "max_in_flight": stats["max_in_flight"][REALM],
        "mean_in_flight": traffic["mean_in_flight"],
        "max_per_minute": traffic["max_per_minute"],
        "throttled": throttled,
    }


def memory(kind: str, base: str, env: dict) -> dict:
    result = {}
    for realm, label in ((MEM_SMALL, "rss_10k_mb"), (MEM_LARGE, "rss_200k_mb")):
        env_db = {**env, "DATABASE_URL": database_url(kind, f"qbo_bench_mem_{label[4:8]}")}
        subprocess.run(manage("migrate", "-v", "0"), cwd=ROOT, env=env_db, check=True)
        bootstrap(base, env_db, realm)
        _, rss, _ = run_measured(
            manage("runsync", "--once", "--no-progress", "--realm", realm, "--entity", "Invoice"),
            env_db,
        )
        result[label] = rss
    result["rss_growth_mb"] = result["rss_200k_mb"] - result["rss_10k_mb"]
    return result


# --- per-page measurements, run in a child process with DATABASE_URL set ---------------------


def micro(base: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import requests
    from django.db import connection, transaction

    from quickbooks_sync.models import Invoice, SyncState, Token
    from quickbooks_sync.qbo.http import parse_json
    from quickbooks_sync.registry import ENTITIES
    from quickbooks_sync.sync.writer import prepare_page, write_page
    from quickbooks_sync.timeutil import parse_qbo_datetime

    spec = ENTITIES["Invoice"]
    token = Token.objects.get(realm_id=REALM).access_token
    session = requests.Session()
    pages = []
    for n in range(PAGES):
        answer = session.get(
            f"{base}/v3/company/{REALM}/query",
            params={
                "query": f"SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime "
                f"STARTPOSITION {n * 1000 + 1} MAXRESULTS 1000",
                "minorversion": "75",
            },
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        pages.append(answer.content)
    page_kb = sum(len(p) for p in pages) / len(pages) / 1024

    def fresh() -> None:
        # TRUNCATE on PostgreSQL: 120k deleted-but-not-vacuumed rows would slow every
        # measurement after them, ours and the floor alike.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {Invoice._meta.db_table}")
            else:
                cursor.execute(f"DELETE FROM {Invoice._meta.db_table}")

    state, _ = SyncState.objects.get_or_create(realm_id="bench", object_type="Invoice")
    # Ours: parse (the client's parser) + validate/map + bulk upsert with the cursor.
    fresh()
    started = time.perf_counter()
    for raw in pages:
        records = parse_json(raw)["QueryResponse"]["Invoice"]
        prepared, skipped = prepare_page(spec, "bench", records)
        write_page(
            spec,
            "bench",
            prepared,
            state=state,
            cursor=max(r.updated_at for r in prepared),
            skipped=skipped,
        )
    ours = (time.perf_counter() - started) / len(pages)

    # Floor: fastest parser + the raw driver's executemany upsert of the same columns.
    try:
        import orjson

        loads, parser = orjson.loads, "orjson"

        def orjson_dumps(value):
            return orjson.dumps(value).decode()
    except ImportError:
        loads, parser, orjson_dumps = json.loads, "json", json.dumps
    fresh()
    table = Invoice._meta.db_table
    columns = [
        "realm_id",
        "qb_id",
        "sync_token",
        "qb_updated_at",
        "raw_data",
        "created_at",
        "updated_at",
        "doc_number",
        "customer_qb_id",
        "txn_date",
        "due_date",
        "total_amt",
        "balance",
        "voided",
    ]
    sqlite = connection.vendor == "sqlite"
    markers = ["?" if sqlite else ("%s::jsonb" if c == "raw_data" else "%s") for c in columns]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        f"({', '.join(markers)}) ON CONFLICT (realm_id, qb_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns[2:] if c != "created_at")
    )
    connection.ensure_connection()
    raw_connection = connection.connection

    def stamp(value):
        return value.isoformat(" ") if sqlite else value

    started = time.perf_counter()
    for raw in pages:
        rows = []
        now = stamp(datetime.now(UTC))
        for r in loads(raw)["QueryResponse"]["Invoice"]:
            rows.append(
                (
                    "bench",
                    r["Id"],
                    r["SyncToken"],
                    stamp(parse_qbo_datetime(r["MetaData"]["LastUpdatedTime"])),
                    orjson_dumps(r),
                    now,
                    now,
                    r.get("DocNumber", ""),
                    r.get("CustomerRef", {}).get("value", ""),
                    r.get("TxnDate"),
                    r.get("DueDate"),
                    r.get("TotalAmt"),
                    r.get("Balance"),
                    False,
                )
            )
        with transaction.atomic():  # one transaction per page, as ours
            raw_connection.cursor().executemany(sql, rows)
    floor = (time.perf_counter() - started) / len(pages)

    # Naive baseline: per-row update_or_create (what many hand-rolled scripts do).
    fresh()
    naive_pages = pages[:2]
    started = time.perf_counter()
    for raw in naive_pages:
        for r in json.loads(raw)["QueryResponse"]["Invoice"]:
            fields = spec.to_fields(r)
            Invoice.objects.update_or_create(
                realm_id="bench",
                qb_id=r["Id"],
                defaults={
                    "sync_token": r["SyncToken"],
                    "raw_data": r,
                    "qb_updated_at": parse_qbo_datetime(r["MetaData"]["LastUpdatedTime"]),
                    **fields,
                },
            )
    naive = (time.perf_counter() - started) / len(naive_pages)
    return {
        "page_kb": round(page_kb),
        "page_ms_ours": round(ours * 1000, 1),
        "page_ms_floor": round(floor * 1000, 1),
        "floor_parser": parser,
        "page_ms_naive": round(naive * 1000, 1),
        "bulk_vs_naive": round(naive / ours, 1),
        "ours_vs_floor": round(ours / floor, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micro", metavar="SANDBOX_URL", help=argparse.SUPPRESS)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--fetch-concurrency",
        type=int,
        default=None,
        help="QB_FETCH_CONCURRENCY for the sync runs (default: the setting's default)",
    )
    parser.add_argument(
        "--latencies",
        default="0.25,0",
        help="sandbox latencies (s) for the throughput runs; '' to skip",
    )
    args = parser.parse_args()
    if args.micro:
        print(json.dumps(micro(args.micro)))
        return 0

    OUT.mkdir(exist_ok=True)
    from cryptography.fernet import Fernet

    from qbproject.devkey import development_secret_key

    env = {k: v for k, v in os.environ.items() if not k.startswith(("QB_", "DJANGO_"))}
    env.update(
        DJANGO_SECRET_KEY=development_secret_key(),
        QBO_SYNC_ENV_FILE="/nonexistent",
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        QB_TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        QB_SETTLE_SECONDS="0",
        QB_CLIENT_ID="sandbox-client-id",
        QB_CLIENT_SECRET="sandbox-client-secret",
    )
    if args.fetch_concurrency:
        env["QB_FETCH_CONCURRENCY"] = str(args.fetch_concurrency)
    sandbox = subprocess.Popen(
        manage(
            "qbo_sandbox",
            "--port",
            "0",
            "--no-throttle",
            "--realm",
            REALM,
            "--customers",
            str(args.customers),
            "--invoices",
            str(args.invoices),
        ),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = re.search(r"listening on (\S+)", sandbox.stdout.readline()).group(1)
    env.update(QB_API_BASE_URL=base, QB_OAUTH_TOKEN_URL=f"{base}/oauth2/v1/tokens/bearer")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict = {"args": vars(args), "databases": {}}
    try:
        if not args.skip_memory:
            http(
                base,
                "POST",
                "/_sandbox/realms",
                {"realm_id": MEM_SMALL, "customers": 100, "invoices": 10_000, "seed": 2},
            )
            http(
                base,
                "POST",
                "/_sandbox/realms",
                {"realm_id": MEM_LARGE, "customers": 100, "invoices": 200_000, "seed": 3},
            )
        for kind in kinds:
            print(f"[{kind}] backfill of {args.customers + args.invoices:,} records…", flush=True)
            row = backfill(kind, base, env)
            if not args.skip_memory:
                print(f"[{kind}] memory at 10k and 200k records…", flush=True)
                row.update(memory(kind, base, env))
            row["latency_runs"] = []
            for latency in [float(x) for x in args.latencies.split(",") if x.strip()]:
                print(f"[{kind}] Invoice backfill with {latency}s latency per request…", flush=True)
                row["latency_runs"].append(latency_backfill(kind, base, env, latency))
            results["databases"][kind] = row
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=20)
    return report(results)


def report(results: dict) -> int:
    targets = []
    for kind, r in results["databases"].items():
        targets += [
            (
                kind,
                "bulk >= 10x naive records/s",
                r["bulk_vs_naive"] >= 10,
                f"{r['bulk_vs_naive']}x",
            ),
            (
                kind,
                "page cost <= 1.5x floor",
                r["ours_vs_floor"] <= 1.5,
                f"{r['page_ms_ours']} ms vs {r['page_ms_floor']} ms ({r['ours_vs_floor']}x)",
            ),
            (
                kind,
                "page cost < 60 ms (half of 120)",
                r["page_ms_ours"] < 60,
                f"{r['page_ms_ours']} ms",
            ),
            (
                kind,
                "idle cycle <= 1 request",
                r["idle_cycle_requests"] <= 1,
                f"{r['idle_cycle_requests']} in {r['idle_cycle_seconds']} s",
            ),
        ]
        for run in r.get("latency_runs", []):
            if run["latency_s"] >= 0.25:
                targets.append(
                    (
                        kind,
                        f"{run['latency_s']}s latency: >= 6,600 rec/s",
                        run["records_per_s"] >= 6600,
                        f"{run['records_per_s']} rec/s",
                    )
                )
            targets.append(
                (
                    kind,
                    f"{run['latency_s']}s latency: <= 10 in flight, <= 500/min",
                    run["max_in_flight"] <= 10 and run["max_per_minute"] <= 500,
                    f"max {run['max_in_flight']} in flight (mean "
                    f"{run['mean_in_flight']}), {run['max_per_minute']}/min, "
                    f"{run['throttled']} throttled",
                )
            )
        if "rss_growth_mb" in r:
            targets.append(
                (
                    kind,
                    "RSS growth 10k->200k < 20 MB",
                    r["rss_growth_mb"] < 20,
                    f"{r['rss_10k_mb']} -> {r['rss_200k_mb']} MB",
                )
            )
    print()
    header = (
        f"{'database':<9} {'records':>8} {'rec/s':>7} {'http+json s':>11} {'map s':>6} "
        f"{'db s':>6} {'peak MB':>8} {'page ms':>8} {'floor':>6} {'naive':>7}"
    )
    print(header)
    for kind, r in results["databases"].items():
        print(
            f"{kind:<9} {r['records']:>8} {r['records_per_s']:>7} {r['http_json_s']:>11} "
            f"{r['map_s']:>6} {r['db_s']:>6} {r['peak_rss_mb']:>8} {r['page_ms_ours']:>8} "
            f"{r['page_ms_floor']:>6} {r['page_ms_naive']:>7}"
        )
    print()
    print(
        f"{'database':<9} {'latency':>7} {'records':>8} {'seconds':>8} {'rec/s':>7} "
        f"{'requests':>8} {'max in flight':>13} {'mean':>5} {'max/min':>7}"
    )
    for kind, r in results["databases"].items():
        for run in r.get("latency_runs", []):
            print(
                f"{kind:<9} {run['latency_s']:>7} {run['records']:>8} {run['seconds']:>8} "
                f"{run['records_per_s']:>7} {run['requests']:>8} {run['max_in_flight']:>13} "
                f"{run['mean_in_flight']:>5} {run['max_per_minute']:>7}"
            )
    print()
    for kind, name, ok, detail in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {kind:<9} {name:<34} {detail}")
    results["targets"] = [
        {"database": k, "target": n, "pass": ok, "measured": d} for k, n, ok, d in targets
    ]
    (OUT / "bench.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {OUT / 'bench.json'}")
    return 0 if all(ok for _, _, ok, _ in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
