"""End to end on the bundled sandbox company: the tie-out passes to the cent, and a single
missing record (or a report that disagrees) fails the check it belongs to and is named.

The company (default ledger and surface: every transaction type, EUR/GBP/CAD customers
and vendors) is synced once per module; each test removes rows inside its own
transaction, rolled back afterwards, so the tests stay independent at one sync's cost.
"""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from quickbooks_sync.models import Invoice, MoneyCheck
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer

REALM = DEFAULT_REALM
CONFIG = SandboxConfig(seed=7, customers=60, invoices=240, realms=(REALM,))
KEY = Fernet.generate_key().decode()  # the module's tokens outlive one test's settings
pytestmark = pytest.mark.django_db


def _point(settings, server) -> None:
    settings.QB_TOKEN_ENCRYPTION_KEY = [KEY]
    settings.QB_API_BASE_URL = server.url
    settings.QB_OAUTH_TOKEN_URL = server.token_url
    settings.QB_AUTHORIZE_URL = server.authorize_url
    settings.QB_OAUTH_REVOKE_URL = server.revoke_url
    settings.QB_CLIENT_ID = CONFIG.client_id
    settings.QB_CLIENT_SECRET = CONFIG.client_secret


@pytest.fixture(scope="module")
def company(django_db_setup, django_db_blocker):
    """The sandbox, synced once (committed); the database is flushed after the module."""
    from django.test import override_settings

    with SandboxServer(CONFIG) as server:
        test_settings = {
            "QB_TOKEN_ENCRYPTION_KEY": [KEY],
            "QB_SETTLE_SECONDS": 0,
            "QB_RETRY_BACKOFF_SECONDS": 0.0,
            "QB_THROTTLE_BACKOFF_SECONDS": 0.0,
            "QB_REQUESTS_PER_MINUTE": 100000,
            "QB_REPORT_INTERVAL_HOURS": 0,
            "QB_API_BASE_URL": server.url,
            "QB_OAUTH_TOKEN_URL": server.token_url,
            "QB_AUTHORIZE_URL": server.authorize_url,
            "QB_OAUTH_REVOKE_URL": server.revoke_url,
            "QB_CLIENT_ID": CONFIG.client_id,
            "QB_CLIENT_SECRET": CONFIG.client_secret,
        }
        with override_settings(**test_settings), django_db_blocker.unblock():
            code = server.state.issue_authorization_code(REALM)
            call_command(
                "bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://localhost/cb"
            )
            call_command("runsync", "--once")
        try:
            yield server
        finally:
            with django_db_blocker.unblock():
                call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def sandbox(company, settings):
    _point(settings, company)
    company.state.report_skew = 0
    yield company
    company.state.report_skew = 0


def money(capsys, *extra) -> tuple[int, str]:
    try:
        call_command("verifysync", "--money", *extra)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        return code, capsys.readouterr().out + f"\nCommandError: {exc}"
    return code, capsys.readouterr().out


def verdicts(out: str) -> dict[str, str]:
    """check name -> OK | MISMATCH, from the command's output."""
    return {
        name: status
        for status, name in re.findall(r"^(OK|MISMATCH) +(.+?) \(\d+ compared\)$", out, re.M)
    }


def remove(entity: str, qb_id: str) -> None:
    """Delete a synced row and its child rows (lines, links), as if never synced."""
    spec = ENTITIES[entity]
    parent = spec.model.objects.filter(realm_id=REALM, qb_id=qb_id)
    assert parent.exists(), f"{entity} {qb_id} is not synced"
    for child in spec.children:
        child.model.objects.filter(parent__in=parent).delete()
    parent.delete()


def open_one(entity: str, *, foreign: bool = False) -> str:
    """The Id of a live open ``entity`` (in a foreign currency if asked)."""
    rows = ENTITIES[entity].model.objects.live().filter(realm_id=REALM).order_by("qb_id")
    for raw in rows.values_list("raw_data", flat=True):
        if raw.get("Balance") and ("ExchangeRate" in raw) == foreign:
            return str(raw["Id"])
    raise AssertionError(f"no open {entity} (foreign={foreign}) in the sandbox company")


ALL_CHECKS = {"AR per customer", "customer Balance", "AP per vendor", "vendor Balance",
              "trial balance"}  # fmt: skip


def test_tie_out_passes_to_the_cent_on_the_whole_ledger(capsys):
    code, out = money(capsys)
    assert code == 0, out
    assert verdicts(out) == dict.fromkeys(ALL_CHECKS, "OK"), out
    assert "not in the local trial balance" not in out  # every synced type has a rule
    verdict = MoneyCheck.objects.get()
    assert verdict.ok and verdict.realm_id == REALM
    compared = {c["name"]: c["compared"] for c in verdict.checks}
    assert compared["AR per customer"] > 10 and compared["AP per vendor"] >= 5
    assert compared["trial balance"] >= 15  # banks, A/R, A/P, card, income, expenses...
    foreign = [
        raw for raw in Invoice.objects.values_list("raw_data", flat=True) if "ExchangeRate" in raw
    ]
    assert foreign, "the company has no foreign-currency invoices: multi-currency untested"


def test_removing_one_payment_fails_the_trial_balance_and_names_it(capsys):
    victim = str(
        ENTITIES["Payment"].model.objects.filter(realm_id=REALM).order_by("qb_id")[0].qb_id
    )
    remove("Payment", victim)
    code, out = money(capsys)
    assert code == 1
    assert verdicts(out)["trial balance"] == "MISMATCH"
    assert f"Payment {victim}: missing locally" in out
    assert not MoneyCheck.objects.latest("checked_at").ok


def test_removing_one_open_invoice_fails_ar_balance_and_trial_balance_naming_it(capsys):
    victim = open_one("Invoice", foreign=True)
    remove("Invoice", victim)
    code, out = money(capsys)
    assert code == 1
    found = verdicts(out)
    assert found["AR per customer"] == found["customer Balance"] == "MISMATCH", out
    assert found["trial balance"] == "MISMATCH"
    assert found["AP per vendor"] == found["vendor Balance"] == "OK"
    assert f"Invoice {victim}: open " in out  # from the aging detail
    assert f"Invoice {victim}: missing locally" in out  # from the Id comparison


def test_removing_one_open_bill_fails_ap_and_vendor_balance_naming_it(capsys):
    victim = open_one("Bill")
    remove("Bill", victim)
    code, out = money(capsys)
    assert code == 1
    found = verdicts(out)
    assert found["AP per vendor"] == found["vendor Balance"] == "MISMATCH", out
    assert found["AR per customer"] == found["customer Balance"] == "OK"
    assert f"Bill {victim}: open " in out and f"Bill {victim}: missing locally" in out


def test_removing_one_open_credit_memo_fails_the_customer_side(capsys):
    victim = open_one("CreditMemo")
    remove("CreditMemo", victim)
    code, out = money(capsys)
    assert code == 1
    found = verdicts(out)
    assert found["AR per customer"] == found["customer Balance"] == "MISMATCH", out
    assert f"CreditMemo {victim}: open " in out


def test_removing_one_transfer_fails_only_the_trial_balance(capsys):
    victim = str(
        ENTITIES["Transfer"].model.objects.filter(realm_id=REALM).order_by("qb_id")[0].qb_id
    )
    remove("Transfer", victim)
    code, out = money(capsys)
    assert code == 1
    assert verdicts(out) == {**dict.fromkeys(ALL_CHECKS, "OK"), "trial balance": "MISMATCH"}
    assert f"Transfer {victim}: missing locally" in out


def test_report_skew_fault_makes_the_tie_out_fail(sandbox, capsys):
    sandbox.state.report_skew = 0.01
    code, out = money(capsys)
    assert code == 1
    assert re.search(r"^  .+ -?0\.01$", out, re.M), out  # one figure, one cent
    verdict = MoneyCheck.objects.latest("checked_at")
    assert not verdict.ok and "trial balance" in verdict.summary
