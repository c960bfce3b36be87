"""Who syncs which realm when: due times, leases and back-off, coordinated in the database.

Decision: workers are stateless; the ``Company`` table is the queue. A worker claims the
realm that has been due the longest with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL;
on SQLite the IMMEDIATE transaction serialises claims, and a single worker is the
supported setup), writes a lease with an expiry, renews it from a heartbeat thread while
it works, and releases it with the next due time. A worker that dies is noticed at once:
it held a proof of life that dies with its process (``sync.presence``: an advisory lock on
PostgreSQL, a file lock on SQLite), so a claimer takes its realms over without waiting;
one that hangs stops renewing and its lease runs out. A realm that keeps
failing backs off exponentially (capped), so it never starves the others; realms are
served in order of due time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from quickbooks_sync.models import Company, Token
from quickbooks_sync.sync.presence import Presence, holder_alive

logger = logging.getLogger("quickbooks_sync.scheduler")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def companies_ensure_from_tokens() -> None:
    """Every realm with stored tokens has a Company row (installs that predate Company)."""
    known = set(Company.objects.values_list("realm_id", flat=True))
    missing = [r for r in Token.objects.values_list("realm_id", flat=True) if r not in known]
    for realm_id in missing:
        Company.objects.get_or_create(
            realm_id=realm_id,
            defaults={"environment": settings.QB_ENVIRONMENT, "next_sync_due_at": timezone.now()},
        )


TAKEOVER_SCAN = 50  # leased candidates checked for a dead holder per claim


def _lease_free(now: datetime) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)


def _claimable(now: datetime):
    """Free or expired leases, and live leases whose holder may be provably dead."""
    return Company.objects.filter(status=Company.Status.CONNECTED).filter(
        _lease_free(now) | ~Q(lease_liveness="")
    )


def _lock(queryset):
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def company_claim(
    *,
    worker_id: str,
    realm_id: str | None = None,
    due_only: bool = True,
    presence: Presence | None = None,
) -> Company | None:
    """Lease one realm: the given one (if free), else the one due the longest.

    A realm leased by a worker that is provably dead counts as free (``sync.presence``).
    ``presence`` is this worker's own proof of life, recorded with the lease so that the
    next claimer can tell whether we died.
    """
    now = timezone.now()
    with transaction.atomic():
        candidates = _claimable(now)
        if realm_id is not None:
            candidates = candidates.filter(realm_id=realm_id)
        if due_only:
            candidates = candidates.filter(next_sync_due_at__lte=now)
        company, taken_from = None, ""
        for candidate in _lock(candidates.order_by("next_sync_due_at", "id"))[:TAKEOVER_SCAN]:
            expired = candidate.lease_expires_at is None or candidate.lease_expires_at < now
            if expired:
                company = candidate
                break
            if holder_alive(candidate.lease_owner, candidate.lease_liveness) is False:
                company, taken_from = candidate, candidate.lease_owner
                break
        if company is None:
            return None
        company.lease_owner = worker_id
        company.lease_liveness = presence.liveness if presence is not None else ""
        company.lease_expires_at = now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
        company.last_sync_started_at = now
        company.save(
            update_fields=[
                "lease_owner",
                "lease_liveness",
                "lease_expires_at",
                "last_sync_started_at",
                "updated_at",
            ]
        )
    if taken_from:
        logger.warning(
            "worker %s took realm %s over from %s, which is no longer running",
            worker_id,
            company.realm_id,
            taken_from,
            extra={"realm_id": company.realm_id, "event": "takeover"},
        )
    logger.info(
        "worker %s claimed realm %s",
        worker_id,
        company.realm_id,
        extra={"realm_id": company.realm_id, "event": "claim"},
    )
    return company


def lease_holder(realm_id: str) -> tuple[str, bool | None] | None:
    """Who holds a live lease on ``realm_id`` and whether it is provably running.

    None when the realm is free (or unknown). Read in its own transaction, so that the
    PostgreSQL try-lock of the check is released at once.
    """
    now = timezone.now()
    with transaction.atomic():
        company = Company.objects.filter(realm_id=realm_id).first()
        if company is None or not company.lease_owner:
            return None
        if company.lease_expires_at is None or company.lease_expires_at < now:
            return None
        return company.lease_owner, holder_alive(company.lease_owner, company.lease_liveness)


def company_renew(*, company_id: int, worker_id: str) -> bool:
    """Extend our lease; False if it is no longer ours (expired and taken over)."""
    until = timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    return bool(
        Company.objects.filter(pk=company_id, lease_owner=worker_id).update(lease_expires_at=until)
    )


def company_release(*, company_id: int, worker_id: str, ok: bool, error: str = "") -> None:
    """Give the realm back with its next due time (back-off after failures)."""
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return
    now = timezone.now()
    interval = timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)
    failures = 0 if ok else company.consecutive_failures + 1
    delay = interval
    if failures:
        cap = timedelta(minutes=settings.SYNC_MAX_BACKOFF_MINUTES)
        delay = min(interval * (2 ** min(failures - 1, 16)), max(cap, interval))
    fields = {
        "lease_owner": "",
        "lease_liveness": "",
        "lease_expires_at": None,
        "last_sync_finished_at": now,
        "consecutive_failures": failures,
        "last_error": "" if ok else error[:4000],
        "updated_at": now,
    }
    # A webhook may have marked the realm due while we worked: keep that earlier due time.
    released = Company.objects.filter(pk=company_id, lease_owner=worker_id).update(**fields)
    if released:
        logger.info(
            "worker %s released realm %s (%s)",
            worker_id,
            company.realm_id,
            "ok" if ok else "failed",
            extra={"realm_id": company.realm_id, "event": "release"},
        )
    # A due time set while we worked (a webhook, "sync now") lies between our start and
    # now: keep it, the realm is due again at once. Anything else is replaced.
    marked_during_sync = Q(
        next_sync_due_at__gte=company.last_sync_started_at or now, next_sync_due_at__lte=now
    )
    Company.objects.filter(pk=company_id).exclude(marked_during_sync).update(
        next_sync_due_at=now + delay
    )


def companies_mark_due(*, realm_ids: list[str], when: datetime | None = None) -> int:
    """Make connected realms due now (webhooks, "sync now"); idempotent."""
    return Company.objects.filter(realm_id__in=realm_ids, status=Company.Status.CONNECTED).update(
        next_sync_due_at=when or timezone.now()
    )


@contextmanager
def leased(company: Company, *, worker_id: str, lost: threading.Event) -> Iterator[None]:
    """Renew the lease every third of its life until the block ends; set ``lost`` if
    another worker took the realm over (then the sync stops at the next page)."""
    done = threading.Event()
    every = max(settings.SYNC_LEASE_SECONDS / 3, 0.05)

    def heartbeat() -> None:
        try:
            while not done.wait(every):
                if not company_renew(company_id=company.pk, worker_id=worker_id):
                    logger.warning(
                        "worker %s lost its lease on realm %s", worker_id, company.realm_id
                    )
                    lost.set()
                    return
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=heartbeat, name=f"lease-{company.realm_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)
