"""Print where every realm and entity stands; the exit code is for monitoring.

Thin on purpose: ``selectors.sync_status_rows`` and ``overall_health`` decide, so this
command, ``/healthz`` and the admin always agree.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import CommandError

from quickbooks_sync import exitcodes, selectors
from quickbooks_sync.display import format_age
from quickbooks_sync.schema import MigratedCommand

COLUMNS = (
    "realm",
    "entity",
    "health",
    "status",
    "cursor",
    "last success",
    "age",
    "complete as of",
    "records",
    "last error",
)


class Command(MigratedCommand):
    help = (
        "Show the sync status per realm and entity: status, cursor, last success, age, live "
        "records, last error. Exit codes (for monitoring): 0 healthy; 1 failing (a sync "
        "failed, or a realm needs re-authorisation: run bootstrap_tokens); 2 stale (a last "
        "success older than --stale-after, never synced, or no realm connected); 3 database "
        "unreachable or not migrated; 4 configuration error (an invalid setting or "
        "argument). Failing wins over stale."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        """argparse exits 2 on a bad argument; here 2 means stale, so a usage error is 4."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        argparse_exit = parser.exit

        def exit_(status=0, message=None):
            argparse_exit(exitcodes.CONFIGURATION if status == 2 else status, message)

        parser.exit = exit_
        return parser

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--stale-after",
            type=float,
            metavar="MINUTES",
            help="a last success older than this is stale (default: 3 x SYNC_INTERVAL_MINUTES)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, **options) -> None:
        minutes = options["stale_after"]
        if minutes is not None and minutes <= 0:
            raise CommandError(
                "--stale-after must be a positive number of minutes",
                returncode=exitcodes.CONFIGURATION,
            )
        stale_after = (
            timedelta(minutes=minutes) if minutes is not None else selectors.default_stale_after()
        )
        rows = selectors.sync_status_rows(stale_after=stale_after)
        health = selectors.overall_health(rows=rows)
        if options["json"]:
            document = {
                "status": health.status,
                "exit_code": health.exit_code,
                "stale_after_seconds": stale_after.total_seconds(),
                "reasons": health.reasons,
                "rows": [row.as_json() for row in rows],
                "money": selectors.money_verdicts(),
            }
            self.stdout.write(json.dumps(document, indent=2))
        else:
            self._table(rows)
            for realm, verdict in selectors.money_verdicts().items():
                self.stdout.write(
                    f"Money realm {realm} as of {verdict['as_of']}: "
                    f"{'OK' if verdict['ok'] else 'MISMATCH'}, {verdict['summary']}"
                )
            self.stdout.write(f"\nOverall: {health.status.upper()}")
        if health.exit_code:
            raise CommandError("; ".join(health.reasons), returncode=health.exit_code)

    def _table(self, rows: list[selectors.SyncStatusRow]) -> None:
        if not rows:
            self.stdout.write("No realm connected: run `manage.py bootstrap_tokens` first.")
            return
        cells = [
            (
                row.realm_id,
                row.entity,
                row.health + (" (needs reauth)" if row.needs_reauth else ""),
                row.status,
                row.cursor or "-",
                f"{row.last_success:%Y-%m-%d %H:%M:%S}" if row.last_success else "-",
                format_age(row.age_seconds),
                f"{row.proven_complete_at:%Y-%m-%d %H:%M} ({row.proven_complete_by})"
                if row.proven_complete_at
                else "-",
                str(row.live_records),
                _one_line(row.last_error, 60) or "-",
            )
            for row in rows
        ]
        widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]
        for line in [COLUMNS, *cells]:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
            )


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
