"""Mirror QBO's reports now (the worker does it every QB_REPORT_INTERVAL_HOURS)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from quickbooks_sync.money.snapshots import REPORT_NAMES, build_report_client, reports_sync
from quickbooks_sync.qbo.errors import QBOError
from quickbooks_sync.sync.runner import realms_to_sync


class Command(BaseCommand):
    help = (
        "Store QBO's reports as snapshots: ProfitAndLoss month by month for the last "
        "QB_REPORT_MONTHS months and the year to date, BalanceSheet and TrialBalance at each "
        "month end, and the agings as of today, for each basis in QB_REPORT_BASES."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--realm", action="append", help="only this realm (repeatable)")
        parser.add_argument(
            "--report", action="append", choices=REPORT_NAMES, help="only this report"
        )
        parser.add_argument(
            "--basis", action="append", choices=("Accrual", "Cash"), help="only this basis"
        )

    def handle(self, *args, **options) -> None:
        try:
            realms = realms_to_sync(options["realm"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not realms:
            raise CommandError("No realm to read: run `manage.py bootstrap_tokens` first.")
        for realm_id in realms:
            try:
                snaps = reports_sync(
                    client=build_report_client(realm_id),
                    names=options["report"],
                    bases=options["basis"] or list(settings.QB_REPORT_BASES),
                )
            except (QBOError, ImproperlyConfigured) as exc:
                raise CommandError(f"realm {realm_id}: {exc}") from None
            self.stdout.write(f"realm {realm_id}: {len(snaps)} report snapshots stored")
