"""Shared plumbing of the reliability suite: sizes, scratch databases, subprocess commands,
truth comparison and the result rows that ``scripts/reliability.py`` turns into a table.

Why scratch databases: the crash, concurrency and secrets scenarios run the real
``manage.py`` commands in other processes, which cannot see pytest's test database (an
in-memory one on SQLite). Each such scenario creates its own database (a file on SQLite,
``rel_<name>_<pid>`` on PostgreSQL, on the server the suite runs against), migrates it
with a subprocess, reads it with plain SQL and drops it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from tests import commands

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("RELIABILITY_FULL", "") == "1"
RESULTS_FILE = os.environ.get("RELIABILITY_RESULTS", "")
TABLES = {"Customer": "quickbooks_sync_customer", "Invoice": "quickbooks_sync_invoice"}


def size(default: int, full: int) -> int:
    """The small CI number, or the full-run number under ``RELIABILITY_FULL=1``."""
    return full if FULL else default


def seed_for(scenario: str) -> int:
    """A replayable seed: ``RELIABILITY_SEED`` if set, else a fresh one (always printed)."""
    fixed = os.environ.get("RELIABILITY_SEED")
    value = int(fixed) if fixed else random.SystemRandom().randrange(1, 2**31)
    print(f"[reliability] {scenario}: seed={value} (replay with RELIABILITY_SEED={value})")
    return value


def vendor() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def record_result(
    scenario: str,
    *,
    runs: int,
    records: int,
    lost: int,
    duplicated: int,
    ok: bool,
    database: str | None = None,
    **extra,
) -> None:
    """Append one JSON row for the report (no-op unless ``RELIABILITY_RESULTS`` is set)."""
    row = {
        "scenario": scenario,
        "database": database or vendor(),
        "runs": runs,
        "records": records,
        "lost": lost,
        "duplicated": duplicated,
        "outcome": "PASS" if ok and not lost and not duplicated else "FAIL",
        **extra,
    }
    print(f"[reliability] {json.dumps(row, default=str)}")
    if RESULTS_FILE:
        with open(RESULTS_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=str) + "\n")


# --- scratch databases ----------------------------------------------------------------------


@dataclass
class ScratchDB:
    """A database of our own for subprocess scenarios; same vendor as the suite."""

    name: str
    tmp_path: Path
    kind: str = field(default_factory=vendor)
    url: str = ""
    path: Path | None = None

    def __enter__(self) -> ScratchDB:
        if self.kind == "sqlite":
            self.path = self.tmp_path / f"{self.name}.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.dbname = f"rel_{self.name}_{os.getpid()}"
            cfg = settings.DATABASES["default"]
            self._server = {
                "host": cfg.get("HOST") or "127.0.0.1",
                "port": int(cfg.get("PORT") or 5432),
                "user": cfg.get("USER") or "postgres",
                "password": cfg.get("PASSWORD") or None,
            }
            self._admin(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{self.dbname}"')
            auth = self._server["user"]
            if self._server["password"]:
                auth += f":{self._server['password']}"
            self.url = (
                f"postgres://{auth}@{self._server['host']}:{self._server['port']}/{self.dbname}"
            )
        return self

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self._server) as conn:
            conn.execute(sql)

    def __exit__(self, *exc) -> None:
        if self.kind != "sqlite":
            with contextlib.suppress(Exception):
                self._admin(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    @contextlib.contextmanager
    def connect(self):
        """A short-lived DB-API connection (read-mostly; the workers own the writes)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(str(self.path), timeout=30)
        else:
            import psycopg

            conn = psycopg.connect(dbname=self.dbname, autocommit=True, **self._server)
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.kind == "sqlite":
            sql = sql.replace("%s", "?")
        for attempt in range(50):
            try:
                with self.connect() as conn:
                    cur = conn.cursor()
                    cur.execute(sql, params)
                    return list(cur.fetchall())
            except sqlite3.OperationalError:  # a writer holds the lock: look again
                if attempt == 49:
                    raise
                time.sleep(0.05)
        return []

    def execute(self, sql: str, params: tuple = ()) -> None:
        if self.kind == "sqlite":
            sql = sql.replace("%s", "?")
        with self.connect() as conn:
            conn.cursor().execute(sql, params)
            conn.commit()


# --- the commands, out of process -------------------------------------------------------------


def command_env(db: ScratchDB, server=None, **extra: object) -> dict[str, str]:
    """The environment of a ``manage.py`` subprocess: only what the scenario states."""
    env = commands.isolated_env(drop=("QB_", "DJANGO_", "SYNC_"))
    env.pop("DATABASE_TEST_NAME", None)
    env.pop("LOG_LEVEL", None)
    env.update(
        DATABASE_URL=db.url,
        QB_TOKEN_ENCRYPTION_KEY=settings.QB_TOKEN_ENCRYPTION_KEY[0],
        QB_SETTLE_SECONDS="0",
        QB_RETRY_BACKOFF_SECONDS="0.05",
        QB_THROTTLE_BACKOFF_SECONDS="0.2",
        QB_REQUESTS_PER_MINUTE="100000",
        SYNC_LEASE_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    if server is not None:
        env.update(commands.sandbox_env(server))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return commands.manage(*args, env=env, timeout=timeout)


def spawn(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return commands.spawn(*args, env=env)


def kill9(proc: subprocess.Popen) -> tuple[str, str]:
    """SIGKILL (no cleanup, no rollback handler) and collect what it printed."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    return out, err


def migrate(db: ScratchDB) -> None:
    result = manage("migrate", "-v", "0", env=command_env(db))
    assert result.returncode == 0, result.stderr


def bootstrap(db: ScratchDB, server, realm: str, **extra: object) -> subprocess.CompletedProcess:
    code = server.state.issue_authorization_code(realm)
    result = manage(
        "bootstrap_tokens",
        "--code",
        code,
        "--realm-id",
        realm,
        "--redirect-uri",
        "http://localhost/cb",
        env=command_env(db, server, **extra),
    )
    assert result.returncode == 0, result.stderr
    return result


def sync_until_done(db: ScratchDB, server, **extra: object) -> subprocess.CompletedProcess:
    """One ``runsync --once`` that must sync every realm itself: a worker killed before
    it is proven dead (``sync.presence``) and taken over at once, never waited out."""
    result = manage("runsync", "--once", "--no-progress", env=command_env(db, server, **extra))
    assert result.returncode == 0, f"runsync failed: {result.stdout}\n{result.stderr}"
    assert "being synced by another worker" not in result.stdout, result.stdout
    return result


# --- truth --------------------------------------------------------------------------------------


@dataclass
class Comparison:
    records: int
    lost: list[str]
    extra: list[str]
    stale: list[str]
    duplicated: int
    deleted_not_flagged: list[str]

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.extra or self.stale or self.duplicated or self.deleted_not_flagged
        )

    def summary(self) -> str:
        return (
            f"lost={self.lost[:10]} extra={self.extra[:10]} stale={self.stale[:10]} "
            f"duplicated={self.duplicated} deleted_not_flagged={self.deleted_not_flagged[:10]}"
        )


def truth_of(server, realm: str, entity: str) -> dict[str, str]:
    return {k: v["SyncToken"] for k, v in server.state.truth(realm, entity)["records"].items()}


def compare_rows(
    rows: list[tuple[str, str, object]],
    dup_count: int,
    truth: dict[str, str],
    deleted: set[str],
) -> Comparison:
    """``rows`` are (qb_id, sync_token, deleted_at) of one realm and entity."""
    live = {qb_id: token for qb_id, token, deleted_at in rows if deleted_at is None}
    flagged = {qb_id for qb_id, _, deleted_at in rows if deleted_at is not None}
    seen = {qb_id for qb_id, _, _ in rows}
    return Comparison(
        records=len(truth),
        lost=sorted(set(truth) - set(live), key=_id_key),
        extra=sorted(set(live) - set(truth), key=_id_key),
        stale=sorted((i for i in truth if i in live and live[i] != truth[i]), key=_id_key),
        duplicated=dup_count,
        # A deleted record we had stored must be flagged deleted, never left live.
        deleted_not_flagged=sorted((deleted & seen) - flagged, key=_id_key),
    )


def compare_scratch(db: ScratchDB, server, realm: str, entity: str) -> Comparison:
    table = TABLES[entity]
    rows = db.query(
        f"SELECT qb_id, sync_token, deleted_at FROM {table} WHERE realm_id = %s", (realm,)
    )
    dups = db.query(
        f"SELECT realm_id, qb_id, COUNT(*) FROM {table} GROUP BY realm_id, qb_id "
        "HAVING COUNT(*) > 1"
    )
    return compare_rows(
        rows, len(dups), truth_of(server, realm, entity), server.state.deleted_ids(realm, entity)
    )


def compare_orm(server, realm: str, entity: str) -> Comparison:
    from django.db.models import Count

    from quickbooks_sync.registry import ENTITIES

    model = ENTITIES[entity].model
    rows = list(
        model.objects.filter(realm_id=realm).values_list("qb_id", "sync_token", "deleted_at")
    )
    dups = model.objects.values("realm_id", "qb_id").annotate(n=Count("id")).filter(n__gt=1).count()
    return compare_rows(
        rows, dups, truth_of(server, realm, entity), server.state.deleted_ids(realm, entity)
    )


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (1 << 62, value)
