"""Read-only questions the admin, ``syncstatus`` and ``/healthz`` ask (HackSoft: selectors read).

Decision: one place decides what "healthy", "failing" and "stale" mean, so the exit code a
monitor sees, the JSON a process manager polls and the badge an operator reads in the
admin can never disagree. Likewise an invoice's status (paid/open/overdue/voided/deleted)
is one SQL expression, so the admin can show, filter and sort by it without N+1 queries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from quickbooks_sync.display import format_delta
from quickbooks_sync.models import Company, Customer, Invoice, SyncState, Token
from quickbooks_sync.registry import ENTITIES, selected_entities

HEALTHY, FAILING, STALE = "healthy", "failing", "stale"
EXIT_CODES = {HEALTHY: 0, FAILING: 1, STALE: 2}

# --- Invoices ---------------------------------------------------------------------------------

INVOICE_STATUSES = ("paid", "open", "overdue", "voided", "deleted")


def invoice_status_expression(*, today: date | None = None) -> Case:
    """SQL for an invoice's status; the first matching rule wins.

    deleted (gone from QBO) > voided > paid (nothing left to pay) > overdue (balance left
    and due date passed) > open.
    """
    today = today or timezone.localdate()
    return Case(
        When(deleted_at__isnull=False, then=Value("deleted")),
        When(voided=True, then=Value("voided")),
        When(Q(balance__isnull=True) | Q(balance__lte=0), then=Value("paid")),
        When(due_date__lt=today, then=Value("overdue")),
        default=Value("open"),
        output_field=CharField(),
    )


def _customer_of_invoice() -> QuerySet:
    return Customer.objects.filter(realm_id=OuterRef("realm_id"), qb_id=OuterRef("customer_qb_id"))


def invoice_list(*, today: date | None = None) -> QuerySet:
    """Invoices with ``status``, ``customer_name`` and ``customer_pk`` in the same query."""
    customer = _customer_of_invoice()
    return Invoice.objects.annotate(
        status=invoice_status_expression(today=today),
        customer_name=Subquery(customer.values("display_name")[:1]),
        customer_pk=Subquery(customer.values("pk")[:1]),
    )


def customer_list() -> QuerySet:
    """Customers with ``invoice_count`` (all, as the linked list shows them) and
    ``unpaid_invoice_count`` (live, not voided, balance left)."""
    invoices = Invoice.objects.filter(
        realm_id=OuterRef("realm_id"), customer_qb_id=OuterRef("qb_id")
    )

    def count(queryset: QuerySet) -> Coalesce:
        counted = queryset.order_by().values("customer_qb_id").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    return Customer.objects.annotate(
        invoice_count=count(invoices),
        unpaid_invoice_count=count(invoices.live().filter(voided=False, balance__gt=0)),
    )


# --- Sync status ------------------------------------------------------------------------------


def default_stale_after() -> timedelta:
    """Three missed cycles: one slow cycle is normal, three in a row is not."""
    return timedelta(minutes=3 * settings.SYNC_INTERVAL_MINUTES)


@dataclass(frozen=True)
class SyncStatusRow:
    """One realm and entity, as an operator needs to see it."""

    realm_id: str
    entity: str
    status: str  # SyncState.status, or "never" when no sync has started
    cursor: str
    last_attempt: datetime | None
    last_success: datetime | None
    age_seconds: float | None  # since last_success
    live_records: int
    records_skipped: int
    last_error: str
    needs_reauth: bool
    health: str  # HEALTHY / FAILING / STALE
    # When (QBO's clock) and how (cdc, reconcile) the entity was last proven complete:
    # for entities CDC does not serve, their last scheduled reconcile.
    proven_complete_at: datetime | None = None
    proven_complete_by: str = ""

    def as_json(self) -> dict:
        data = asdict(self)
        for key in ("last_attempt", "last_success", "proven_complete_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class Health:
    status: str
    reasons: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def monitored_realms() -> list[str]:
    """Realms someone expects to be synced: tokens, sync states, non-disconnected companies."""
    disconnected = set(
        Company.objects.filter(status=Company.Status.DISCONNECTED).values_list(
            "realm_id", flat=True
        )
    )
    realms = (
        set(Token.objects.values_list("realm_id", flat=True))
        | set(SyncState.objects.values_list("realm_id", flat=True))
        | set(Company.objects.values_list("realm_id", flat=True))
    )
    return sorted(realms - disconnected)


def realms_needing_reauth() -> set[str]:
    return set(Token.objects.filter(needs_reauth=True).values_list("realm_id", flat=True)) | set(
        Company.objects.filter(status=Company.Status.NEEDS_REAUTH).values_list(
            "realm_id", flat=True
        )
    )


def live_record_counts() -> dict[tuple[str, str], int]:
    """(realm, entity) -> live rows, one GROUP BY per entity."""
    counts: dict[tuple[str, str], int] = {}
    for name, spec in ENTITIES.items():
        rows = spec.model.objects.live().order_by().values("realm_id").annotate(n=Count("pk"))
        for row in rows:
            counts[(row["realm_id"], name)] = row["n"]
    return counts


def classify(
    *, status: str, age_seconds: float | None, needs_reauth: bool, stale_after: timedelta
) -> str:
    """The health of one realm/entity: failing (last run failed, or the realm needs a
    human to reconnect it), stale (no success within ``stale_after``, or never), else
    healthy. An in-progress run is judged by its last success."""
    if status == SyncState.Status.FAILURE or needs_reauth:
        return FAILING
    if age_seconds is None or age_seconds > stale_after.total_seconds():
        return STALE
    return HEALTHY


def sync_state_list() -> QuerySet:
    """SyncStates with ``live_records`` and ``needs_reauth``, for the admin, in one query."""
    live = [
        When(
            object_type=name,
            then=Subquery(
                spec.model.objects.live()
                .filter(realm_id=OuterRef("realm_id"))
                .order_by()
                .values("realm_id")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
        )
        for name, spec in ENTITIES.items()
    ]
    reauth = Exists(
        Token.objects.filter(realm_id=OuterRef("realm_id"), needs_reauth=True)
    ) | Exists(
        Company.objects.filter(realm_id=OuterRef("realm_id"), status=Company.Status.NEEDS_REAUTH)
    )
    return SyncState.objects.annotate(
        live_records=Coalesce(Case(*live, output_field=IntegerField()), 0),
        needs_reauth=ExpressionWrapper(reauth, output_field=BooleanField()),
    )


def sync_status_rows(
    *, stale_after: timedelta | None = None, now: datetime | None = None
) -> list[SyncStatusRow]:
    """Every registered entity of every monitored realm, including ones never synced."""
    now = now or timezone.now()
    stale_after = stale_after if stale_after is not None else default_stale_after()
    states = {(s.realm_id, s.object_type): s for s in SyncState.objects.all()}
    counts = live_record_counts()
    reauth = realms_needing_reauth()
    rows = []
    for realm_id in monitored_realms():
        for entity in (spec.name for spec in selected_entities()):
            state = states.get((realm_id, entity))
            last_success = state.last_sync_success if state else None
            age = (now - last_success).total_seconds() if last_success else None
            status = state.status if state else "never"
            health = classify(
                status=status,
                age_seconds=age,
                needs_reauth=realm_id in reauth,
                stale_after=stale_after,
            )
            rows.append(
                SyncStatusRow(
                    realm_id=realm_id,
                    entity=entity,
                    status=status,
                    cursor=state.cursor if state else "",
                    last_attempt=state.last_sync_attempt if state else None,
                    last_success=last_success,
                    age_seconds=age,
                    live_records=counts.get((realm_id, entity), 0),
                    records_skipped=state.records_skipped if state else 0,
                    last_error=state.error_message if state else "",
                    needs_reauth=realm_id in reauth,
                    health=health,
                    proven_complete_at=state.deletes_verified_at if state else None,
                    proven_complete_by=state.deletes_verified_by if state else "",
                )
            )
    return rows


def overall_health(*, rows: list[SyncStatusRow]) -> Health:
    """Failing beats stale beats healthy; no realm at all counts as stale (never synced)."""
    if not rows:
        return Health(STALE, ["no realm connected: run manage.py bootstrap_tokens"])
    failing, stale = [], []
    for row in rows:
        where = f"realm {row.realm_id} {row.entity}"
        if row.needs_reauth:
            failing.append(f"{where}: needs re-authorisation (run bootstrap_tokens)")
        elif row.health == FAILING:
            first_line = row.last_error.strip().splitlines()[0][:200] if row.last_error else ""
            failing.append(f"{where}: failed: {first_line or 'no message'}")
        elif row.health == STALE:
            stale.append(
                f"{where}: never synced"
                if row.last_success is None
                else f"{where}: last success {int(row.age_seconds)}s ago"
            )
    if failing:
        return Health(FAILING, failing + stale)
    if stale:
        return Health(STALE, stale)
    return Health(HEALTHY)


def token_health(*, token: Token, now: datetime | None = None) -> tuple[str, str]:
    """(level, text) for a token row: level is ``ok``, ``warning`` or ``error``.

    The access token lives an hour and is refreshed on demand, so its expiry says little;
    what needs a human is the refresh token running out (100 days idle, 5-year cap) or
    Intuit having refused it.
    """
    now = now or timezone.now()
    if token.needs_reauth:
        reason = f": {token.reauth_reason}" if token.reauth_reason else ""
        return "error", f"needs re-authorisation{reason}"
    ends = [
        (at, future, past)
        for at, future, past in (
            (token.refresh_token_expires_at, "refresh token expires in", "refresh token expired"),
            (token.refresh_token_hard_expires_at, "reconnect required in", "reconnect was due"),
        )
        if at is not None
    ]
    if not ends:
        return "ok", "refreshed on demand"
    at, future, past = min(ends)
    left = at - now
    if left <= timedelta(0):
        return "error", f"{past} {format_delta(-left)} ago: run bootstrap_tokens"
    level = "warning" if left < timedelta(days=14) else "ok"
    return level, f"{future} {format_delta(left)}"


# --- Worker schedule ---------------------------------------------------------------------------


def company_schedule(*, realm_ids: list[str] | None = None) -> list[tuple[str, datetime | None]]:
    """(realm, next due time) of every company a worker would sync, soonest first."""
    companies = Company.objects.filter(status=Company.Status.CONNECTED)
    if realm_ids is not None:
        companies = companies.filter(realm_id__in=realm_ids)
    return list(
        companies.order_by("next_sync_due_at", "realm_id").values_list(
            "realm_id", "next_sync_due_at"
        )
    )


def describe_due(due: datetime | None, *, now: datetime | None = None) -> str:
    """ "due now" or "next sync 2025-01-01 10:05:00 UTC (in 4 min)", for the worker's output."""
    now = now or timezone.now()
    if due is None or due <= now:
        return "due now"
    local = timezone.localtime(due)
    return f"next sync {local:%Y-%m-%d %H:%M:%S %Z} (in {format_delta(due - now)})"


def money_verdicts() -> dict[str, dict]:
    """realm -> its latest stored tie-out verdict (``verifysync --money``); never calls QBO."""
    from quickbooks_sync.money.tieout import latest_money_checks

    return {
        realm: {
            "ok": check.ok,
            "as_of": check.as_of.isoformat(),
            "checked_at": check.checked_at.isoformat(),
            "summary": check.summary,
        }
        for realm, check in latest_money_checks().items()
    }
