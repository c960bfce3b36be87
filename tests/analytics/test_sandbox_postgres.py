"""The views over a real sync of the bundled sandbox into PostgreSQL, made by `migrate`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from quickbooks_sync import registry
from quickbooks_sync.analytics.columns import source_tables
from quickbooks_sync.analytics.service import our_views, plan_views, view_columns
from quickbooks_sync.analytics.trial_balance import trial_balance_sql
from quickbooks_sync.models import Customer, Invoice
from tests.test_e2e import REALM, _small_pages, bootstrap  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]

SCHEMA = "quickbooks"  # the default QB_ANALYTICS_SCHEMA, made when the test database migrated


def scalar(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def sync():
    call_command("runsync", "--once", "--no-progress")


@pytest.fixture
def synced(sandbox):
    bootstrap(sandbox)
    sync()
    sandbox.state.clock.advance(seconds=60)
    return sandbox


def test_migrate_made_every_view_of_the_synced_entities_with_the_package_columns():
    plan = plan_views()
    assert {t for t, _ in plan.views} >= {"customer", "invoice", "invoice_line"}
    with connection.cursor() as cursor:
        for table, _parts in plan.views:
            expected = [(c.name, c.pg_type) for c in source_tables()[table].columns]
            assert view_columns(cursor, SCHEMA, table) == expected, table
        skipped = {t for t, _ in plan.skipped}
        assert not {t for s, t in our_views(cursor) if s == SCHEMA} & skipped


def test_views_over_the_synced_sandbox_balance_and_join(synced, capsys):
    synced.state.delete(REALM, "Invoice", "5")
    sync()
    live = Invoice.objects.live().count()
    assert scalar(f"SELECT count(*) FROM {SCHEMA}.invoice WHERE NOT _fivetran_deleted") == live
    assert scalar(f"SELECT _fivetran_deleted FROM {SCHEMA}.invoice WHERE id = '5'") is True
    assert scalar(f"SELECT count(*) FROM {SCHEMA}.customer") == Customer.objects.count()
    inactive = Customer.objects.filter(active=False).count()
    assert (
        inactive and scalar(f"SELECT count(*) FROM {SCHEMA}.customer WHERE NOT active") == inactive
    )
    # every stored line, none orphaned, index 0.. unique per invoice
    stored = sum(len(i.raw_data["Line"]) for i in Invoice.objects.all())
    assert scalar(f"SELECT count(*) FROM {SCHEMA}.invoice_line") == stored
    assert (
        scalar(
            f"SELECT count(*) FROM {SCHEMA}.invoice_line l "
            f"LEFT JOIN {SCHEMA}.invoice i ON i.id = l.invoice_id WHERE i.id IS NULL"
        )
        == 0
    )
    assert (
        scalar(
            f"SELECT count(*) FROM (SELECT invoice_id, index FROM {SCHEMA}.invoice_line "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        )
        == 0
    )
    assert scalar(f"SELECT min(index) FROM {SCHEMA}.invoice_line") == 0

    def links(txn_type: str) -> int:
        return sum(
            1
            for i in Invoice.objects.all()
            for link in i.raw_data.get("LinkedTxn") or []
            if link.get("TxnType") == txn_type
        )

    # Invoices link the payments that paid them and (since #17) the estimates they came from.
    assert scalar(
        f"SELECT count(*) FROM {SCHEMA}.invoice_linked_txn WHERE payment_id IS NOT NULL"
    ) == links("Payment")
    assert scalar(
        f"SELECT count(*) FROM {SCHEMA}.invoice_linked_txn WHERE estimate_id IS NOT NULL"
    ) == links("Estimate")
    assert links("Estimate") > 0
    foreign = Invoice.objects.exclude(raw_data__CurrencyRef__value="USD").first()
    assert (
        scalar(f"SELECT exchange_rate FROM {SCHEMA}.invoice WHERE id = %s", [foreign.qb_id])
        == foreign.raw_data["ExchangeRate"]
    )
    with connection.cursor() as cursor:
        views = {t for s, t in our_views(cursor) if s == SCHEMA}
        cursor.execute(trial_balance_sql(SCHEMA, views))
        periods = cursor.fetchall()
    assert len(periods) > 12
    assert [p for p in periods if p[1] != p[2]] == []
    call_command("analytics_views", "--check")
    assert capsys.readouterr().out.rstrip().endswith("OK")


def test_check_fails_when_the_main_schema_mixes_companies(synced, capsys):
    Invoice.objects.create(
        realm_id="999",
        qb_id="1",
        sync_token="0",
        qb_updated_at="2025-01-01T00:00:00Z",
        raw_data={"Id": "1"},
    )
    with pytest.raises(CommandError, match="1 analytics view problem"):
        call_command("analytics_views", "--check")
    assert "mixes 2 companies" in capsys.readouterr().out


def test_migrate_back_and_forth_keeps_the_views(settings):
    latest = scalar(
        "SELECT name FROM django_migrations WHERE app = 'quickbooks_sync' ORDER BY name DESC"
    )
    previous = f"{int(latest[:4]) - 1:04d}"
    call_command("migrate", "quickbooks_sync", previous, verbosity=0)
    assert scalar(f"SELECT count(*) FROM information_schema.views WHERE table_schema = '{SCHEMA}'")
    call_command("migrate", verbosity=0)
    call_command("analytics_views", "--check")
    assert len(registry.ENTITIES) >= 2
