"""Keep the analytics views in step with ``manage.py migrate`` (PostgreSQL only).

Decision: before a migrate that applies anything, our views are dropped (a migration may
alter a column they read, which PostgreSQL refuses while a view depends on it); after
every migrate they are made again. A failure to make them is logged loudly and does not
fail ``migrate``: the sync works without them, and ``manage.py analytics_views`` reports
the cause. A flush (tests) sends post_migrate with no plan and leaves the views alone.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, transaction

from .service import (
    AnalyticsError,
    Target,
    analytics_views_apply,
    analytics_views_drop,
    is_supported,
    schema_for_realm,
)

logger = logging.getLogger(__name__)


def drop_before_migrate(sender, *, using="default", plan=None, **kwargs) -> None:
    if plan and is_supported(using):
        analytics_views_drop(using=using)


def create_after_migrate(sender, *, using="default", plan=None, **kwargs) -> None:
    if plan is None or not is_supported(using):
        return  # an empty QB_ANALYTICS_SCHEMA goes on: no targets, so ours are dropped
    try:
        report = analytics_views_apply(using=using)
    except (AnalyticsError, DatabaseError) as exc:
        logger.error("analytics views not made: %s (see `manage.py analytics_views`)", exc)
        return
    if report.recreated:
        logger.warning(
            "analytics views whose columns changed were dropped with their dependants "
            "(rerun dbt): %s",
            ", ".join(report.recreated),
        )


def company_connected(sender, *, instance, created=False, using="default", **kwargs) -> None:
    """Per-company schemas: a newly connected company gets its schema after the commit."""
    if not (created and settings.QB_ANALYTICS_PER_REALM and settings.QB_ANALYTICS_SCHEMA):
        return
    if not is_supported(using):
        return
    target = Target(
        schema_for_realm(settings.QB_ANALYTICS_SCHEMA, instance.realm_id), instance.realm_id
    )

    def build() -> None:
        try:
            analytics_views_apply(using=using, targets=[target], keep_others=True)
        except (AnalyticsError, DatabaseError) as exc:
            logger.error("analytics views for realm %s not made: %s", instance.realm_id, exc)

    transaction.on_commit(build, using=using)
