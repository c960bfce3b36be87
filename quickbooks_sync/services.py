"""Writes the admin triggers (HackSoft: services write, selectors read).

Decision: "sync now" does not sync in the web request (a backfill can take minutes and a
worker may already hold the realm); it only makes the realm's Company due, and the next
free ``runsync --loop`` worker claims it within its poll interval.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from quickbooks_sync.models import Company

logger = logging.getLogger("quickbooks_sync.admin")


@transaction.atomic
def company_mark_due(*, realm_id: str) -> Company:
    """Make ``realm_id`` due now (creating its Company row if it predates companies)."""
    company, created = Company.objects.select_for_update().get_or_create(realm_id=realm_id)
    company.next_sync_due_at = timezone.now()
    company.save(update_fields=["next_sync_due_at", "updated_at"])
    logger.info("realm %s marked due for sync%s", realm_id, " (company created)" if created else "")
    return company
