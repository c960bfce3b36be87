"""One sync cycle over realms and entities: the service behind ``runsync``.

Decision: a failure is contained to what it concerns. A realm that needs
re-authorisation fails all its entities with that one message and the others go on; an
entity that fails (after the client's bounded retries) is recorded in ``SyncState`` with
its message and the cursor stays where its last committed page left it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from quickbooks_sync.models import Company, SyncState, Token
from quickbooks_sync.money.snapshots import reports_sync_if_due
from quickbooks_sync.qbo.client import QBOClient, RetryPolicy
from quickbooks_sync.qbo.errors import ConfigurationError, QBOError, ReauthorizationRequired
from quickbooks_sync.qbo.ratelimit import limiter_for
from quickbooks_sync.registry import COMPANY, ENTITIES, EntitySpec, selected_entities
from quickbooks_sync.sync.cdc import run_cdc
from quickbooks_sync.sync.company import refresh_fact
from quickbooks_sync.sync.engine import (
    CursorError,
    EntitySync,
    EntitySyncResult,
    PagingError,
    ProgressCallback,
    SyncInterrupted,
    read_cursor,
)
from quickbooks_sync.sync.fanout import Db, direct, entity_concurrency, read_concurrently
from quickbooks_sync.sync.presence import Presence, announced
from quickbooks_sync.sync.scheduler import (
    companies_ensure_from_tokens,
    companies_mark_due,
    company_claim,
    company_release,
    lease_holder,
    leased,
    new_worker_id,
)
from quickbooks_sync.tokens import DatabaseTokenProvider

logger = logging.getLogger("quickbooks_sync.sync")


@dataclass
class EntityOutcome:
    realm_id: str
    entity: str
    ok: bool
    result: EntitySyncResult | None = None
    error: str = ""
    duration_s: float = 0.0
    realm_wide: bool = False  # the failure concerns the realm (tokens, credentials)
    needs_reauth: bool = False  # a human must reconnect the company
    note: str = ""  # e.g. a no-CDC entity skipped this cycle: "up to date (reconciled at …)"


@dataclass
class CycleResult:
    outcomes: list[EntityOutcome] = field(default_factory=list)
    interrupted: bool = False
    skipped: list[str] = field(default_factory=list)  # realms a live worker syncs now
    holders: dict[str, str] = field(default_factory=dict)  # skipped realm -> its worker

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(o.ok for o in self.outcomes)

    @property
    def failures(self) -> list[EntityOutcome]:
        return [o for o in self.outcomes if not o.ok]


def build_client(realm_id: str) -> QBOClient:
    return QBOClient(
        realm_id,
        base_url=settings.QB_API_BASE_URL,
        tokens=DatabaseTokenProvider(realm_id),
        minor_version=settings.QB_MINOR_VERSION,
        timeout=(settings.QB_CONNECT_TIMEOUT, settings.QB_READ_TIMEOUT),
        retry=RetryPolicy(
            max_retries=settings.QB_MAX_RETRIES,
            backoff_seconds=settings.QB_RETRY_BACKOFF_SECONDS,
            throttle_seconds=settings.QB_THROTTLE_BACKOFF_SECONDS,
        ),
        limiter=limiter_for(
            realm_id,
            per_minute=settings.QB_REQUESTS_PER_MINUTE,
            max_in_flight=settings.QB_MAX_IN_FLIGHT,
        ),
    )


def realms_to_sync(realm_ids: Iterable[str] | None = None) -> list[str]:
    """The realms named, else every connected company (or realm with tokens), else
    ``QB_REALM_ID``."""
    if realm_ids:
        return [str(r) for r in realm_ids]
    realms = sorted(
        set(Token.objects.values_list("realm_id", flat=True))
        | set(
            Company.objects.exclude(status=Company.Status.DISCONNECTED).values_list(
                "realm_id", flat=True
            )
        )
    )
    if not realms and settings.QB_REALM_ID:
        realms = [settings.QB_REALM_ID]
    return realms


def resolve_entities(names: Iterable[str] | None) -> list[EntitySpec]:
    """The entities named (``--entity``), else those ``QB_ENTITIES`` selects."""
    if not names:
        return selected_entities()
    wanted = {n.lower() for n in names}
    unknown = wanted - {n.lower() for n in ENTITIES}
    if unknown:
        raise ValueError(
            f"unknown entity {', '.join(sorted(unknown))}; known: {', '.join(ENTITIES)}"
        )
    return [spec for name, spec in ENTITIES.items() if name.lower() in wanted]


def _state_for(realm_id: str, spec: EntitySpec) -> SyncState:
    state, _ = SyncState.objects.get_or_create(realm_id=realm_id, object_type=spec.name)
    return state


def _mark_started(states: list[SyncState]) -> None:
    SyncState.objects.filter(pk__in=[s.pk for s in states]).update(
        status=SyncState.Status.IN_PROGRESS, last_sync_attempt=timezone.now()
    )


def _mark_succeeded(state: SyncState, result: EntitySyncResult) -> None:
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.SUCCESS,
        last_sync_success=timezone.now(),
        error_message="",
        records_synced=result.written,
    )


def _failed(state: SyncState, exc: Exception, started: float, *, log: bool = True) -> EntityOutcome:
    _record_failure(state, str(exc), log=log)
    return EntityOutcome(
        state.realm_id,
        state.object_type,
        False,
        error=str(exc),
        duration_s=time.monotonic() - started,
        # A setting of ours (credentials, the token key) fails every entity of the realm.
        realm_wide=isinstance(
            exc, ReauthorizationRequired | ConfigurationError | ImproperlyConfigured
        ),
        needs_reauth=isinstance(exc, ReauthorizationRequired),
    )


def sync_entity(
    client: QBOClient,
    spec: EntitySpec,
    *,
    full: bool = False,
    reconcile: bool = False,
    reason: str = "",
    state: SyncState | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    db: Db = direct,
) -> EntityOutcome:
    """Read one entity with the query path (incremental, or a full read that reconciles).

    Every database call goes through ``db`` (``sync.fanout``)."""
    state = state or db(_state_for, client.realm_id, spec)
    started = time.monotonic()
    db(_mark_started, [state])
    if reconcile and reason:
        logger.info(
            "realm %s: %s needs a full read and delete reconcile: %s",
            client.realm_id,
            spec.name,
            reason,
        )
    try:
        result = EntitySync(
            client,
            spec,
            state,
            page_size=settings.QB_MAX_RESULTS,
            settle_seconds=settings.QB_SETTLE_SECONDS,
            full=full,
            reconcile=reconcile,
            concurrency=settings.QB_FETCH_CONCURRENCY,
            progress=progress,
            should_stop=should_stop,
            db=db,
        ).run()
    except SyncInterrupted:
        db(SyncState.objects.filter(pk=state.pk).update, status=SyncState.Status.PENDING)
        raise
    except (QBOError, CursorError, PagingError, ImproperlyConfigured) as exc:
        # ImproperlyConfigured: e.g. the token key is missing or changed; its message names
        # the setting and the fix, so it is the reason recorded, not "see the log".
        return db(_failed, state, exc, started)
    except Exception as exc:
        # Unexpected: record it (type only, a message could quote data) and let it surface.
        db(_record_failure, state, f"internal error: {type(exc).__name__}; see the worker log")
        raise
    db(_mark_succeeded, state, result)
    return EntityOutcome(
        client.realm_id, spec.name, True, result=result, duration_s=time.monotonic() - started
    )


def sync_realm(
    client: QBOClient,
    specs: list[EntitySpec],
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[EntityOutcome]:
    """One realm: CDC for entities with a cursor; company facts read whole when due
    (``QB_COMPANY_FACTS_MINUTES``, so an idle cycle stays one request); a reconciling full
    read for the rest, and for entities CDC refuses once their schedule is due. A
    realm-wide failure (tokens, settings) stops the realm's cycle at once."""
    realm_id = client.realm_id
    states = {spec.name: _state_for(realm_id, spec) for spec in specs}
    outcomes: dict[str, EntityOutcome] = {}
    needs_full: dict[str, str] = {}
    incremental: list[EntitySpec] = []
    scheduled: list[EntitySpec] = []
    qbo_now = None
    facts = [s for s in specs if s.kind == COMPANY]
    for spec in specs:
        state = states[spec.name]
        if spec.kind == COMPANY:
            continue
        if full:
            needs_full[spec.name] = "--full requested"
        elif not state.cursor:
            needs_full[spec.name] = "first sync"
        elif not spec.cdc:
            scheduled.append(spec)
        else:
            try:
                read_cursor(state)
            except CursorError as exc:
                outcomes[spec.name] = _failed(state, exc, time.monotonic())
                continue
            incremental.append(spec)

    if incremental and not (should_stop and should_stop()):
        started = time.monotonic()
        _mark_started([states[s.name] for s in incremental])
        try:
            cycle = run_cdc(client, incremental, states, settle_seconds=settings.QB_SETTLE_SECONDS)
        except (QBOError, ImproperlyConfigured) as exc:
            # One CDC request failed for all of them: say it once, record it for each.
            for index, spec in enumerate(incremental):
                outcomes[spec.name] = _failed(states[spec.name], exc, started, log=index == 0)
        else:
            for name, result in cycle.done.items():
                _mark_succeeded(states[name], result)
                outcomes[name] = EntityOutcome(
                    realm_id, name, True, result=result, duration_s=time.monotonic() - started
                )
            needs_full.update(cycle.fallback)
            qbo_now = cycle.server_time

    if _realm_failed(outcomes):
        return [outcomes[s.name] for s in specs if s.name in outcomes]
    due = [s for s in facts if full or _fact_due(states[s.name])]
    qbo_now = _refresh_company_facts(client, due, states, outcomes) or qbo_now
    for spec in facts:
        if spec not in due:
            outcomes[spec.name] = _fact_up_to_date(realm_id, spec, states[spec.name])
    if _realm_failed(outcomes):
        return [outcomes[s.name] for s in specs if s.name in outcomes]
    if scheduled and qbo_now is None:
        qbo_now = _qbo_clock(client, scheduled[0])
    _schedule_no_cdc(realm_id, scheduled, states, qbo_now, needs_full, outcomes)

    def read(spec: EntitySpec, db: Db) -> EntityOutcome:
        return sync_entity(
            client,
            spec,
            full=True,
            reconcile=True,
            reason=needs_full[spec.name],
            state=states[spec.name],
            progress=progress,
            should_stop=should_stop,
            db=db,
        )

    pending = [] if any(o.realm_wide for o in outcomes.values()) else specs
    for outcome in read_concurrently(
        [spec for spec in pending if spec.name in needs_full],
        read,
        concurrency=entity_concurrency(settings.QB_ENTITY_CONCURRENCY),
        stop_after=lambda outcome: outcome.realm_wide,
    ):
        outcomes[outcome.entity] = outcome
    return [outcomes[s.name] for s in specs if s.name in outcomes]


def _realm_failed(outcomes: dict[str, EntityOutcome]) -> bool:
    return any(o.realm_wide for o in outcomes.values())


def _fact_due(state: SyncState) -> bool:
    """Company facts change rarely: re-read every ``QB_COMPANY_FACTS_MINUTES``."""
    last = state.last_sync_success
    every = timedelta(minutes=settings.QB_COMPANY_FACTS_MINUTES)
    return last is None or timezone.now() - last >= every


def _fact_up_to_date(realm_id: str, spec: EntitySpec, state: SyncState) -> EntityOutcome:
    every = timedelta(minutes=settings.QB_COMPANY_FACTS_MINUTES)
    last = state.last_sync_success
    return EntityOutcome(
        realm_id,
        spec.name,
        True,
        result=EntitySyncResult(entity=spec.name, path="scheduled"),
        note=f"up to date (read at {last.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z; "
        f"next after {(last + every).astimezone(UTC):%Y-%m-%d %H:%M:%S}Z)",
    )


def _refresh_company_facts(
    client: QBOClient,
    specs: list[EntitySpec],
    states: dict[str, SyncState],
    outcomes: dict[str, EntityOutcome],
) -> datetime | None:
    """One read per company fact (``sync.company``); returns QBO's clock if one answered."""
    qbo_now = None
    for spec in specs:
        started = time.monotonic()
        state = states[spec.name]
        _mark_started([state])
        try:
            result, server_time = refresh_fact(client, spec, state, now=qbo_now)
        except (QBOError, ImproperlyConfigured) as exc:
            outcomes[spec.name] = _failed(state, exc, started)
            if outcomes[spec.name].realm_wide:
                break
            continue
        qbo_now = qbo_now or server_time
        _mark_succeeded(state, result)
        outcomes[spec.name] = EntityOutcome(
            client.realm_id, spec.name, True, result=result, duration_s=time.monotonic() - started
        )
    return qbo_now


def _qbo_clock(client: QBOClient, spec: EntitySpec) -> datetime | None:
    """QBO's clock when nothing else asked it this cycle (only no-CDC entities selected):
    one ``COUNT(*)``. Schedules are judged by QBO's time, as ``deletes_verified_at`` is."""
    try:
        return client.count(spec.name).server_time
    except QBOError as exc:
        logger.warning("realm %s: could not read QBO's clock: %s", client.realm_id, exc)
        return None


def _schedule_no_cdc(
    realm_id: str,
    specs: list[EntitySpec],
    states: dict[str, SyncState],
    qbo_now: datetime | None,
    needs_full: dict[str, str],
    outcomes: dict[str, EntityOutcome],
) -> None:
    """Entities CDC refuses: reconcile those last proven complete more than
    ``QB_RECONCILE_NO_CDC_HOURS`` ago by QBO's clock (this cycle's answers; ours if none
    answered); the others are up to date this cycle and say since when."""
    now = qbo_now or datetime.now(UTC)
    every = timedelta(hours=settings.QB_RECONCILE_NO_CDC_HOURS)
    for spec in specs:
        state = states[spec.name]
        verified = state.deletes_verified_at
        if verified is None or now - verified >= every:
            since = f"last proven complete {verified:%Y-%m-%d %H:%M:%S}Z" if verified else "never"
            needs_full[spec.name] = (
                f"not served by CDC; reconciled every {settings.QB_RECONCILE_NO_CDC_HOURS} h "
                f"({since})"
            )
            continue
        result = EntitySyncResult(entity=spec.name, path="scheduled")
        _mark_succeeded(state, result)
        outcomes[spec.name] = EntityOutcome(
            realm_id,
            spec.name,
            True,
            result=result,
            note=f"up to date (reconciled at {verified.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z; "
            f"next after {(verified + every).astimezone(UTC):%Y-%m-%d %H:%M:%S}Z)",
        )


def _record_failure(state: SyncState, message: str, *, log: bool = True) -> None:
    if log:
        logger.error("realm %s: %s sync failed: %s", state.realm_id, state.object_type, message)
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.FAILURE, error_message=message[:4000]
    )


def _sync_one_realm(
    realm_id: str,
    specs: list[EntitySpec],
    *,
    full: bool,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool],
) -> list[EntityOutcome]:
    """All entities of one realm; a realm-wide failure (tokens) fails every entity."""
    outcomes = sync_realm(
        build_client(realm_id), specs, full=full, progress=progress, should_stop=should_stop
    )
    failed_wide = next((o for o in outcomes if o.realm_wide), None)
    if failed_wide is not None:
        if failed_wide.needs_reauth:
            Company.objects.filter(realm_id=realm_id).update(
                status=Company.Status.NEEDS_REAUTH, last_error=failed_wide.error[:4000]
            )
        for spec in specs:
            if not any(o.entity == spec.name for o in outcomes):
                _record_failure(_state_for(realm_id, spec), failed_wide.error, log=False)
                outcomes.append(
                    EntityOutcome(
                        realm_id, spec.name, False, error=failed_wide.error, realm_wide=True
                    )
                )
    return outcomes


def sync_claimed_realm(
    company: Company,
    *,
    worker_id: str,
    specs: list[EntitySpec],
    full: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[EntityOutcome]:
    """Sync a realm this worker holds the lease on, renewing it; release it afterwards."""
    lost = threading.Event()

    def stop() -> bool:
        return lost.is_set() or bool(should_stop and should_stop())

    outcomes: list[EntityOutcome] = []
    interrupted = False
    crashed = ""  # an unexpected exception is a failure too, never a release "ok"
    try:
        with leased(company, worker_id=worker_id, lost=lost):
            outcomes = _sync_one_realm(
                company.realm_id, specs, full=full, progress=progress, should_stop=stop
            )
    except SyncInterrupted:
        interrupted = True
        raise
    except Exception as exc:
        crashed = f"internal error: {type(exc).__name__}"
        raise
    finally:
        failures = [o for o in outcomes if not o.ok]
        company_release(
            company_id=company.pk,
            worker_id=worker_id,
            ok=not failures and not interrupted and not crashed,
            error="; ".join(f"{o.entity}: {o.error}" for o in failures)
            or crashed
            or ("interrupted" if interrupted else ""),
        )
        if interrupted and not lost.is_set():
            companies_mark_due(realm_ids=[company.realm_id])  # resume soon, elsewhere
    return outcomes


def run_cycle(
    *,
    realm_ids: Iterable[str] | None = None,
    entities: Iterable[str] | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    worker_id: str | None = None,
) -> CycleResult:
    """Sync every requested realm once (``runsync --once``), each under a lease.

    A realm leased by a worker that is provably running right now is skipped and counts
    as success; one leased by a worker that is provably dead is taken over at once; one
    leased by a worker we cannot prove alive is a failure (nothing was synced, and nobody
    can vouch that anything is being synced). A realm that needs re-authorisation or was
    disconnected is a failure.
    """
    specs = resolve_entities(entities)
    worker_id = worker_id or new_worker_id()
    cycle = CycleResult()
    companies_ensure_from_tokens()
    stop = should_stop or (lambda: False)
    with announced(worker_id) as presence:
        for realm_id in realms_to_sync(realm_ids):
            if stop():
                cycle.interrupted = True
                break
            try:
                _cycle_realm(cycle, realm_id, specs, worker_id, presence, full, progress, stop)
            except SyncInterrupted:
                cycle.interrupted = True
                break
    return cycle


def _cycle_realm(
    cycle: CycleResult,
    realm_id: str,
    specs: list[EntitySpec],
    worker_id: str,
    presence: Presence,
    full: bool,
    progress: ProgressCallback | None,
    stop: Callable[[], bool],
) -> None:
    company = Company.objects.filter(realm_id=realm_id).first()
    if company is None:  # e.g. QB_REALM_ID without tokens: fails with the reason
        cycle.outcomes.extend(
            _sync_one_realm(realm_id, specs, full=full, progress=progress, should_stop=stop)
        )
        return
    if company.status == Company.Status.DISCONNECTED:
        cycle.outcomes.append(
            EntityOutcome(
                realm_id, "*", False, error="disconnected; connect it again", realm_wide=True
            )
        )
        return
    if company.status == Company.Status.NEEDS_REAUTH:
        # Try anyway: tokens may have been replaced by bootstrap_tokens since.
        Company.objects.filter(pk=company.pk).update(status=Company.Status.CONNECTED)
    claimed = None
    for _ in range(3):  # a lease released between our claim and our look is claimed again
        claimed = company_claim(
            worker_id=worker_id, realm_id=realm_id, due_only=False, presence=presence
        )
        if claimed is not None:
            break
        holder = lease_holder(realm_id)
        if holder is None:
            continue
        owner, alive = holder
        if alive:
            logger.info("realm %s is being synced by live worker %s; skipped", realm_id, owner)
            cycle.skipped.append(realm_id)
            cycle.holders[realm_id] = owner
            return
        cycle.outcomes.append(
            EntityOutcome(
                realm_id,
                "*",
                False,
                error=(
                    f"leased by worker {owner}, which cannot be proven alive from here "
                    "(another host, or a worker without a proof of life); nothing synced. "
                    "Its lease runs out after SYNC_LEASE_SECONDS: run again then."
                ),
            )
        )
        return
    if claimed is None:
        cycle.outcomes.append(
            EntityOutcome(realm_id, "*", False, error="could not claim the realm; run again")
        )
        return
    cycle.outcomes.extend(
        sync_claimed_realm(
            claimed,
            worker_id=worker_id,
            specs=specs,
            full=full,
            progress=progress,
            should_stop=stop,
        )
    )


def run_worker(
    *,
    stop: threading.Event,
    entities: Iterable[str] | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
    report: Callable[[str, list[EntityOutcome]], None] | None = None,
    worker_id: str | None = None,
) -> None:
    """``runsync --loop``: claim due realms one at a time until ``stop`` is set."""
    specs = resolve_entities(entities)
    worker_id = worker_id or new_worker_id()
    fully_read: set[str] = set()
    logger.info("worker %s started", worker_id)
    with announced(worker_id) as presence:
        _work(stop, specs, worker_id, presence, full, fully_read, progress, report)
    logger.info("worker %s stopped", worker_id)


def _work(
    stop: threading.Event,
    specs: list[EntitySpec],
    worker_id: str,
    presence: Presence,
    full: bool,
    fully_read: set[str],
    progress: ProgressCallback | None,
    report: Callable[[str, list[EntityOutcome]], None] | None,
) -> None:
    while not stop.is_set():
        companies_ensure_from_tokens()
        company = company_claim(worker_id=worker_id, presence=presence)
        if company is None:
            stop.wait(settings.SYNC_POLL_SECONDS)
            continue
        wants_full = full and company.realm_id not in fully_read
        try:
            outcomes = sync_claimed_realm(
                company,
                worker_id=worker_id,
                specs=specs,
                full=wants_full,
                progress=progress,
                should_stop=stop.is_set,
            )
        except SyncInterrupted:
            break
        fully_read.add(company.realm_id)
        reports_sync_if_due(realm_id=company.realm_id, should_stop=stop.is_set)  # money
        if report is not None:
            report(company.realm_id, outcomes)


def company_refresh_name(*, realm_id: str) -> str:
    """Store CompanyInfo.CompanyName for display; best effort, never fails the caller."""
    try:
        info = build_client(realm_id).company_info()
    except QBOError as exc:
        logger.warning("realm %s: could not read CompanyInfo: %s", realm_id, exc)
        return ""
    name = str(info.get("CompanyName") or "")[:255]
    if name:
        Company.objects.filter(realm_id=realm_id).update(name=name)
    return name
