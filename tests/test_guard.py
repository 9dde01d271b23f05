"""The CI guard fires: with ``USTREF_REQUIRE_LTTNG`` set, a hidden tool, daemon or
library fails the run instead of skipping (tests/guard.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.guard import REQUIRE_VARIABLES, required

REPO = Path(__file__).resolve().parent.parent


def run_pytest(
    tmp_path: Path, node: str, *, require: bool, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one test of this suite in a child pytest whose PATH is an empty directory
    (every tool hidden), with or without the guard variable."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in REQUIRE_VARIABLES}
    env["PATH"] = str(empty)
    env.update(extra_env or {})
    if require:
        env["USTREF_REQUIRE_LTTNG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", node],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("node", "reason", "extra_env"),
    [
        # A tool (babeltrace2) missing from PATH.
        ("tests/test_lttng_harness.py::test_read_events_errors", "babeltrace2 not installed", {}),
        # The daemons and tools of an lttng-marked test (tests/conftest.py).
        (
            "tests/integration/test_demo.py",
            "real LTTng stack unavailable",
            {},
        ),
        # liblttng-ust-ctl unusable: no cached shim and no C compiler (tests/ring/conftest.py).
        (
            "tests/ring/test_differential.py::test_snapshot_statuses_agree",
            "liblttng-ust-ctl.so.5",
            {"CC": "/nonexistent/cc"},
        ),
    ],
)
def test_guard_turns_a_hidden_dependency_into_a_failure(
    tmp_path: Path, node: str, reason: str, extra_env: dict[str, str]
) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), **extra_env}
    relaxed = run_pytest(tmp_path, node, require=False, extra_env=env)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "skipped" in relaxed.stdout and "failed" not in relaxed.stdout
    assert reason in relaxed.stdout
    strict = run_pytest(tmp_path, node, require=True, extra_env=env)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    # A failure in the test body counts as "failed", one in set-up as "error".
    assert re.search(r"\d+ (failed|error)", strict.stdout), strict.stdout
    assert "skipped" not in strict.stdout
    assert reason in strict.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("yes", True), ("", False), ("0", False), ("false", False)],
)
def test_required_reads_both_variables(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    for name in REQUIRE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not required()
    for name in REQUIRE_VARIABLES:
        monkeypatch.setenv(name, value)
        assert required() is expected
        monkeypatch.delenv(name)


def test_tox_passes_the_guard_variables_into_every_env() -> None:
    """tox 4 drops the caller's environment unless ``passenv`` names a variable; every
    env inherits ``[testenv]``'s ``passenv`` unless it overrides it."""
    import configparser

    tox = configparser.ConfigParser()
    tox.read(REPO / "tox.ini")
    base = tox["testenv"]["passenv"].split()
    for name in REQUIRE_VARIABLES:
        assert name in base
    for section in tox.sections():
        if section.startswith("testenv:") and "passenv" in tox[section]:
            assert set(REQUIRE_VARIABLES) <= set(tox[section]["passenv"].split()), section
