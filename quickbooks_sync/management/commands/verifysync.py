"""Compare the local copy with QBO and exit non-zero on any difference."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from quickbooks_sync.management.money_output import money_verify
from quickbooks_sync.qbo.errors import QBOError
from quickbooks_sync.schema import MigratedCommand
from quickbooks_sync.sync.runner import build_client, realms_to_sync, resolve_entities
from quickbooks_sync.sync.verify import verify_entity

SHOW = 10  # Ids listed per difference; the count is always complete


class Command(MigratedCommand):
    help = (
        "Prove the local copy is whole: compare live local rows with QBO's COUNT(*) per "
        "realm and entity, or with --ids the full Id and SyncToken sets. Exits 1 on a "
        "mismatch (after a sync that ran while QBO changed, run runsync --once and retry)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--realm", action="append", help="only this realm (repeatable)")
        parser.add_argument("--entity", action="append", help="only this entity (repeatable)")
        parser.add_argument(
            "--ids", action="store_true", help="compare every Id and SyncToken, not only counts"
        )
        parser.add_argument(
            "--money",
            action="store_true",
            help="tie the local ledger out to QBO's reports (AR, AP, trial balance) to the cent",
        )
        parser.add_argument(
            "--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD", help="with --money"
        )

    def handle(self, *args, **options) -> None:
        if options["money"]:
            return money_verify(self, options)
        try:
            specs = resolve_entities(options["entity"])
            realms = realms_to_sync(options["realm"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not realms:
            raise CommandError("No realm to verify: run `manage.py bootstrap_tokens` first.")
        mismatches = 0
        for realm_id in realms:
            client = build_client(realm_id)
            for spec in specs:
                try:
                    check = verify_entity(client, spec, ids=options["ids"])
                except (QBOError, ImproperlyConfigured) as exc:
                    raise CommandError(f"realm {realm_id} {spec.name}: {exc}") from None
                verdict = "OK" if check.ok else "MISMATCH"
                mode = "ids" if check.compared_ids else "count"
                self.stdout.write(
                    f"{verdict:<8} realm {realm_id} {spec.name:<9} local {check.local_count} "
                    f"qbo {check.qbo_count} ({mode})"
                )
                for label, values in (
                    ("missing locally", check.missing_locally),
                    ("live locally but not in QBO", check.extra_locally),
                    ("different SyncToken", check.stale_locally),
                ):
                    if values:
                        more = f" (+{len(values) - SHOW} more)" if len(values) > SHOW else ""
                        self.stdout.write(
                            f"         {label}: {len(values)}: {', '.join(values[:SHOW])}{more}"
                        )
                mismatches += not check.ok
        if mismatches:
            raise CommandError(f"{mismatches} realm/entity pair(s) differ from QBO.")
