"""End to end: the real commands against the bundled sandbox over HTTP, compared to its truth."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from quickbooks_sync.models import Customer, Invoice, SyncState, Token
from quickbooks_sync.registry import COMPANY, ENTITIES
from quickbooks_sync.sandbox import DEFAULT_REALM

pytestmark = pytest.mark.django_db(transaction=True)

REALM = DEFAULT_REALM


@pytest.fixture(autouse=True)
def _small_pages(settings):
    settings.QB_MAX_RESULTS = 50  # 240 invoices span several pages (and parallel windows)


def bootstrap(server, realm=REALM):
    code = server.state.issue_authorization_code(realm)
    call_command("bootstrap_tokens", code=code, realm_id=realm, redirect_uri="http://localhost/cb")


def local(model, realm=REALM) -> dict[str, str]:
    return dict(model.objects.live().filter(realm_id=realm).values_list("qb_id", "sync_token"))


def truth(server, entity, realm=REALM) -> dict[str, str]:
    return {k: v["SyncToken"] for k, v in server.state.records(realm, entity).items()}


def assert_equal_to_truth(server, realm=REALM):
    """Every registered entity's live rows equal the sandbox's, Id for Id and SyncToken."""
    for name, spec in ENTITIES.items():
        assert local(spec.model, realm) == truth(server, name, realm), name


@pytest.mark.usefixtures("qbo_ordering")  # ties by Id or shuffled on every request
def test_bootstrap_then_full_sync_matches_the_sandbox_record_for_record(sandbox, capsys):
    bootstrap(sandbox)
    out = capsys.readouterr().out
    assert f"Stored tokens for realm {REALM}" in out
    assert "reconnect required by" in out
    token = Token.objects.get(realm_id=REALM)
    assert token.refresh_token_hard_expires_at is not None
    call_command("runsync", "--once", "--no-progress")
    assert_equal_to_truth(sandbox)
    inactive = [k for k, v in sandbox.state.records(REALM, "Customer").items() if not v["Active"]]
    assert inactive, "the seed should include inactive customers"
    assert not Customer.objects.filter(qb_id__in=inactive, active=True).exists()
    row = Invoice.objects.get(qb_id="1")
    source = sandbox.state.records(REALM, "Invoice")["1"]
    assert row.raw_data == source
    assert str(row.total_amt) == f"{source['TotalAmt']:.2f}"
    assert row.customer_qb_id == source["CustomerRef"]["value"]
    states = SyncState.objects.filter(realm_id=REALM)
    assert {s.status for s in states} == {"success"}


@pytest.mark.usefixtures("qbo_ordering")
def test_incremental_cycle_picks_up_edits_new_records_and_deactivations(sandbox):
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    state = sandbox.state
    state.clock.advance(seconds=120)
    state.update(REALM, "Customer", "3", {"DisplayName": "Renamed Ltd"})
    state.deactivate(REALM, "Customer", "4")
    created = state.create(
        REALM,
        "Invoice",
        {
            "CustomerRef": {"value": "3"},
            "Line": [
                {
                    "Amount": 10.0,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
    )
    state.bulk_touch(REALM, "Invoice", [str(i) for i in range(1, 120)])
    state.reset_stats()
    call_command("runsync", "--once", "--no-progress")
    assert_equal_to_truth(sandbox)
    assert Customer.objects.get(qb_id="3").display_name == "Renamed Ltd"
    assert Customer.objects.get(qb_id="4").active is False
    assert Invoice.objects.filter(qb_id=created["Id"]).exists()


def test_idle_incremental_cycle_costs_one_request_per_entity(sandbox):
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    sandbox.state.reset_stats()
    call_command("runsync", "--once", "--no-progress")
    facts = sum(1 for s in ENTITIES.values() if s.kind == COMPANY)  # one read each
    assert sandbox.state.stats()["api_requests"][REALM]["total"] <= 2 + facts


def test_expired_access_token_mid_sync_is_refreshed_and_rotation_is_stored(sandbox):
    bootstrap(sandbox)
    sandbox.state.clock.advance(seconds=3600 + 5)  # access token now expired
    before = Token.objects.get(realm_id=REALM).refresh_token
    call_command("runsync", "--once", "--no-progress")
    assert_equal_to_truth(sandbox)
    assert Token.objects.get(realm_id=REALM).refresh_token != before
    assert sandbox.state.stats()["token_requests"]["refresh_token"] == 1


def test_unexpected_401_mid_backfill_refreshes_once_and_finishes(sandbox):
    bootstrap(sandbox)
    sandbox.state.inject_fault("401", count=1, path_contains="query")
    call_command("runsync", "--once", "--no-progress")
    assert_equal_to_truth(sandbox)
    assert sandbox.state.stats()["token_requests"]["refresh_token"] == 1


def test_throttling_and_server_errors_mid_sync_end_correct(sandbox, settings):
    settings.QB_MAX_RETRIES = 6  # five faults in a row on one call, then success
    bootstrap(sandbox)
    sandbox.state.inject_fault("429", count=2)
    sandbox.state.inject_fault("503", count=1)
    sandbox.state.inject_fault("truncated", count=1)
    sandbox.state.inject_fault("reset", count=1)
    call_command("runsync", "--once", "--no-progress")
    assert_equal_to_truth(sandbox)


def test_persistent_server_errors_fail_the_entity_and_keep_the_cursor(sandbox, settings):
    settings.QB_MAX_RETRIES = 1
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    cursors = dict(SyncState.objects.values_list("object_type", "cursor"))
    sandbox.state.clock.advance(seconds=60)
    sandbox.state.inject_fault("500", count=2, path_contains="cdc")
    by_cdc = {s.name for s in ENTITIES.values() if s.cdc and s.kind != COMPANY}
    n = len(ENTITIES)
    with pytest.raises(CommandError, match=f"{len(by_cdc)} of {n} syncs failed"):
        call_command("runsync", "--once", "--no-progress")
    for state in SyncState.objects.all():
        if state.object_type not in by_cdc:  # company facts, scheduled reconciles: not CDC
            assert state.status == "success", state
            continue
        assert state.status == "failure"
        assert "HTTP 500" in state.error_message
        assert state.cursor == cursors[state.object_type]


def test_revoked_refresh_token_fails_with_reauth_message_and_keeps_rows(sandbox):
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    rows = Invoice.objects.count()
    sandbox.state.clock.advance(seconds=3700)
    sandbox.state.inject_fault("token_invalid_grant", count=1)
    with pytest.raises(CommandError, match="bootstrap_tokens"):
        call_command("runsync", "--once", "--no-progress")
    assert Token.objects.get(realm_id=REALM).needs_reauth
    assert Invoice.objects.count() == rows
    failed = SyncState.objects.filter(realm_id=REALM, status="failure")
    assert failed.count() == len(ENTITIES)
    assert all("bootstrap_tokens" in s.error_message for s in failed)
    # Re-running bootstrap_tokens clears the flag and syncing resumes.
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    assert not Token.objects.get(realm_id=REALM).needs_reauth


def test_bootstrap_with_a_used_code_fails_clearly(sandbox):
    code = sandbox.state.issue_authorization_code(REALM)
    call_command("bootstrap_tokens", code=code, realm_id=REALM)
    with pytest.raises(CommandError, match="invalid_grant"):
        call_command("bootstrap_tokens", code=code, realm_id=REALM)


@pytest.mark.parametrize("synced_before", [False, True])
def test_nothing_listening_at_the_api_url_fails_at_once_naming_the_setting(
    sandbox, settings, capsys, caplog, synced_before
):
    """Connection refused is a wrong URL (QBO never refuses): no retries, one message
    naming QB_API_BASE_URL, printed once for the realm rather than once per entity."""
    bootstrap(sandbox)
    if synced_before:
        call_command("runsync", "--once", "--no-progress")  # the next cycle goes through CDC
    settings.QB_MAX_RETRIES = 5
    settings.QB_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    capsys.readouterr()
    caplog.clear()
    with pytest.raises(CommandError) as failure:
        call_command("runsync", "--once", "--no-progress")
    err = capsys.readouterr().err
    assert "FAILED" not in err, err  # said once, by the closing error
    message = str(failure.value)
    assert message.count("QB_API_BASE_URL (now http://127.0.0.1:9)") == 1, message
    assert "every entity" in message
    assert not [r for r in caplog.records if "retry" in r.getMessage()]
    assert len([r for r in caplog.records if "sync failed" in r.getMessage()]) == 1
    assert SyncState.objects.filter(status="failure").count() == len(ENTITIES)
