"""Several companies: ids collide, so each schema shows one company (PostgreSQL only)."""

from __future__ import annotations

import pytest
from django.db import connection

from quickbooks_sync.analytics.service import (
    analytics_views_apply,
    analytics_views_check,
    analytics_views_drop,
    our_views,
)
from quickbooks_sync.models import Company, Invoice

pytestmark = pytest.mark.usefixtures("postgres")


def invoice(realm, qb_id, total):
    raw = {"Id": qb_id, "SyncToken": "0", "TotalAmt": total, "Line": []}
    return Invoice.objects.create(
        realm_id=realm,
        qb_id=qb_id,
        sync_token="0",
        qb_updated_at="2025-01-01T00:00:00Z",
        raw_data=raw,
    )


def totals(schema):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id, total_amount FROM "{schema}".invoice ORDER BY id')
        return cursor.fetchall()


def schemas():
    with connection.cursor() as cursor:
        return {s for s, _ in our_views(cursor)}


@pytest.fixture
def two_companies(db):
    for realm in ("111", "222"):
        Company.objects.create(realm_id=realm)
    invoice("111", "1", 10)
    invoice("222", "1", 20)


def test_per_realm_schemas_each_show_one_company(settings, two_companies):
    settings.QB_ANALYTICS_PER_REALM = True
    report = analytics_views_apply()
    assert [t.schema for t in report.targets] == ["quickbooks_111", "quickbooks_222"]
    assert totals("quickbooks_111") == [("1", 10.0)]
    assert totals("quickbooks_222") == [("1", 20.0)]
    assert schemas() == {"quickbooks_111", "quickbooks_222"}  # the mixed one is gone
    assert analytics_views_check() == []


def test_a_company_connected_later_gets_its_schema(
    settings, two_companies, django_capture_on_commit_callbacks
):
    settings.QB_ANALYTICS_PER_REALM = True
    analytics_views_apply()
    with django_capture_on_commit_callbacks(execute=True):
        Company.objects.create(realm_id="333")
    invoice("333", "1", 30)
    assert totals("quickbooks_333") == [("1", 30.0)]
    assert schemas() == {"quickbooks_111", "quickbooks_222", "quickbooks_333"}


def test_one_realm_filter_on_the_main_schema(settings, two_companies):
    settings.QB_ANALYTICS_REALM = "222"
    analytics_views_apply()
    assert totals("quickbooks") == [("1", 20.0)]
    assert analytics_views_check() == []
    settings.QB_ANALYTICS_REALM = ""
    analytics_views_apply()
    assert totals("quickbooks") == [("1", 10.0), ("1", 20.0)]
    assert any("mixes 2 companies" in p for p in analytics_views_check())


def test_an_empty_schema_setting_makes_no_views_and_drops_ours(settings, two_companies):
    settings.QB_ANALYTICS_SCHEMA = ""
    analytics_views_apply()
    assert schemas() == set()


def test_drop_leaves_a_users_own_views_alone(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE VIEW quickbooks.my_report AS SELECT 1 AS one")
    analytics_views_drop()
    assert schemas() == set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT one FROM quickbooks.my_report")
        assert cursor.fetchone() == (1,)


def test_a_view_whose_columns_changed_is_recreated(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP VIEW quickbooks.invoice_line CASCADE")
        cursor.execute("CREATE VIEW quickbooks.invoice_line AS SELECT 1 AS one")
        cursor.execute("COMMENT ON VIEW quickbooks.invoice_line IS 'qbo-sync analytics view: old'")
    assert analytics_views_check()  # the wrong columns are reported
    report = analytics_views_apply()
    assert report.recreated == ["quickbooks.invoice_line"]
    assert analytics_views_check() == []


def test_the_command_with_the_schema_switched_off_drops_ours(settings, db, capsys):
    from django.core.management import call_command

    settings.QB_ANALYTICS_SCHEMA = ""
    call_command("analytics_views")
    out = capsys.readouterr().out
    assert "switched off" in out and "dropped quickbooks.invoice" in out
    assert schemas() == set()
