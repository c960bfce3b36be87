"""HTTP endpoints of the app (the admin is in ``admin.py``)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from quickbooks_sync import selectors
from quickbooks_sync.models import SyncState

HEALTH_CACHE_KEY = "quickbooks_sync:healthz"
# The verdict reads every SyncState and counts synced rows: at most once per this many
# seconds per process, however often monitors (or anyone) poll.
HEALTH_CACHE_SECONDS = 15
DETAIL_PERMISSION = "quickbooks_sync.view_syncstate"


def _health_summary() -> dict:
    summary = cache.get(HEALTH_CACHE_KEY)
    if summary is None:
        rows = selectors.sync_status_rows()
        health = selectors.overall_health(rows=rows)
        ages = [row.age_seconds for row in rows if row.age_seconds is not None]
        summary = {
            "status": health.status,
            "last_success_age_seconds": min(ages) if ages else None,
            "failing_syncs": sum(row.status == SyncState.Status.FAILURE for row in rows),
            "stale_syncs": sum(row.health == selectors.STALE for row in rows),
            "realms": len({row.realm_id for row in rows}),
        }
        verdicts = selectors.money_verdicts()  # stored tie-out verdicts: never calls QBO
        summary["money"] = {
            "checked_realms": len(verdicts),
            "mismatched_realms": sum(not v["ok"] for v in verdicts.values()),
        }
        cache.set(HEALTH_CACHE_KEY, summary, HEALTH_CACHE_SECONDS)
    return summary


@never_cache
def healthz(request):
    """For process managers and monitors; the verdict comes from ``selectors.overall_health``.

    HTTP 200 whenever the database answers, 503 only when it does not. Decision: a process
    manager restarts what answers non-200, and restarting the web process cures neither a
    failing sync (bad tokens, QBO down) nor a stale one (no worker running); so those are
    reported in the body (``status``: healthy / failing / stale) for a monitor to alert
    on, like ``manage.py syncstatus``'s exit code. The endpoint is public, so an anonymous
    caller gets the status only; a user with ``view_syncstate`` also gets the counts and
    ages (never a realm name or an error text: ``syncstatus`` and the admin give those).
    Cheap by construction: one ``SELECT 1`` per call, the verdict cached for
    ``HEALTH_CACHE_SECONDS``.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        summary = _health_summary()
    except Exception:
        return JsonResponse({"database": "unreachable", "status": "unreachable"}, status=503)
    if not request.user.has_perm(DETAIL_PERMISSION):
        return JsonResponse({"status": summary["status"]})
    return JsonResponse({"database": "ok", **summary})
