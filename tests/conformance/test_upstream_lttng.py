"""The harness end to end with a real session daemon and one short upstream script."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "regression/ust/test_event_basic"


def _conformance(
    tmp_path: Path, consumer: str, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ustref",
            "conformance",
            "upstream",
            "--consumer",
            consumer,
            "--script",
            SCRIPT,
            "--json",
            str(report),
            "--build-dir",
            str(REPO / "build" / "upstream"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert report.is_file(), done.stdout + done.stderr
    return done, json.loads(report.read_text())


@pytest.mark.lttng
def test_a_consumer_that_exits_at_once_fails_the_run_clearly(tmp_path: Path) -> None:
    """lttng-sessiond 2.13.9 waits forever for a consumer that dies before it connects;
    the harness starts the consumer once itself first (``ustref/conformance/preflight.py``)
    and fails the run in seconds, naming why, before any script runs."""
    launcher = tmp_path / "broken-consumerd"
    launcher.write_text("#!/bin/sh\necho 'broken-consumerd: exiting at once' >&2\nexit 1\n")
    launcher.chmod(0o755)
    started = time.monotonic()
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "ustref", "conformance", "upstream",
            "--consumer", str(launcher), "--script", SCRIPT, "--json", str(report),
            "--build-dir", str(REPO / "build" / "upstream"), "--stall-timeout", "600",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "the consumer exited before connecting (exit status 1)" in output
    assert "broken-consumerd: exiting at once" in output
    assert not report.exists(), "no script should have run"
    # far below the 600 s stall timeout (the machine lock may be waited for first)
    assert time.monotonic() - started < 120


@pytest.mark.lttng
def test_the_c_consumer_passes_and_is_seen(tmp_path: Path) -> None:
    done, doc = _conformance(tmp_path, "c")
    assert done.returncode == 0, done.stdout
    assert doc["passed"]
    assert doc["points"]["failed"] == 0
    assert doc["points"]["passed"] == doc["scripts"][0]["plan"] > 0
    assert doc["consumer_problems"] == []
    assert any("lttng-consumerd" in c for c in doc["scripts"][0]["consumers"])
