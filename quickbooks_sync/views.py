"""HTTP endpoints of the app (the admin is in ``admin.py``)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from quickbooks_sync.models import SyncState


@never_cache
def healthz(request):
    """For process managers: 200 when the database answers, with the last success age."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        last = SyncState.objects.aggregate(last=Max("last_sync_success"))["last"]
    except Exception:
        return JsonResponse({"database": "unreachable"}, status=503)
    age = (timezone.now() - last).total_seconds() if last else None
    failing = SyncState.objects.filter(status=SyncState.Status.FAILURE).count()
    return JsonResponse(
        {"database": "ok", "last_success_age_seconds": age, "failing_syncs": failing}
    )
