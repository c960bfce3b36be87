"""The hashed lock files cover what pyproject.toml declares (``make lock`` refreshes them)."""

from __future__ import annotations

import re
import tomllib

from tests.commands import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    assert "--hash=sha256:" in text
    return {
        m["name"].lower(): m["version"]
        for m in re.finditer(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+) \\$", text, re.M)
    }


def test_runtime_and_dev_locks_pin_every_declared_dependency_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    for requirement in project["dependencies"]:
        assert _name(requirement) in runtime, f"{requirement} missing: run `make lock`"
        assert _name(requirement) in dev
    for requirement in project["optional-dependencies"]["dev"]:
        assert _name(requirement) in dev, f"{requirement} missing: run `make lock`"
    shared = set(runtime) & set(dev)
    assert all(runtime[name] == dev[name] for name in shared), "the two locks disagree"
