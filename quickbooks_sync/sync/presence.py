"""Whether a lease holder is alive: proof from the database server or the OS, not a timer.

Decision: a lease alone cannot tell a dead worker from a slow one, so a SIGKILLed worker
(OOM killer, container restart, deploy) used to block its realms until the lease ran out,
and ``runsync --once`` from cron skipped them meanwhile. Each worker therefore holds, for
as long as it runs, something that dies with its process:

* PostgreSQL: a session advisory lock on a key derived from its worker id, held on a
  dedicated connection. The server drops it the moment that connection goes away, which
  the kernel makes happen when the process dies. A claimer that can take the lock (as a
  transaction-scoped try-lock) has proof the holder is gone.
* SQLite (one machine, as SQLite is): an exclusive ``flock`` on a file named after the
  worker, beside the database. The kernel drops it when the process dies. A claimer on
  the same host that can take it has the same proof; on another host it cannot tell.

Where the holder announced nothing (an older worker, a test's bare worker id) or the proof
is out of reach, the answer is "unknown" and the lease's expiry decides, as before. A
holder that is alive but hung keeps its lock: the lease expiry still hands its realms on.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

logger = logging.getLogger("quickbooks_sync.scheduler")

PG = "pg-advisory"
FLOCK = "flock"


def advisory_key(worker_id: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` (collisions: ~2**-64 per pair)."""
    digest = hashlib.blake2b(f"qbo-sync-worker:{worker_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_dir() -> Path:
    """Where SQLite workers keep their presence files: beside the database file (every
    process that shares the file sees them), or in the temp dir for in-memory databases."""
    name = str(connection.settings_dict.get("NAME") or "")
    if name and ":memory:" not in name and "mode=memory" not in name:
        return Path(name).resolve().parent / ".qbo-sync-workers"
    tag = hashlib.blake2b(name.encode(), digest_size=6).hexdigest()
    return Path(tempfile.gettempdir()) / f"qbo-sync-workers-{tag}"


def _safe_name(worker_id: str) -> str:
    return hashlib.blake2b(worker_id.encode(), digest_size=12).hexdigest() + ".lock"


class Presence:
    """This worker's proof of life, held from ``announce`` until ``close``."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.liveness = ""  # what claims record in Company.lease_liveness
        self._pg = None
        self._file = None
        self._path: Path | None = None

    def start(self) -> Presence:
        try:
            if connection.vendor == "postgresql":
                self._start_pg()
            elif connection.vendor == "sqlite":
                self._start_flock()
        except Exception as exc:  # liveness is an optimisation over leases, never a blocker
            logger.warning(
                "worker %s: no proof of life (%s); a crash of this worker will block its "
                "realms until SYNC_LEASE_SECONDS run out",
                self.worker_id,
                type(exc).__name__,
            )
            self.close()
        return self

    def _start_pg(self) -> None:
        conn = connection.get_new_connection(connection.get_connection_params())
        conn.autocommit = True
        self._pg = conn
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [advisory_key(self.worker_id)])
        self.liveness = PG

    def _start_flock(self) -> None:
        directory = lock_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = directory / _safe_name(self.worker_id)
        handle = open(path, "a+")  # noqa: SIM115 - held open for the worker's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.worker_id}\n")
        handle.flush()
        self._file, self._path = handle, path
        self.liveness = f"{FLOCK}:{socket.gethostname()}:{path}"

    def close(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.close()
            self._pg = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                if self._path is not None:
                    self._path.unlink()
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self.liveness = ""


@contextlib.contextmanager
def announced(worker_id: str) -> Iterator[Presence]:
    presence = Presence(worker_id).start()
    try:
        yield presence
    finally:
        presence.close()


def holder_alive(lease_owner: str, liveness: str) -> bool | None:
    """True: the holder is provably running; False: provably gone; None: cannot tell.

    On PostgreSQL this must run inside the caller's transaction: a successful try-lock is
    held (harmlessly: the holder is gone) until that transaction ends.
    """
    if not lease_owner or not liveness:
        return None
    if liveness == PG:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [advisory_key(lease_owner)])
            (acquired,) = cursor.fetchone()
        return not acquired
    if liveness.startswith(f"{FLOCK}:"):
        _, host, path = liveness.split(":", 2)
        if host != socket.gethostname():
            return None
        return _flock_held(Path(path))
    return None


def _flock_held(path: Path) -> bool | None:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False  # the holder closed cleanly (its file is gone) or never existed
    except OSError:
        return None  # cannot look: the lease expiry decides
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            path.unlink()  # a dead worker's leftover
        return False
    finally:
        os.close(fd)
