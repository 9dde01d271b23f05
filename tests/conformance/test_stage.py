"""The staged ustref-consumerd of the ``user`` scripts (ustref/conformance/stage.py)."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from tests.guard import skip_or_fail
from ustref.conformance.report import ExpectedConsumer
from ustref.conformance.stage import (
    _requirement_closure,
    _top_levels,
    runs_as,
    stage_consumer,
    top_level_modules,
)
from ustref.consumerd.cli import VERSION


def test_the_copied_modules_are_ustref_and_what_it_requires() -> None:
    modules = top_level_modules()
    assert "ustref" in modules
    assert "construct" in modules
    assert "construct_typed" in modules  # construct-typing's package
    assert "pytest" not in modules  # a test extra, not a requirement
    assert "tests" not in modules  # an egg-info's SOURCES.txt is not what it installs
    # Every installed requirement brings its import names (Python 3.10's
    # packages_distributions misses wheels without top_level.txt).
    for name in _requirement_closure("ustref"):
        assert _top_levels(name) <= set(modules)
    assert {"typing_extensions", "arrow"} <= set(modules)  # construct-typing's


def test_an_unprivileged_user_runs_the_staged_consumer(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        skip_or_fail("staging for another user needs root")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        skip_or_fail("no user 'nobody' on this machine")
    build = Path("/tmp") / f"ustref-stage-test-{os.getpid()}"
    build.mkdir(mode=0o755)
    try:
        expected = ExpectedConsumer("ustref", "/nonexistent", frozenset(), frozenset())
        staged = stage_consumer(build, nobody, expected)
        assert staged.label == "ustref"
        assert staged.path == str(build / "consumer" / "ustref-consumerd")
        done = runs_as(nobody, [staged.path, "--version"])
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == VERSION
        # The process the session daemon starts is recognised as the requested one.
        interpreter = Path(staged.path).read_text().splitlines()[0][2:]
        assert os.path.realpath(interpreter) in staged.exes
    finally:
        shutil.rmtree(build, ignore_errors=True)


@pytest.mark.parametrize("argv", [["/nonexistent/python", "-c", "pass"]])
def test_runs_as_reports_a_failure_instead_of_raising(argv: list[str]) -> None:
    me = pwd.getpwuid(os.geteuid())
    done = runs_as(me, argv)
    assert done.returncode != 0
    assert done.stderr
