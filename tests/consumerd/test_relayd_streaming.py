"""Streaming to a real lttng-relayd 2.13.9: the same session traced through the C
lttng-consumerd and through ustref-consumerd, under the real lttng-sessiond.

The test starts its own ``lttng-relayd`` (a child process on free loopback ports,
stopped by pid), creates the session with ``--set-url=net://127.0.0.1:CTRL:DATA``,
traces a sample app per-UID or per-PID (or records a snapshot of it), destroys the
session (a quiet rotation: ROTATE_STREAMS, CLOSE_TRACE_CHUNK, DATA_PENDING through
the relay), and compares
the relay's stored tree (hostname, dates and pids masked) and the babeltrace2
listings (pids, tids, cpu ids masked) of both consumers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.consumerd.test_side_by_side import (
    _listing,
    _mask,
    _tree,
    enable_tracefile_limited_channel,
    ustref_consumerd,
)
from tests.guard import skip_or_fail
from ustref.lttng import SessionDaemon
from ustref.lttng.loopback import free_tcp_ports
from ustref.transport.launcher import which

pytestmark = pytest.mark.lttng

Scenario = Callable[[SessionDaemon, str, Callable[[str], Path]], None]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Relayd:
    """A child ``lttng-relayd``: its process and its control and data ports."""

    proc: subprocess.Popen[bytes]
    ctrl: int
    data: int
    live: int

    @property
    def url(self) -> str:
        return f"net://127.0.0.1:{self.ctrl}:{self.data}"


@contextmanager
def relayd_process(out: Path, *options: str) -> Iterator[Relayd]:
    """A child ``lttng-relayd`` writing under ``out`` (with extra ``options``),
    stopped (by pid) at the end unless the test already ended it."""
    binary = which("lttng-relayd")
    if binary is None:
        skip_or_fail("lttng-relayd is not installed")
    ctrl, data, live = free_tcp_ports(3)
    out.mkdir(parents=True, exist_ok=True)
    log = (out.parent / "relayd.log").open("w")
    proc = subprocess.Popen(
        [
            str(binary),
            "-C",
            f"tcp://127.0.0.1:{ctrl}",
            "-D",
            f"tcp://127.0.0.1:{data}",
            "-L",
            f"tcp://127.0.0.1:{live}",
            "-o",
            str(out),
            *options,
            *(["-vvv"] if os.environ.get("USTREF_TEST_RELAYD_VERBOSE") else []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LTTNG_HOME": str(out.parent)},
    )
    try:
        deadline = time.monotonic() + 10
        while not (_accepts(ctrl) and _accepts(data)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"lttng-relayd did not start: {proc.returncode}")
            time.sleep(0.05)
        yield Relayd(proc, ctrl, data, live)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a test may have stopped it
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@contextmanager
def relayd(out: Path, *options: str) -> Iterator[tuple[int, int]]:
    """A child ``lttng-relayd`` writing under ``out``: yields (control, data) ports."""
    with relayd_process(out, *options) as relay:
        yield relay.ctrl, relay.data


def per_uid(sd: SessionDaemon, url: str, app_builder: Callable[[str], Path]) -> None:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--set-url={url}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "200")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")


def per_pid(sd: SessionDaemon, url: str, app_builder: Callable[[str], Path]) -> None:
    app = app_builder("tp_provider_app")
    sd.run_lttng("create", "s", f"--set-url={url}")
    sd.run_lttng("enable-channel", "--userspace", "--buffers-pid", "chan")
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "ustref_test:*")
    sd.run_lttng("start", "s")
    sd.run(app, "20")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")


def snapshot(sd: SessionDaemon, url: str, app_builder: Callable[[str], Path]) -> None:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", "--snapshot", f"--set-url={url}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "100")
    sd.run_lttng("snapshot", "record", "--session=s")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")


def tracefile_limits(sd: SessionDaemon, url: str, app_builder: Callable[[str], Path]) -> None:
    """Tracefile size and count over the network: the relay opens ``chan_0_<n>``
    files as the consumer's ADD_STREAM asked, and keeps the newest three."""
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--set-url={url}")
    enable_tracefile_limited_channel(sd)
    sd.run_lttng("start", "s")
    # One CPU, one stream: which events the count limit keeps does not depend on
    # where the scheduler put the app.
    sd.run("taskset", "--cpu-list", "0", app, "2000")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")


def rotate_and_clear(sd: SessionDaemon, url: str, app_builder: Callable[[str], Path]) -> None:
    """A streaming session rotated (ROTATE_STREAMS, remote trace chunks), then
    cleared (the relay deletes what the session wrote so far), then traced again."""
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--set-url={url}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "100")
    sd.run_lttng("rotate", "s")
    sd.run(app, "30")
    sd.run_lttng("rotate", "s")
    sd.run(app, "10")
    sd.run_lttng("stop", "s")
    sd.run_lttng("clear", "s")
    sd.run_lttng("start", "s")
    sd.run(app, "20")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")


def _stored(out: Path) -> Path:
    """The relay writes ``<out>/<hostname>/<session>-<date>/…``: the one host dir."""
    (host,) = [p for p in out.iterdir() if p.is_dir()]
    return host


def observe(
    scenario: Scenario,
    consumer: str | None,
    tmp: Path,
    app_builder: Callable[[str], Path],
    relayd_options: tuple[str, ...] = (),
) -> tuple[list[str], list[str]]:
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    out = tmp / "relay"
    # The relay daemon starts once the session daemon holds the machine's LTTng lock:
    # LTTng's own regression scripts, run meanwhile by others, stop relay daemons by name.
    with (
        SessionDaemon(extra_args=extra, workdir=tmp / "sessiond", lock_timeout=1800) as sd,
        relayd(out, *relayd_options) as (ctrl, data),
    ):
        scenario(sd, f"net://127.0.0.1:{ctrl}:{data}", app_builder)
    # The tree from the relay's output root: its first level is the grouping (host
    # or session name), the same machine for both consumers.
    return sorted(_listing(_stored(out))), [_mask(line) for line in _tree(out)]


@pytest.mark.parametrize(
    "scenario",
    [per_uid, per_pid, snapshot, tracefile_limits, rotate_and_clear],
    ids=["per-uid", "per-pid", "snapshot", "tracefile-limits", "rotate-clear"],
)
def test_streaming_matches_the_c_consumer(
    scenario: Scenario, tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    c_listing, c_tree = observe(scenario, None, tmp_path / "c", app_builder)
    u_listing, u_tree = observe(scenario, ustref_consumerd(), tmp_path / "ustref", app_builder)
    assert c_listing, "the C consumer streamed no event"
    assert u_tree == c_tree
    assert u_listing == c_listing


def test_grouping_by_session_matches_the_c_consumer(
    tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    """``lttng-relayd --group-output-by-session``: the relay stores the trace under
    ``<session>/<hostname>/…`` from the paths the consumer's ADD_STREAM and trace
    chunk commands give it (the relayd-grouping script's layout)."""
    grouped = ("--group-output-by-session",)
    c_listing, c_tree = observe(per_uid, None, tmp_path / "c", app_builder, grouped)
    u_listing, u_tree = observe(
        per_uid, ustref_consumerd(), tmp_path / "ustref", app_builder, grouped
    )
    assert c_listing, "the C consumer streamed no event"
    assert c_tree[0] == "s/", c_tree  # by session, not by host
    assert u_tree == c_tree
    assert u_listing == c_listing
