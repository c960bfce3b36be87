"""(Re)create or verify the views fivetran/dbt_quickbooks reads (PostgreSQL only)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from quickbooks_sync.analytics.columns import PACKAGE, PACKAGE_VERSION
from quickbooks_sync.analytics.service import (
    AnalyticsError,
    analytics_targets,
    analytics_views_apply,
    analytics_views_check,
    is_supported,
    plan_views,
)


class Command(BaseCommand):
    help = (
        f"Create or replace the views {PACKAGE} {PACKAGE_VERSION} reads (migrate does this "
        "too), or with --check verify them and exit 1 on a problem. PostgreSQL only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="change nothing; report problems, exit 1"
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options) -> None:
        using = options["database"]
        if not is_supported(using):
            raise CommandError(
                f"{PACKAGE} needs PostgreSQL: this database is not, so no analytics views are "
                "made. Set DATABASE_URL=postgres://... to use them."
            )
        plan = plan_views()
        off = not settings.QB_ANALYTICS_SCHEMA
        if off:
            self.stdout.write("QB_ANALYTICS_SCHEMA is empty: analytics views are switched off.")
        if options["check"]:
            if not off:
                self._check(using, plan)
            return
        try:
            report = analytics_views_apply(using=using)  # switched off: drops ours
        except (AnalyticsError, DatabaseError) as exc:
            raise CommandError(f"analytics views not made: {exc}") from None
        if not off:
            self._describe(report.targets, plan)
        for name in report.recreated:
            self.stdout.write(f"recreated {name} (its columns changed; rerun dbt)")
        for name in report.dropped:
            self.stdout.write(f"dropped {name} (no longer wanted)")

    def _check(self, using, plan) -> None:
        problems = analytics_views_check(using=using)
        self._describe(analytics_targets(using), plan)
        for problem in problems:
            self.stdout.write(f"PROBLEM {problem}")
        if problems:
            raise CommandError(f"{len(problems)} analytics view problem(s)")
        self.stdout.write("OK")

    def _describe(self, targets, plan) -> None:
        if not targets:
            self.stdout.write("No schema: QB_ANALYTICS_PER_REALM=true and no company connected.")
        for target in targets:
            shows = f"realm {target.realm}" if target.realm else "all companies"
            self.stdout.write(f"schema {target.schema} ({shows}): {len(plan.views)} views")
        for table, entities in plan.skipped:
            self.stdout.write(f"skipped {table}: {', '.join(entities)} not synced")
