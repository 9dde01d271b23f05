"""The runner's process sampling and consumer resolution, on real processes (no daemons)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.guard import skip_or_fail
from ustref.conformance.cli import C_CONSUMERD, resolve_consumer
from ustref.conformance.prepare import PrepareError
from ustref.conformance.run import _cmdline, _Sampler
from ustref.libc import libc


def test_sampler_records_a_process_named_lttng_consumerd(tmp_path: Path) -> None:
    """A process whose argv[0] is lttng-consumerd is seen with its real executable."""
    proc = subprocess.Popen(["bash", "-c", "exec -a lttng-consumerd sleep 30"])
    try:
        sampler = _Sampler("regression/x", {})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sampler.sample()
            mine = [s for s in sampler.seen.values() if s.pid == proc.pid]
            if mine and mine[0].cmdline[0] == "lttng-consumerd":
                break
            time.sleep(0.02)
        assert mine, "the sampler never saw the process"
        assert mine[0].exe.endswith("/sleep")
        assert mine[0].cmdline == ("lttng-consumerd", "30")
        assert mine[0].script == "regression/x"
    finally:
        proc.kill()
        proc.wait()


def test_resolve_a_script_consumer_by_its_interpreter(tmp_path: Path) -> None:
    launcher = tmp_path / "launcher"
    launcher.write_text("#!/bin/sh\nexit 1\n")
    launcher.chmod(0o755)
    expected = resolve_consumer(str(launcher))
    assert expected.label == "path"
    assert str(Path("/bin/sh").resolve()) in expected.exes
    assert str(launcher) in expected.argv_paths


def test_resolve_refuses_what_is_not_executable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("")
    with pytest.raises(PrepareError, match="not an executable"):
        resolve_consumer(str(data))


def _is_subreaper() -> bool:
    flag = ctypes.c_int(0)
    libc().prctl(37, ctypes.byref(flag), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
    return flag.value != 0


def test_sampler_ignores_consumers_that_are_not_our_descendants(tmp_path: Path) -> None:
    """A consumer someone else runs on the machine is not one of the scripts'."""
    if _is_subreaper():
        pytest.skip("this process is a subreaper: orphans would stay its descendants")
    pid_file = tmp_path / "pid"
    subprocess.run(
        [
            "setsid",
            "--fork",
            "bash",
            "-c",
            f"echo $$ > {pid_file}; exec -a lttng-consumerd sleep 30",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pid = int(pid_file.read_text())
    try:
        while _cmdline(pid) != ("lttng-consumerd", "30"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        sampler = _Sampler("regression/x", {})
        sampler.sample()
        assert pid not in {s.pid for s in sampler.seen.values()}
    finally:
        os.kill(pid, signal.SIGKILL)


def test_consumer_ustref_without_its_entry_point_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ustref.conformance.cli.which", lambda name: None)
    with pytest.raises(PrepareError, match="no ustref-consumerd on PATH"):
        resolve_consumer("ustref")


def test_consumer_c_is_debians_binary() -> None:
    if not C_CONSUMERD.exists():
        skip_or_fail("Debian's lttng-tools is not installed")
    expected = resolve_consumer("c")
    assert expected.exes == frozenset({str(Path(expected.path).resolve())})
