"""One sync cycle over realms and entities: the service behind ``runsync``.

Decision: a failure is contained to what it concerns. A realm that needs
re-authorisation fails all its entities with that one message and the others go on; an
entity that fails (after the client's bounded retries) is recorded in ``SyncState`` with
its message and the cursor stays where its last committed page left it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from quickbooks_sync.models import SyncState, Token
from quickbooks_sync.qbo.client import QBOClient, RetryPolicy
from quickbooks_sync.qbo.errors import ConfigurationError, QBOError, ReauthorizationRequired
from quickbooks_sync.qbo.ratelimit import limiter_for
from quickbooks_sync.registry import ENTITIES, EntitySpec
from quickbooks_sync.sync.engine import (
    CursorError,
    EntitySync,
    EntitySyncResult,
    ProgressCallback,
    SyncInterrupted,
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


@dataclass
class CycleResult:
    outcomes: list[EntityOutcome] = field(default_factory=list)
    interrupted: bool = False

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
    """The realms named, else every realm with stored tokens, else ``QB_REALM_ID``."""
    if realm_ids:
        return [str(r) for r in realm_ids]
    realms = list(Token.objects.order_by("realm_id").values_list("realm_id", flat=True))
    if not realms and settings.QB_REALM_ID:
        realms = [settings.QB_REALM_ID]
    return realms


def resolve_entities(names: Iterable[str] | None) -> list[EntitySpec]:
    if not names:
        return list(ENTITIES.values())
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


def sync_entity(
    client: QBOClient,
    spec: EntitySpec,
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> EntityOutcome:
    realm_id = client.realm_id
    state = _state_for(realm_id, spec)
    started = time.monotonic()
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.IN_PROGRESS, last_sync_attempt=timezone.now()
    )
    try:
        result = EntitySync(
            client,
            spec,
            state,
            page_size=settings.QB_MAX_RESULTS,
            settle_seconds=settings.QB_SETTLE_SECONDS,
            full=full,
            progress=progress,
            should_stop=should_stop,
        ).run()
    except SyncInterrupted:
        SyncState.objects.filter(pk=state.pk).update(status=SyncState.Status.PENDING)
        raise
    except (QBOError, CursorError) as exc:
        _record_failure(state, str(exc))
        return EntityOutcome(
            realm_id,
            spec.name,
            False,
            error=str(exc),
            duration_s=time.monotonic() - started,
            realm_wide=isinstance(exc, ReauthorizationRequired | ConfigurationError),
        )
    except Exception as exc:
        # Unexpected: record it (type only, a message could quote data) and let it surface.
        _record_failure(state, f"internal error: {type(exc).__name__}; see the worker log")
        raise
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.SUCCESS,
        last_sync_success=timezone.now(),
        error_message="",
        records_synced=result.written,
    )
    return EntityOutcome(
        realm_id, spec.name, True, result=result, duration_s=time.monotonic() - started
    )


def _record_failure(state: SyncState, message: str) -> None:
    logger.error("realm %s: %s sync failed: %s", state.realm_id, state.object_type, message)
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.FAILURE, error_message=message[:4000]
    )


def run_cycle(
    *,
    realm_ids: Iterable[str] | None = None,
    entities: Iterable[str] | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CycleResult:
    """Sync every requested entity of every requested realm once."""
    specs = resolve_entities(entities)
    cycle = CycleResult()
    for realm_id in realms_to_sync(realm_ids):
        client = build_client(realm_id)
        for index, spec in enumerate(specs):
            try:
                outcome = sync_entity(
                    client, spec, full=full, progress=progress, should_stop=should_stop
                )
            except SyncInterrupted:
                cycle.interrupted = True
                return cycle
            cycle.outcomes.append(outcome)
            if outcome.realm_wide:
                for other in specs[index + 1 :]:
                    _record_failure(_state_for(realm_id, other), outcome.error)
                    cycle.outcomes.append(
                        EntityOutcome(
                            realm_id, other.name, False, error=outcome.error, realm_wide=True
                        )
                    )
                break
    return cycle
