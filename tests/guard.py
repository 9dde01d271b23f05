"""Skips that turn into failures in CI.

A test that cannot run here (no root, no LTTng daemon or tool, no
liblttng-ust-ctl, no C compiler) is skipped on a developer's machine — but in
CI a skip would hide a broken stack behind a green run. With
``USTREF_REQUIRE_LTTNG`` or ``CI`` set to a non-empty value other than
``0``/``false``/``no``, :func:`skip_or_fail` fails the test instead. tox passes
both variables into every environment (``passenv`` in ``tox.ini``); tox 4
would otherwise drop them.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REQUIRE_VARIABLES = ("USTREF_REQUIRE_LTTNG", "CI")
_FALSE = {"", "0", "false", "no", "off"}


def required() -> bool:
    """Whether every skip for a missing daemon, library, tool or privilege must fail."""
    return any(os.environ.get(name, "").strip().lower() not in _FALSE for name in REQUIRE_VARIABLES)


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the running test for ``reason`` — or fail it when :func:`required`."""
    if required():
        pytest.fail(
            f"{reason} (a skip is a failure when {' or '.join(REQUIRE_VARIABLES)} is set: "
            "install the stack with scripts/setup-lttng.sh)",
            pytrace=False,
        )
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of tool ``name`` on PATH, or skip (fail in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"{name} not installed")
    return path
