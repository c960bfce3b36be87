"""Sandbox configuration: one frozen dataclass so a test states its world in one line."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REALM = "9130350000000001"
TIE_ORDERS = ("id", "shuffle")
ID_ORDERS = ("numeric", "string")


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes a sandbox run.

    The defaults mirror QBO: 3600 s access tokens, 101-day refresh tokens, 500 requests per
    rolling minute and 10 in flight per realm. ``refresh_grace_seconds`` is 0 (a superseded
    refresh token dies at once), the strictest reading of the notes, so client bugs that
    reuse an old refresh token show up in tests rather than in production.
    """

    seed: int = 1
    customers: int = 50
    invoices: int = 200
    realms: tuple[str, ...] = (DEFAULT_REALM,)
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a public, fake credential
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 8726400
    refresh_token_hard_ttl: int = 5 * 365 * 86400
    refresh_grace_seconds: int = 0
    throttle: bool = True
    rate_limit_per_minute: int = 500
    max_in_flight: int = 10
    latency: float = 0.0
    latency_jitter: float = 0.0
    cdc_window_days: int = 30
    # Behaviours QBO does not document (API-NOTES §10), so tests can run each way:
    # ``tie_order``: rows equal on the ORDERBY key come back "id" (stable, by Id) or
    # "shuffle" (a different order on every request, as a database without a tie-breaker
    # may). An unordered query is shuffled too. ``id_order``: ORDERBY Id sorts "numeric"
    # or "string" (``'10' < '9'``).
    tie_order: str = "id"
    id_order: str = "numeric"
    # The rest of the ledger (sandbox/ledger.py). Payments follow the paid invoices and
    # deposits group some of them, bill payments follow the paid bills; these count the rest.
    accounts: int = 0  # expense sub-accounts beyond the fixed chart of accounts
    items: int = 0  # items beyond the ten that invoice lines use
    vendors: int = 8
    bills: int = 20
    vendor_credits: int = 3
    purchases: int = 10
    sales_receipts: int = 8
    credit_memos: int = 4
    refund_receipts: int = 3
    journal_entries: int = 8
    transfers: int = 4
    # The rest of the surface (sandbox/surface.py); terms, payment methods, customer
    # types and the tax agency, rates and codes are a fixed set.
    classes: int = 4
    departments: int = 3
    employees: int = 4
    budgets: int = 2
    estimates: int = 9
    purchase_orders: int = 6
    credit_card_payments: int = 4
    time_activities: int = 8

    def __post_init__(self) -> None:
        if self.tie_order not in TIE_ORDERS:
            raise ValueError(f"tie_order must be one of {TIE_ORDERS}, not {self.tie_order!r}")
        if self.id_order not in ID_ORDERS:
            raise ValueError(f"id_order must be one of {ID_ORDERS}, not {self.id_order!r}")

    def ledger_counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in LEDGER_COUNTS}


LEDGER_COUNTS = (
    "accounts",
    "items",
    "vendors",
    "bills",
    "vendor_credits",
    "purchases",
    "sales_receipts",
    "credit_memos",
    "refund_receipts",
    "journal_entries",
    "transfers",
    "classes",
    "departments",
    "employees",
    "budgets",
    "estimates",
    "purchase_orders",
    "credit_card_payments",
    "time_activities",
)
