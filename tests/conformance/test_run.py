"""The runner's process sampling and consumer resolution, on real processes (no daemons)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from ustref.conformance.cli import resolve_consumer
from ustref.conformance.prepare import PrepareError
from ustref.conformance.run import _Sampler


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
