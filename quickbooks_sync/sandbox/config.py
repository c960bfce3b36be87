"""Sandbox configuration: one frozen dataclass so a test states its world in one line."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REALM = "9130350000000001"


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
)
