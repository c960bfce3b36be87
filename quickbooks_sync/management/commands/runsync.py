"""Run the sync once (``--once``) or as a worker (``--loop``)."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from quickbooks_sync import selectors
from quickbooks_sync.schema import MigratedCommand
from quickbooks_sync.services import companies_reschedule
from quickbooks_sync.sync import gcpolicy
from quickbooks_sync.sync.progress import progress_reporter
from quickbooks_sync.sync.runner import CycleResult, EntityOutcome, run_cycle, run_worker
from quickbooks_sync.sync.scheduler import companies_ensure_from_tokens


class Command(MigratedCommand):
    help = "Sync QuickBooks Online into the local database (once, or every SYNC_INTERVAL_MINUTES)."

    def add_arguments(self, parser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--once", action="store_true", help="run one cycle and exit")
        mode.add_argument("--loop", action="store_true", help="run forever (SIGTERM stops it)")
        parser.add_argument(
            "--entity", action="append", help="only this entity (repeatable), e.g. Customer"
        )
        parser.add_argument("--realm", action="append", help="only this realm id (repeatable)")
        parser.add_argument(
            "--full", action="store_true", help="re-read everything from the start (re-backfill)"
        )
        parser.add_argument("--no-progress", action="store_true", help="never draw a progress bar")

    def handle(self, *args, **options) -> None:
        gcpolicy.tune()
        stop = threading.Event()
        previous = self._install_signal_handlers(stop)
        try:
            if options["once"]:
                result = self._cycle(options, stop)
                if not result.ok:
                    raise CommandError(self._failure_text(result))
                return
            self._loop(options, stop)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        except ValueError as exc:  # unknown entity name
            raise CommandError(str(exc)) from None
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    def _cycle(self, options, stop: threading.Event, full: bool | None = None) -> CycleResult:
        with progress_reporter(self.stdout, disable=options["no_progress"]) as progress:
            result = run_cycle(
                realm_ids=options["realm"],
                entities=options["entity"],
                full=options["full"] if full is None else full,
                progress=progress,
                should_stop=stop.is_set,
            )
        if not result.outcomes and not result.interrupted and not result.skipped:
            raise CommandError(
                "No realm to sync: run `manage.py bootstrap_tokens` first (or set QB_REALM_ID)."
            )
        self._report_outcomes(result.outcomes, wide=False)
        for realm_id in result.skipped:
            self.stdout.write(
                f"realm {realm_id}: being synced by another worker right now "
                f"({result.holders.get(realm_id, '?')}, alive); skipped"
            )
        if result.interrupted:
            self.stdout.write("Stopped on request; committed pages are kept, the next run resumes.")
        return result

    def _report_outcomes(self, outcomes: list[EntityOutcome], *, wide: bool = True) -> None:
        """One line per entity; a realm-wide failure once per realm (``wide=False``: not
        at all, the closing error of ``--once`` carries it)."""
        said: set[tuple[str, str]] = set()
        for outcome in outcomes:
            if not outcome.ok and outcome.realm_wide:
                if wide and (outcome.realm_id, outcome.error) not in said:
                    said.add((outcome.realm_id, outcome.error))
                    self.stderr.write(
                        f"realm {outcome.realm_id}: FAILED (every entity): {outcome.error}"
                    )
                continue
            if outcome.ok and outcome.note:
                self.stdout.write(f"realm {outcome.realm_id} {outcome.entity}: {outcome.note}")
            elif outcome.ok and outcome.result is not None:
                r = outcome.result
                self.stdout.write(
                    f"realm {outcome.realm_id} {outcome.entity} ({r.path}): {r.fetched} read, "
                    f"{r.written} written, {r.deleted} deleted, {r.skipped} skipped, "
                    f"{outcome.duration_s:.1f}s"
                )
            else:
                self.stderr.write(
                    f"realm {outcome.realm_id} {outcome.entity}: FAILED: {outcome.error}"
                )
        self.stdout.flush()

    def _loop(self, options, stop: threading.Event) -> None:
        self.stdout.write(
            f"Worker started; each realm syncs every {settings.SYNC_INTERVAL_MINUTES:g} min "
            "(sooner when a webhook marks it due)."
        )
        companies_ensure_from_tokens()
        companies_reschedule()  # due times written under an older interval move now
        for realm_id, due in selectors.company_schedule():
            self.stdout.write(f"realm {realm_id}: {selectors.describe_due(due)}")
        self.stdout.flush()

        def report(realm_id: str, outcomes: list[EntityOutcome]) -> None:
            self._report_outcomes(outcomes)
            for _, due in selectors.company_schedule(realm_ids=[realm_id]):
                self.stdout.write(f"realm {realm_id}: {selectors.describe_due(due)}")
            self.stdout.flush()

        with progress_reporter(self.stdout, disable=options["no_progress"]) as progress:
            run_worker(
                stop=stop,
                entities=options["entity"],
                full=options["full"],
                progress=progress,
                report=report,
            )
        self.stdout.write("Worker stopped.")

    @staticmethod
    def _failure_text(result: CycleResult) -> str:
        if result.interrupted:
            return "Interrupted before the cycle finished."
        lines = [f"{len(result.failures)} of {len(result.outcomes)} syncs failed:"]
        wide = {(o.realm_id, o.error) for o in result.failures if o.realm_wide}
        lines += [f"  realm {realm}, every entity: {error}" for realm, error in sorted(wide)]
        lines += [
            f"  realm {o.realm_id} {o.entity}: {o.error}"
            for o in result.failures
            if not o.realm_wide
        ]
        return "\n".join(lines)

    @staticmethod
    def _install_signal_handlers(stop: threading.Event) -> dict:
        """SIGTERM/SIGINT finish (or roll back) the page in hand, then stop."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum, frame):
            stop.set()

        return {
            signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)
        }
