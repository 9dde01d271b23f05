"""A consumer that exits at once fails the run in seconds, before any LTTng script."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest

from ustref.cli import main
from ustref.conformance import cli, preflight
from ustref.conformance.run import fit, progress_line


def _fake(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "consumer"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_consumer_that_exits_at_once_fails_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer = _fake(tmp_path, "echo 'cannot start' >&2\nexit 1\n")

    def no_tree(*args: object) -> None:
        raise AssertionError("the upstream tree must not be prepared, nor a script run")

    monkeypatch.setattr(cli, "prepare_tree", no_tree)
    monkeypatch.setattr(
        cli,
        "check_consumer_connects",
        functools.partial(preflight.check_consumer_connects, lock_path=tmp_path / "lock"),
    )
    started = time.monotonic()
    status = main(
        ["conformance", "upstream", "--consumer", str(consumer), "--build-dir", str(tmp_path)]
    )
    assert status == 1
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert "the consumer exited before connecting (exit status 1)" in err
    assert "cannot start" in err


def test_consumer_that_connects_passes(tmp_path: Path) -> None:
    """A stand-in that connects its error socket (the argument after --consumerd-err-sock)."""
    consumer = _fake(
        tmp_path,
        'while [ "$1" != --consumerd-err-sock ]; do shift; done\n'
        'exec python3 -c "import socket,sys,time; s=socket.socket(socket.AF_UNIX); '
        's.connect(sys.argv[1]); time.sleep(30)" "$2"\n',
    )
    assert preflight.check_consumer_connects(str(consumer), lock_path=tmp_path / "lock")


def test_silent_consumer_is_let_through_after_the_timeout(tmp_path: Path) -> None:
    consumer = _fake(tmp_path, "exec sleep 30\n")
    started = time.monotonic()
    connected = preflight.check_consumer_connects(
        str(consumer), timeout=0.5, lock_path=tmp_path / "lock"
    )
    assert not connected
    assert time.monotonic() - started < 10


def test_progress_line_fits_one_terminal_line() -> None:
    line = progress_line("[3/36]", "regression/ust/test_event_basic", "12 points, 40 s")
    assert line == "[3/36] regression/ust/test_event_basic: 12 points, 40 s"
    assert fit(line, 20) == "[3/36] regression/u…"
    assert len(fit(line, 20)) == 20
    assert fit(line, 200) == line
