"""One documented way to point a checkout at the bundled sandbox (``.env`` lines + code)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from quickbooks_sync.models import Token
from quickbooks_sync.sandbox import DEFAULT_REALM


@pytest.mark.django_db(transaction=True)
def test_print_env_gives_working_settings_and_a_fresh_code(sandbox, capsys, settings):
    call_command("qbo_sandbox", "--print-env", "--url", sandbox.url)
    out = capsys.readouterr().out
    lines = dict(
        line.split("=", 1) for line in out.splitlines() if line.startswith("QB_") and "=" in line
    )
    assert lines["QB_API_BASE_URL"] == sandbox.url
    assert lines["QB_OAUTH_TOKEN_URL"] == sandbox.token_url
    assert lines["QB_AUTHORIZE_URL"] == sandbox.authorize_url
    assert lines["QB_OAUTH_REVOKE_URL"] == sandbox.revoke_url
    assert lines["QB_REALM_ID"] == DEFAULT_REALM
    code = out.split("bootstrap_tokens --code ")[1].split()[0]
    # The printed settings and code work as printed.
    settings.QB_API_BASE_URL = lines["QB_API_BASE_URL"]
    settings.QB_OAUTH_TOKEN_URL = lines["QB_OAUTH_TOKEN_URL"]
    settings.QB_CLIENT_ID, settings.QB_CLIENT_SECRET = (
        lines["QB_CLIENT_ID"],
        lines["QB_CLIENT_SECRET"],
    )
    call_command("bootstrap_tokens", code=code, realm_id=DEFAULT_REALM)
    assert Token.objects.filter(realm_id=DEFAULT_REALM).exists()


def test_print_env_without_a_running_sandbox_says_how_to_start_one():
    with pytest.raises(CommandError, match=r"start one with `manage\.py qbo_sandbox`"):
        call_command("qbo_sandbox", "--print-env", "--url", "http://127.0.0.1:9")
