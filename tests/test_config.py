"""Bad configuration stops a command with one clear line, not a traceback."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from quickbooks_sync import exitcodes
from tests import commands


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return commands.manage(*args, env=commands.isolated_env(**env))


@pytest.mark.parametrize(
    ("name", "value", "expect"),
    [
        ("QB_MAX_RESULTS", "5000", "from 1 to 1000"),
        ("QB_MAX_RESULTS", "lots", "whole number"),
        ("SYNC_INTERVAL_MINUTES", "abc", "SYNC_INTERVAL_MINUTES='abc' is invalid"),
        ("QB_ENVIRONMENT", "staging", "sandbox, production"),
        ("DATABASE_URL", "mysq://u:hunter2@h/db", "expected sqlite"),
        ("QB_API_BASE_URL", "ftp://x", "http:// or https://"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL"),
        ("QB_TOKEN_ENCRYPTION_KEY", "not-a-key", "not a valid Fernet key"),
        ("QB_ENTITIES", "Customer,Custard", "unknown entity Custard"),
        ("QB_ANALYTICS_SCHEMA", "Quick Books", "empty to switch it off"),
        ("QB_ANALYTICS_REALM", "12;drop", "realm id"),
    ],
)
def test_invalid_setting_gives_one_line_and_exit_4(name, value, expect):
    result = manage("check", **{name: value})
    assert result.returncode == 4  # exitcodes.CONFIGURATION
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and expect in lines[0]
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr


def test_analytics_realm_and_per_realm_schemas_are_exclusive():
    result = manage("check", QB_ANALYTICS_PER_REALM="true", QB_ANALYTICS_REALM="123")
    assert result.returncode == exitcodes.CONFIGURATION
    assert "QB_ANALYTICS_PER_REALM=true and QB_ANALYTICS_REALM are exclusive" in result.stderr


def test_environment_overrides_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QB_MAX_RESULTS=5000\n")
    clean = commands.isolated_env(drop=("QB_",), QBO_SYNC_ENV_FILE=env_file)
    bad = commands.manage("check", env=clean)
    assert bad.returncode == 4 and "QB_MAX_RESULTS" in bad.stderr
    clean["QB_MAX_RESULTS"] = "500"
    good = commands.manage("check", env=clean)
    assert good.returncode == 0, good.stderr


def test_unreachable_api_is_one_clear_line(tmp_path):
    db = tmp_path / "t.db"
    env = {
        "DATABASE_URL": f"sqlite:///{db}",
        "QB_API_BASE_URL": "http://127.0.0.1:9",
        "QB_TOKEN_ENCRYPTION_KEY": "",
        "QB_MAX_RETRIES": "0",
    }
    assert manage("migrate", "-v", "0", **env).returncode == 0
    result = manage("runsync", "--once", **env)
    assert result.returncode != 0
    assert "bootstrap_tokens" in result.stderr  # no realm yet: says what to do
    assert "Traceback" not in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECURE="true",
        DJANGO_ALLOWED_HOSTS="sync.example.com",
        DJANGO_SECRET_KEY="k9$Jq2vL!x7Pz4#wR8mT1@cF6^bN3&hY5*eU0(sD)gA_iO-pK+lM=",
    )
    assert result.returncode == 0, result.stderr


def test_missing_secret_key_fails_check_deploy():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE="true", DJANGO_SECRET_KEY=None
    )
    assert result.returncode == exitcodes.CONFIGURATION
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_missing_secret_key_refuses_to_start_without_debug():
    result = manage("check", DJANGO_SECRET_KEY=None)
    assert result.returncode == exitcodes.CONFIGURATION
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DJANGO_SECRET_KEY is not set" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


SHOW_KEY_DIGEST = (
    "import hashlib; from django.conf import settings; "
    "print(hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest())"
)


def test_debug_without_a_key_generates_one_per_checkout_once(tmp_path):
    key_file = tmp_path / "secret-key"
    env = {"DJANGO_SECRET_KEY": None, "DJANGO_DEBUG": "true", "DJANGO_SECRET_KEY_FILE": key_file}
    first = manage("shell", "-v", "0", "-c", SHOW_KEY_DIGEST, **env)
    assert first.returncode == 0, first.stderr
    key = key_file.read_text().strip()
    assert len(key) >= 50 and not key.startswith("django-insecure")
    assert key_file.stat().st_mode & 0o077 == 0, "readable by others"
    assert hashlib.sha256(key.encode()).hexdigest() == first.stdout.strip()
    again = manage("shell", "-v", "0", "-c", SHOW_KEY_DIGEST, **env)
    assert again.stdout == first.stdout, "the key must survive restarts"
    other = manage(
        "shell", "-c", SHOW_KEY_DIGEST, **{**env, "DJANGO_SECRET_KEY_FILE": tmp_path / "b"}
    )
    assert other.stdout != first.stdout, "no two checkouts share a key"


def test_debug_together_with_secure_is_refused():
    result = manage("check", DJANGO_DEBUG="true", DJANGO_SECURE="true")
    assert result.returncode == exitcodes.CONFIGURATION
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DJANGO_DEBUG" in lines[0] and "DJANGO_SECURE" in lines[0]


def test_every_secret_in_env_example_takes_a_fernet_key():
    """.env.example names every secret with KEY, SECRET or TOKEN (what error pages mask), and
    the one generator it documents (a Fernet key) gives a valid value for each of them."""
    from cryptography.fernet import Fernet

    names = [
        line.split("=", 1)[0]
        for line in (commands.ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ]
    secrets = [n for n in names if n.endswith(("KEY", "SECRET", "TOKEN"))]
    assert {"DJANGO_SECRET_KEY", "QB_CLIENT_SECRET", "QB_TOKEN_ENCRYPTION_KEY"} <= set(secrets)
    assert "QB_WEBHOOK_VERIFIER_TOKEN" in secrets
    result = manage("check", **{name: Fernet.generate_key().decode() for name in secrets})
    assert result.returncode == 0, result.stderr
