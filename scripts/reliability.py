"""``make reliability``: run the reliability suite in its full configuration on SQLite and
PostgreSQL and print one table: scenario, database, runs, records, lost, duplicated,
outcome.

Each scenario of tests/reliability appends a JSON row to the file named by
``RELIABILITY_RESULTS``; this script runs pytest once per database with
``RELIABILITY_FULL=1`` and reads those rows back. Exit status: non-zero if pytest failed
or any row is not PASS.

    python scripts/reliability.py [--quick] [--db sqlite|postgresql ...] [-- pytest args]

``--quick`` runs the small CI configuration instead; ``RELIABILITY_SEED`` replays a run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
COLUMNS = ("scenario", "database", "runs", "records", "lost", "duplicated", "outcome")


def run_suite(database: str, results: Path, quick: bool, extra: list[str]) -> tuple[int, float]:
    env = dict(os.environ, RELIABILITY_RESULTS=str(results))
    if not quick:
        env["RELIABILITY_FULL"] = "1"
    if database == "postgresql":
        env["DATABASE_URL"] = PG_URL
        env["DATABASE_TEST_NAME"] = f"test_reliability_{os.getpid()}"
    else:
        env["DATABASE_URL"] = ""
    started = time.monotonic()
    code = subprocess.call(
        [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:randomly", *extra],
        cwd=ROOT,
        env=env,
    )
    return code, time.monotonic() - started


def table(rows: list[dict]) -> str:
    cells = [[str(r.get(c, "")) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    line = "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small CI configuration")
    parser.add_argument(
        "--db", action="append", choices=("sqlite", "postgresql"), help="default: both"
    )
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    databases = args.db or ["sqlite", "postgresql"]
    rows: list[dict] = []
    failures = []
    timings = []
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            results = Path(tmp) / f"{database}.jsonl"
            results.touch()
            code, seconds = run_suite(database, results, args.quick, args.pytest_args)
            timings.append(f"{database}: pytest exit {code} in {seconds:.0f}s")
            if code != 0:
                failures.append(f"pytest on {database} exited {code}")
            rows += [json.loads(line) for line in results.read_text().splitlines() if line]
    print()
    print(table(rows))
    print()
    print("; ".join(timings))
    bad = [r for r in rows if r.get("outcome") != "PASS"]
    for row in bad:
        failures.append(f"{row['scenario']} on {row['database']}: {row['outcome']}")
    if not rows:
        failures.append("no scenario reported a result")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print(f"PASS: {len(rows)} scenario runs, 0 lost, 0 duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
