"""HTTP endpoints of the app (the admin is in ``admin.py``)."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from quickbooks_sync import selectors
from quickbooks_sync.models import SyncState


@never_cache
def healthz(request):
    """For process managers and monitors; the verdict comes from ``selectors.overall_health``.

    HTTP 200 whenever the database answers, 503 only when it does not. Decision: a process
    manager restarts what answers non-200, and restarting the web process cures neither a
    failing sync (bad tokens, QBO down) nor a stale one (no worker running); so those are
    reported in the body (``status``: healthy / failing / stale, with counts) for a monitor
    to alert on, like ``manage.py syncstatus``'s exit code. The endpoint is public, so it
    names no realm and quotes no error: ``syncstatus`` and the admin give the details.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        rows = selectors.sync_status_rows()
    except Exception:
        return JsonResponse({"database": "unreachable", "status": "unreachable"}, status=503)
    health = selectors.overall_health(rows=rows)
    verdicts = selectors.money_verdicts()  # stored verdicts only: cheap, never calls QBO
    ages = [row.age_seconds for row in rows if row.age_seconds is not None]
    return JsonResponse(
        {
            "database": "ok",
            "status": health.status,
            "last_success_age_seconds": min(ages) if ages else None,
            "failing_syncs": sum(row.status == SyncState.Status.FAILURE for row in rows),
            "stale_syncs": sum(row.health == selectors.STALE for row in rows),
            "realms": len({row.realm_id for row in rows}),
            "money": {
                "checked_realms": len(verdicts),
                "mismatched_realms": sum(not v["ok"] for v in verdicts.values()),
            },
        }
    )
