"""``ustref capture`` sub-commands that need no process of their own."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from ustref.capture import CaptureRecord, Direction, Socket, write_capture_file
from ustref.capture.cli import capture_main, describe_record
from ustref.capture.launch import capture_env, package_root, sessiond_args, wrapper_path


def test_wrapper_path_is_the_shipped_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert capture_main(["wrapper-path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    shipped = package_root() / "ustref" / "data" / "bin" / "ustref-capture-consumerd"
    assert printed == wrapper_path() == shipped
    assert os.access(printed, os.X_OK)
    assert sessiond_args() == [f"--consumerd64-path={printed}"]


def test_env_prints_the_sessiond_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x y.jsonl"
    assert capture_main(["env", "-o", str(out), "--consumerd", "/bin/c"]) == 0
    printed = dict(
        shlex.split(line)[0].split("=", 1) for line in capsys.readouterr().out.splitlines()
    )
    assert printed == capture_env(out, consumerd="/bin/c")
    assert printed["USTREF_CAPTURE_OUT"] == str(out)
    assert printed["USTREF_CAPTURE_MONITOR"] == "interpose"


def test_show_lists_and_summarises(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    records = [
        CaptureRecord(0, 1_000, Direction.TO_SESSIOND, Socket.ERROR, b"d\0\0\0", 0),
        CaptureRecord(1, 2_000, Direction.TO_CONSUMERD, Socket.COMMAND, b"\0", 1),
        CaptureRecord(2, 3_000, Direction.TO_CONSUMERD, Socket.COMMAND, b"", 0),
    ]
    write_capture_file(path, records, exit_status=0)
    assert capture_main(["show", str(path)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0] == describe_record(records[0])
    assert "error#0 sessiond <- consumerd" in listing[0] and "64 00 00 00" in listing[0]
    assert "+1 fd" in listing[1] and listing[2].endswith("EOF")
    assert listing[-1] == "consumer exit status 0"
    assert capture_main(["show", "--summary", str(path)]) == 0
    summary = capsys.readouterr().out
    assert "command" in summary and "total" in summary and " 3\n" in summary


def test_show_reports_malformed_captures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    assert capture_main(["show", str(bad)]) == 1
    assert "not a JSON line" in capsys.readouterr().err


def test_show_lists_relay_daemon_records(capsys: pytest.CaptureFixture[str]) -> None:
    """The streaming golden capture: ``show`` lists and counts the relay records too."""
    golden = package_root() / "spec" / "golden" / "v2.13.9" / "streaming" / "capture.jsonl"
    assert capture_main(["show", str(golden), "--summary"]) == 0
    rows = {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()}
    assert ("relayd-control", "consumerd->relayd") in rows
    assert ("relayd-data", "consumerd->relayd") in rows
    assert capture_main(["show", str(golden)]) == 0
    listing = capsys.readouterr().out
    assert "relayd-data#0 consumerd -> relayd 127.0.0.1:" in listing
