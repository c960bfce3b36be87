"""A configuration failure mid-run (token key missing or changed) is a failure everywhere.

Before: the sync raised through ``sync_claimed_realm``, which released the realm as
"(ok)", left ``Company.consecutive_failures`` at 0 and wrote "see the worker log" into
``SyncState``. Safeguards: ``runner.sync_entity``/``sync_realm`` record
``ImproperlyConfigured`` as a realm-wide failure with its own message, and
``sync_claimed_realm`` never releases a realm as ok after an exception.
"""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from quickbooks_sync.models import Company, SyncState
from quickbooks_sync.sandbox import DEFAULT_REALM
from quickbooks_sync.sync.runner import run_cycle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(sandbox):
    code = sandbox.state.issue_authorization_code(DEFAULT_REALM)
    call_command(
        "bootstrap_tokens", code=code, realm_id=DEFAULT_REALM, redirect_uri="http://localhost/cb"
    )
    call_command("runsync", "--once", "--no-progress")  # a first, healthy cycle
    return sandbox


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ([Fernet.generate_key().decode()], "cannot be decrypted with QB_TOKEN_ENCRYPTION_KEY"),
        ([], "QB_TOKEN_ENCRYPTION_KEY is not set"),
    ],
    ids=["changed-key", "missing-key"],
)
def test_a_token_key_problem_fails_the_cycle_everywhere(
    connected, settings, caplog, capsys, client, key, reason
):
    settings.QB_TOKEN_ENCRYPTION_KEY = key
    with caplog.at_level(logging.INFO):
        result = run_cycle()

    assert not result.ok
    assert result.outcomes and all(reason in o.error for o in result.outcomes)
    released = [r.getMessage() for r in caplog.records if "released realm" in r.getMessage()]
    assert released and released[-1].endswith("(failed)"), released

    company = Company.objects.get(realm_id=DEFAULT_REALM)
    assert company.consecutive_failures == 1
    assert reason in company.last_error
    for state in SyncState.objects.filter(realm_id=DEFAULT_REALM):
        assert state.status == SyncState.Status.FAILURE
        assert reason in state.error_message and "worker log" not in state.error_message

    with pytest.raises(CommandError) as failing:
        call_command("syncstatus", "--json")
    assert failing.value.returncode == 1
    assert reason in capsys.readouterr().out

    admin = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-123456789")
    client.force_login(admin)
    page = client.get("/admin/quickbooks_sync/syncstate/").content.decode()
    assert reason in page


def test_runsync_once_reports_the_reason_and_fails(connected, settings):
    settings.QB_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("runsync", "--once", "--no-progress")
