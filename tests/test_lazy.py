"""Modules executed on first use (:func:`ustref._lazy.lazy_module`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ustref._lazy import lazy_module

_PROBE = """
import sys
from ustref._lazy import lazy_module
module = lazy_module("ustref.protocol.relayd")
assert "ustref.protocol.relayd" in sys.modules
assert "construct" not in sys.modules  # bound, not executed (it builds grammars)
import ustref.protocol
assert ustref.protocol.relayd is module
from ustref.protocol import relayd
assert relayd is module
assert "construct" not in sys.modules
assert module.LttcommRelaydCommand.RELAYD_ADD_STREAM.value == 1  # executed now
assert "construct" in sys.modules
assert sys.modules["ustref.protocol.relayd"].LttcommRelaydCommand is module.LttcommRelaydCommand
"""


def test_a_lazy_module_runs_on_its_first_attribute() -> None:
    """In a fresh interpreter (this one may hold the module already)."""
    subprocess.run([sys.executable, "-c", _PROBE], check=True)


def test_an_imported_module_is_returned_as_it_is() -> None:
    import ustref.errors

    assert lazy_module("ustref.errors") is ustref.errors


def test_a_missing_module_fails_at_once() -> None:
    with pytest.raises(ModuleNotFoundError):
        lazy_module("ustref.no_such_module")
