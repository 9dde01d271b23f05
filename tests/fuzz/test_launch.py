"""The fuzzer's sandbox keeps in view what a consumer needs under ``/tmp``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import ustref
from ustref.fuzz.launch import kept_under_tmp


def test_nothing_is_kept_for_a_consumer_outside_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "prefix", "/usr")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    monkeypatch.setattr(ustref, "__file__", "/usr/lib/python3/dist-packages/ustref/__init__.py")
    assert kept_under_tmp(["/usr/lib/lttng-consumerd"]) == []


def test_a_checkout_under_tmp_is_kept_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI clone in /tmp/ci (its tox virtualenv, its editable sources): the fresh
    tmpfs over /tmp would hide the console script, and the consumer would not start."""
    monkeypatch.setattr(sys, "prefix", "/tmp/ci/.tox/integration")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    monkeypatch.setattr(ustref, "__file__", "/tmp/ci/ustref/__init__.py")
    kept = kept_under_tmp(["/tmp/ci/.tox/integration/bin/ustref-consumerd"])
    assert kept == ["/tmp/ci"]
    assert all(Path(top).parent == Path("/tmp") for top in kept)
