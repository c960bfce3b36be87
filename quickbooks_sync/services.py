"""Writes the admin triggers (HackSoft: services write, selectors read).

Decision: "sync now" does not sync in the web request (a backfill can take minutes and a
worker may already hold the realm); it only makes the realm's Company due, and the next
free ``runsync --loop`` worker claims it within its poll interval.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from quickbooks_sync.models import Company, Token

logger = logging.getLogger("quickbooks_sync.admin")


@transaction.atomic
def company_mark_due(*, realm_id: str) -> Company:
    """Make ``realm_id`` due now (creating its Company row if it predates companies)."""
    company, created = Company.objects.select_for_update().get_or_create(realm_id=realm_id)
    company.next_sync_due_at = timezone.now()
    company.save(update_fields=["next_sync_due_at", "updated_at"])
    logger.info("realm %s marked due for sync%s", realm_id, " (company created)" if created else "")
    return company


@sensitive_variables("token")
def company_disconnect(*, realm_id: str) -> Company:
    """Revoke the realm's refresh token at Intuit, then forget the tokens and stop syncing.

    Intuit first: if it does not confirm (``QBOError``), nothing changes here, so we never
    believe a company is disconnected while the app is still authorised for it. Synced
    rows stay for reference.
    """
    from quickbooks_sync.tokens import oauth_client_from_settings

    company = Company.objects.get(realm_id=realm_id)
    token = Token.objects.filter(realm_id=realm_id).first()
    if token is not None:
        oauth_client_from_settings().revoke(
            token.refresh_token, revoke_url=settings.QB_OAUTH_REVOKE_URL
        )
    with transaction.atomic():
        Token.objects.filter(realm_id=realm_id).delete()
        Company.objects.filter(pk=company.pk).update(
            status=Company.Status.DISCONNECTED,
            next_sync_due_at=None,
            lease_owner="",
            lease_expires_at=None,
        )
    logger.info("realm %s disconnected (tokens revoked at Intuit)", realm_id)
    company.refresh_from_db()
    return company


def companies_reschedule(*, now=None) -> int:
    """Move every scheduled (future) due time to last finish + the *current* interval.

    Why: a due time is written when a sync ends, with the interval of that moment. After
    ``runsync --once`` or a change of ``SYNC_INTERVAL_MINUTES``, a starting worker would
    otherwise wait out the old time. Due times already past (webhooks, "sync now") and
    realms in failure back-off keep theirs.
    """
    now = now or timezone.now()
    interval = timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)
    moved = 0
    scheduled = Company.objects.filter(
        status=Company.Status.CONNECTED,
        consecutive_failures=0,
        next_sync_due_at__gt=now,
        last_sync_finished_at__isnull=False,
    )
    for company in scheduled:
        due = max(company.last_sync_finished_at + interval, now)
        if due != company.next_sync_due_at:
            moved += Company.objects.filter(
                pk=company.pk, next_sync_due_at=company.next_sync_due_at
            ).update(next_sync_due_at=due)
    return moved
