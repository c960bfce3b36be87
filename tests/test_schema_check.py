"""Commands on a database that ``migrate`` has not set up: stop first, say how to fix it.

The trap: ``bootstrap_tokens`` before ``migrate`` exchanged the one-time authorization
code, failed to store it ("no such table"), and the retry got ``invalid_grant``: the code
was burnt. Safeguard: ``quickbooks_sync.schema.MigratedCommand`` checks for unapplied
migrations before any command of ours acts.
"""

from __future__ import annotations

import pytest

from quickbooks_sync import exitcodes
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from tests.reliability.harness import ScratchDB, command_env, manage, migrate

pytestmark = pytest.mark.django_db


def test_bootstrap_tokens_before_migrate_does_not_burn_the_code(tmp_path):
    with (
        SandboxServer(SandboxConfig(customers=2, invoices=2)) as server,
        ScratchDB("premigrate", tmp_path) as db,
    ):
        code = server.state.issue_authorization_code(DEFAULT_REALM)
        args = ("bootstrap_tokens", "--code", code, "--realm-id", DEFAULT_REALM)
        args += ("--redirect-uri", "http://localhost/cb")
        env = command_env(db, server)
        early = manage(*args, env=env)
        assert early.returncode == exitcodes.DATABASE, early.stderr
        assert "run `manage.py migrate` first" in early.stderr
        assert "Traceback" not in early.stderr
        migrate(db)
        again = manage(*args, env=env)  # the same code: it was never sent to Intuit
        assert again.returncode == 0, again.stderr
        assert f"Stored tokens for realm {DEFAULT_REALM}" in again.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("runsync", "--once", "--no-progress"),
        ("runsync", "--loop", "--no-progress"),
        ("verifysync",),
        ("syncstatus",),
        ("rotate_token_key",),
    ],
)
def test_every_command_says_run_migrate_on_an_empty_database(tmp_path, args):
    with ScratchDB("empty", tmp_path) as db:
        result = manage(*args, env=command_env(db), timeout=120)
    assert result.returncode == exitcodes.DATABASE, (result.stdout, result.stderr)
    assert "run `manage.py migrate` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_table_anywhere_says_run_migrate(tmp_path):
    """A table dropped behind migrate's back (or a command we did not write) still ends
    with the fix, through manage.py's database-error handler."""
    with ScratchDB("dropped", tmp_path) as db:
        migrate(db)
        with db.connect() as conn:
            conn.execute(
                "DROP TABLE auth_user CASCADE" if db.kind != "sqlite" else "DROP TABLE auth_user"
            )
            if db.kind == "sqlite":
                conn.commit()
        result = manage("changepassword", "nobody", env=command_env(db))
    assert result.returncode == exitcodes.DATABASE, result.stderr
    assert "run `manage.py migrate`" in result.stderr
    assert "Traceback" not in result.stderr
