"""Shared pytest fixtures: the real LTTng stack (session daemon, sample apps).

Tests that need root LTTng carry ``@pytest.mark.lttng``. Where the stack cannot
run (not root, or lttng-tools/gcc missing) they are skipped, except under CI
(``CI`` or ``USTREF_REQUIRE_LTTNG`` set, see :mod:`tests.guard`), where each of
them fails at set-up with the reason instead: install the stack with
``scripts/setup-lttng.sh``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.guard import skip_or_fail
from ustref.lttng import APPS, SessionDaemon, build_app

_REQUIRED_TOOLS = ("lttng-sessiond", "lttng", "babeltrace2", "gcc")


def lttng_unavailable_reason() -> str | None:
    """Why the real LTTng stack cannot run here, or ``None`` if it can."""
    if os.geteuid() != 0:
        return "needs root (a root lttng-sessiond)"
    missing = [tool for tool in _REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}: run scripts/setup-lttng.sh"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lttng: needs the real LTTng stack (root session daemon, liblttng-ust)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("lttng") is None:
        return
    reason = lttng_unavailable_reason()
    if reason is not None:
        skip_or_fail(f"real LTTng stack unavailable: {reason}")


@pytest.fixture
def sessiond(tmp_path: Path) -> Iterator[SessionDaemon]:
    """A started root session daemon, stopped (with its consumer daemons)
    after the test, pass or fail. Its log and LTTNG_HOME are under
    ``tmp_path / "sessiond"``."""
    with SessionDaemon(workdir=tmp_path / "sessiond") as daemon:
        yield daemon


@pytest.fixture(scope="session")
def app_builder(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``app_builder(name)`` compiles sample app ``name`` of ``tests/apps``
    (once per test session) and returns the binary's path."""
    out_dir = tmp_path_factory.mktemp("apps")

    def build(name: str) -> Path:
        return build_app(name, out_dir)

    return build


@pytest.fixture(scope="session")
def sample_apps(app_builder: Callable[[str], Path]) -> dict[str, Path]:
    """Every sample app, built: ``{"tracef_app": Path, …}``."""
    return {name: app_builder(name) for name in APPS}
