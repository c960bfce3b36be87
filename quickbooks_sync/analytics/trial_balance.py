"""A trial balance in SQL over the analytics views: every posting, debits against credits.

Decision: each transaction type posts its header total to its control account (AR, AP,
bank) and its lines (and tax lines) to the accounts they name, following the package's
double-entry models (``int_quickbooks__<type>_double_entry``): invoice debits AR and
credits income per sales line, discount lines the other way round; payment debits the
deposit account and credits AR; and so on. Taking the control side from the header total
(not mirrored per line as the package does) makes the check meaningful: it balances only
when the lines we unnest add up to what QBO says the transaction is worth. A type is
included when its views exist, so registering an entity extends the check by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sql import quote

NOT_DELETED = "NOT coalesce(h._fivetran_deleted, false)"


@dataclass(frozen=True)
class Postings:
    source: str
    tables: tuple[str, ...]  # views it reads
    sql: str  # columns: transaction_id, transaction_date, account_id, debit, credit


def _header(source: str, table: str, account: str, debit: str, credit: str) -> Postings:
    return Postings(
        source,
        (table,),
        f"SELECT h.id, h.transaction_date, {account}, {debit}, {credit} "
        f"FROM {{s}}.{table} h WHERE {NOT_DELETED}",
    )


def _lines(
    source: str,
    table: str,
    line_table: str,
    key: str,
    account: str,
    debit: str,
    credit: str,
    where: str = "true",
) -> Postings:
    return Postings(
        source,
        (table, line_table),
        f"SELECT h.id, h.transaction_date, {account}, {debit}, {credit} "
        f"FROM {{s}}.{line_table} l JOIN {{s}}.{table} h ON h.id = l.{key} "
        f"WHERE {NOT_DELETED} AND ({where})",
    )


ZERO = "0::double precision"
AMT = "coalesce(l.amount, 0)"
TOTAL = "coalesce(h.total_amount, 0)"
# Sales lines that post (package: an account, item or bundle to post to; so subtotal and
# description-only lines do not).
SALES = (
    "coalesce(l.discount_account_id, l.sales_item_account_id, l.sales_item_item_id, "
    "l.bundle_id) IS NOT NULL"
)
DISCOUNT = "l.discount_account_id IS NOT NULL"
SALES_ACCOUNT = "coalesce(l.sales_item_account_id, l.discount_account_id)"
EXPENSE_ACCOUNT = "coalesce(l.account_expense_account_id, l.item_expense_item_id)"


def _sales(source: str, table: str, key: str, control: str, sign: int) -> list[Postings]:
    """Invoice/sales receipt (sign 1: control debited) and credit memo/refund (sign -1)."""
    dr, cr = (TOTAL, ZERO) if sign > 0 else (ZERO, TOTAL)
    line_dr = f"CASE WHEN {DISCOUNT} THEN {AMT} ELSE 0 END"
    line_cr = f"CASE WHEN {DISCOUNT} THEN 0 ELSE {AMT} END"
    if sign < 0:
        line_dr, line_cr = line_cr, line_dr
    return [
        _header(source, table, control, dr, cr),
        _lines(source, table, f"{table}_line", key, SALES_ACCOUNT, line_dr, line_cr, SALES),
    ]


def _tax(source: str, table: str, tax_table: str, key: str, sign: int) -> Postings:
    dr, cr = (ZERO, AMT) if sign > 0 else (AMT, ZERO)
    return _lines(source + " tax", table, tax_table, key, "l.tax_rate_id", dr, cr)


def _expense(source: str, table: str, key: str, control: str, sign: int) -> list[Postings]:
    """Bill/purchase (sign 1: control credited, lines debited) and vendor credit (-1)."""
    dr, cr = (ZERO, TOTAL) if sign > 0 else (TOTAL, ZERO)
    ldr, lcr = (AMT, ZERO) if sign > 0 else (ZERO, AMT)
    return [
        _header(source, table, control, dr, cr),
        _lines(source, table, f"{table}_line", key, EXPENSE_ACCOUNT, ldr, lcr),
    ]


_PURCHASE_CREDIT = "coalesce(h.credit, false)"
POSTINGS: tuple[Postings, ...] = (
    *_sales("invoice", "invoice", "invoice_id", "'AR'", 1),
    _tax("invoice", "invoice", "invoice_tax_line", "invoice_id", 1),
    *_sales("sales_receipt", "sales_receipt", "sales_receipt_id", "h.deposit_to_account_id", 1),
    _tax("sales_receipt", "sales_receipt", "sales_receipt_tax_line", "sales_receipt_id", 1),
    *_sales("credit_memo", "credit_memo", "credit_memo_id", "'AR'", -1),
    _tax("credit_memo", "credit_memo", "credit_memo_tax_line_detail", "credit_memo_id", -1),
    *_sales("refund_receipt", "refund_receipt", "refund_id", "h.deposit_to_account_id", -1),
    _tax("refund_receipt", "refund_receipt", "refund_receipt_tax_line", "refund_receipt_id", -1),
    _header("payment", "payment", "h.deposit_to_account_id", TOTAL, ZERO),
    _header("payment", "payment", "'AR'", ZERO, TOTAL),
    _header("deposit", "deposit", "h.account_id", TOTAL, ZERO),
    _header(
        "deposit", "deposit", "h.cash_back_account_id", "coalesce(h.cash_back_amount, 0)", ZERO
    ),
    _lines("deposit", "deposit", "deposit_line", "deposit_id", "l.deposit_account_id", ZERO, AMT),
    _tax("deposit", "deposit", "deposit_tax_line_detail", "deposit_id", 1),
    *_expense("bill", "bill", "bill_id", "'AP'", 1),
    _tax("bill", "bill", "bill_tax_line_detail", "bill_id", -1),
    *_expense("vendor_credit", "vendor_credit", "vendor_credit_id", "'AP'", -1),
    _header("bill_payment", "bill_payment", "'AP'", TOTAL, ZERO),
    _header(
        "bill_payment",
        "bill_payment",
        "coalesce(h.check_bank_account_id, h.credit_card_account_id)",
        ZERO,
        TOTAL,
    ),
    _header(
        "purchase",
        "purchase",
        "h.account_id",
        f"CASE WHEN {_PURCHASE_CREDIT} THEN {TOTAL} ELSE 0 END",
        f"CASE WHEN {_PURCHASE_CREDIT} THEN 0 ELSE {TOTAL} END",
    ),
    _lines(
        "purchase",
        "purchase",
        "purchase_line",
        "purchase_id",
        EXPENSE_ACCOUNT,
        f"CASE WHEN {_PURCHASE_CREDIT} THEN 0 ELSE {AMT} END",
        f"CASE WHEN {_PURCHASE_CREDIT} THEN {AMT} ELSE 0 END",
    ),
    _lines(
        "purchase tax",
        "purchase",
        "purchase_tax_line",
        "purchase_id",
        "l.tax_rate_id",
        f"CASE WHEN {_PURCHASE_CREDIT} THEN 0 ELSE {AMT} END",
        f"CASE WHEN {_PURCHASE_CREDIT} THEN {AMT} ELSE 0 END",
    ),
    _lines(
        "journal_entry",
        "journal_entry",
        "journal_entry_line",
        "journal_entry_id",
        "l.account_id",
        f"CASE WHEN l.posting_type = 'Debit' THEN {AMT} ELSE 0 END",
        f"CASE WHEN l.posting_type = 'Credit' THEN {AMT} ELSE 0 END",
    ),
    _header("transfer", "transfer", "h.to_account_id", "coalesce(h.amount, 0)", ZERO),
    _header("transfer", "transfer", "h.from_account_id", ZERO, "coalesce(h.amount, 0)"),
    _header(
        "credit_card_payment",
        "credit_card_payment_txn",
        "h.credit_card_account_id",
        "coalesce(h.amount, 0)",
        ZERO,
    ),
    _header(
        "credit_card_payment",
        "credit_card_payment_txn",
        "h.bank_account_id",
        ZERO,
        "coalesce(h.amount, 0)",
    ),
)


def postings_sql(schema: str, views: set[str]) -> str | None:
    """Every posting of the types whose views exist: source, transaction, date, account, Dr, Cr."""
    parts = [
        f"SELECT '{p.source}' AS source, q.* FROM ("
        + p.sql.replace("{s}", quote(schema))
        + ") AS q(transaction_id, transaction_date, account_id, debit, credit)"
        for p in POSTINGS
        if set(p.tables) <= views
    ]
    return "\nUNION ALL\n".join(parts) if parts else None


def trial_balance_sql(schema: str, views: set[str]) -> str | None:
    """Per month: total debits and credits (numeric, to the cent)."""
    postings = postings_sql(schema, views)
    if postings is None:
        return None
    return (
        "SELECT date_trunc('month', transaction_date)::date AS period, "
        "round(sum(debit)::numeric, 2) AS debits, round(sum(credit)::numeric, 2) AS credits "
        f"FROM ({postings}) AS p GROUP BY 1 ORDER BY 1"
    )
