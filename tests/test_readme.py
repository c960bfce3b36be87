"""The README's examples run: its Python blocks against synced sandbox data, its shell
steps for a real company against the bundled sandbox.

Why: a README example that fails (a missing import, a placeholder realm that silently
returns nothing) is the first thing a newcomer meets. Every ```python block is executed;
every expression in it is evaluated (querysets forced), and one that filters on a realm
must find rows. The "real company" shell block is run step by step with the sandbox's
settings and a fresh code in place of the placeholders; the steps this test cannot run
are named in ``NOT_RUN`` with the reason, so a new step fails here until it is handled.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from pathlib import Path

import pytest
from django.db.models import QuerySet

from quickbooks_sync.sandbox import DEFAULT_REALM
from tests import commands
from tests.test_e2e import bootstrap

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = [
    (lang, body, README[: m.start()].count("\n") + 1)
    for m in re.finditer(r"```(\w*)\n(.*?)```", README, re.S)
    for lang, body in [(m.group(1), m.group(2))]
]
PYTHON = [(body, line) for lang, body, line in BLOCKS if lang == "python"]

# Shell lines that are not run here, and why (matched as prefixes of the command).
NOT_RUN = {
    "make demo": "the demo itself (the Quick start's first command) is run by hand/CI setup",
    "make test": "this very suite",
    "make install": "the environment this test already runs in",
    "cp .env.example .env": "the settings come from the sandbox here",
    "manage.py runsync --loop": "runs until stopped (tests/test_workers.py covers --loop)",
}


def test_the_readme_has_the_examples_this_test_runs():
    assert len(PYTHON) >= 2
    assert any("bootstrap_tokens --code <code>" in body for _, body, _ in BLOCKS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("code", "line"), PYTHON, ids=[f"README:{n}" for _, n in PYTHON])
def test_python_examples_run_on_synced_data(sandbox, code, line):
    from django.core.management import call_command

    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    namespace: dict = {}
    for node in ast.parse(code).body:
        source = ast.get_source_segment(code, node)
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), f"README:{line}", "eval"), namespace)  # noqa: S307 - our own README
            rows = list(value) if isinstance(value, QuerySet | list) else value
            if "realm_id=" in source:
                assert rows, f"README line {line}: {source.strip()[:80]} found nothing"
        else:
            exec(compile(ast.Module([node], []), f"README:{line}", "exec"), namespace)  # noqa: S102


def _real_company_steps() -> list[str]:
    block = next(body for _, body, _ in BLOCKS if "bootstrap_tokens --code <code>" in body)
    steps = []
    for raw in block.splitlines():
        command = raw.split("#", 1)[0].strip()
        if command:
            steps.append(command)
    return steps


@pytest.mark.django_db
def test_real_company_steps_run_against_the_sandbox(sandbox, tmp_path):
    from cryptography.fernet import Fernet

    env = commands.isolated_env(
        drop=("QB_", "DATABASE"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'readme.db'}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        QB_TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        **commands.sandbox_env(sandbox),
    )
    ran = []
    for step in _real_company_steps():
        reason = next((why for prefix, why in NOT_RUN.items() if prefix in step), None)
        if reason:
            continue
        assert step.startswith(".venv/bin/python manage.py "), f"unknown README step: {step}"
        args = shlex.split(step)[2:]
        args = [
            sandbox.state.issue_authorization_code(DEFAULT_REALM)
            if a == "<code>"
            else DEFAULT_REALM
            if a == "<realm>"
            else a
            for a in args
        ]
        result = commands.manage(*args, env=env, timeout=300)
        assert result.returncode == 0, f"README step {step!r}: {result.stderr[-2000:]}"
        ran.append(args[0])
    assert ran == ["migrate", "collectstatic", "bootstrap_tokens", "runsync", "verifysync"]
    assert sys.executable  # the steps ran with this interpreter (commands.manage)
