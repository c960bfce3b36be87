"""End to end on the sandbox: stored verdicts in syncstatus, /healthz and the admin, the
report mirror and the worker hook (each test syncs its own company: they write and read
across transactions)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from quickbooks_sync.models import MoneyCheck
from quickbooks_sync.sandbox import DEFAULT_REALM

REALM = DEFAULT_REALM
pytestmark = pytest.mark.django_db(transaction=True)


def synced(server):
    code = server.state.issue_authorization_code(REALM)
    call_command("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://localhost/cb")
    call_command("runsync", "--once")


def money(capsys, *extra) -> tuple[int, str]:
    try:
        call_command("verifysync", "--money", *extra)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, capsys.readouterr().out


def test_syncstatus_and_healthz_show_the_stored_verdict(sandbox, capsys, client):
    from django.contrib.auth.models import Permission, User
    from django.core.cache import cache

    from quickbooks_sync.views import HEALTH_CACHE_KEY

    synced(sandbox)
    money(capsys)
    call_command("syncstatus", "--json")
    document = json.loads(capsys.readouterr().out)
    assert document["money"][REALM]["ok"] is True
    user = User.objects.create_user("monitor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_syncstate"))
    client.force_login(user)  # the counts are for users who may see sync details
    cache.delete(HEALTH_CACHE_KEY)
    body = client.get("/healthz").json()
    assert body["money"] == {"checked_realms": 1, "mismatched_realms": 0}


def test_syncreports_stores_snapshots_with_flattened_rows(sandbox, capsys, settings):
    from quickbooks_sync.money.models import ReportRow, ReportSnapshot

    settings.QB_REPORT_MONTHS = 2
    synced(sandbox)
    call_command("syncreports", "--basis", "Accrual")
    assert "report snapshots stored" in capsys.readouterr().out
    pl = ReportSnapshot.objects.filter(report_name="ProfitAndLoss").order_by("start_date")
    assert pl.count() == 3  # two months and the year to date
    income = ReportRow.objects.filter(snapshot=pl.last(), qb_id="79", row_type="data").get()
    assert income.amount > 0 and income.section_path == "Income"
    tb = ReportSnapshot.objects.filter(report_name="TrialBalance").latest()
    assert tb.raw_data[0]["Header"]["ReportName"] == "TrialBalance"


def test_worker_hook_mirrors_reports_when_due(sandbox, settings):
    from quickbooks_sync.money.models import ReportSnapshot
    from quickbooks_sync.money.snapshots import reports_sync_if_due

    synced(sandbox)
    assert reports_sync_if_due(realm_id=REALM) is False  # interval 0: off
    settings.QB_REPORT_INTERVAL_HOURS = 24
    settings.QB_REPORT_MONTHS = 1
    assert reports_sync_if_due(realm_id=REALM) is True
    assert ReportSnapshot.objects.exists() and MoneyCheck.objects.latest().ok
    assert reports_sync_if_due(realm_id=REALM) is False  # fresh: not due again


def test_admin_reports_page_shows_tables_chart_and_verdict(sandbox, capsys, settings, client):
    from django.contrib.auth.models import Permission, User

    settings.QB_REPORT_MONTHS = 2
    synced(sandbox)
    call_command("syncreports", "--basis", "Accrual")
    money(capsys)
    url = f"/admin/quickbooks_sync/reportsnapshot/realm/{REALM}/"
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(url).status_code == 403  # needs the view permission
    user.user_permissions.add(Permission.objects.get(codename="view_reportsnapshot"))
    page = client.get(url).content.decode()
    assert "Sales of Product Income" in page and "TOTAL ASSETS" in page
    assert page.count("<rect ") == 4  # two months, income and expense each
    assert "ties out" in page


def test_worker_hook_stops_when_asked(sandbox, settings):
    from quickbooks_sync.money.models import ReportSnapshot
    from quickbooks_sync.money.snapshots import reports_sync_if_due

    synced(sandbox)
    settings.QB_REPORT_INTERVAL_HOURS = 24
    asked = []

    def stop_after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    assert reports_sync_if_due(realm_id=REALM, should_stop=stop_after_two) is False
    assert ReportSnapshot.objects.count() == 2 and not MoneyCheck.objects.exists()
