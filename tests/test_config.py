"""Bad configuration stops a command with one clear line, not a traceback."""

from __future__ import annotations

import subprocess

import pytest

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
        ("QB_ANALYTICS_SCHEMA", "Quick Books", "empty to switch it off"),
        ("QB_ANALYTICS_REALM", "12;drop", "realm id"),
    ],
)
def test_invalid_setting_gives_one_line_and_exit_2(name, value, expect):
    result = manage("check", **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and expect in lines[0]
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr


def test_analytics_realm_and_per_realm_schemas_are_exclusive():
    result = manage("check", QB_ANALYTICS_PER_REALM="true", QB_ANALYTICS_REALM="123")
    assert result.returncode == 2
    assert "QB_ANALYTICS_PER_REALM=true and QB_ANALYTICS_REALM are exclusive" in result.stderr


def test_environment_overrides_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QB_MAX_RESULTS=5000\n")
    clean = commands.isolated_env(drop=("QB_",), QBO_SYNC_ENV_FILE=env_file)
    bad = commands.manage("check", env=clean)
    assert bad.returncode == 2 and "QB_MAX_RESULTS" in bad.stderr
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


def test_default_secret_key_fails_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE="true")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
