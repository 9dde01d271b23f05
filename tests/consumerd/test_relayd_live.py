"""A live session through a real lttng-relayd 2.13.9, read by babeltrace2's live viewer
while the app runs: the same scenario with the C lttng-consumerd and with
ustref-consumerd, under the real lttng-sessiond.

The test starts its own ``lttng-relayd`` on free loopback ports, creates the session
with ``--live`` (a 100 ms live timer), starts ``babeltrace2 -i lttng-live
net://127.0.0.1:LIVE/host/<host>/s`` once the relay lists the session, and runs an
app that emits its events then blocks: every event must reach the viewer before
``lttng stop`` (the live timer's flush, the packet, the metadata it needs and its
index), and the viewer must end by itself once the session is destroyed. Both
consumers must show the viewer the same events, all the app emitted.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.consumerd.test_relayd_streaming import relayd_process
from tests.consumerd.test_side_by_side import ustref_consumerd
from tests.guard import skip_or_fail
from ustref.lttng import SessionDaemon
from ustref.transport.launcher import which

pytestmark = pytest.mark.lttng

EVENTS = 50
LIVE_TIMER_US = 100_000
DEADLINE = 60.0
"""Seconds allowed for each wait on the relay or the viewer (a loaded machine)."""
_MSG = re.compile(r'msg = "([^"]*)"')


def _babeltrace2() -> str:
    found = which("babeltrace2")
    if found is None:
        skip_or_fail("babeltrace2 is not installed")
    return str(found)


def _wait_for(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _listed(live: int, url: str) -> bool:
    """``wait_live_trace_ready``: the relay's live port lists the session."""
    done = subprocess.run(
        [_babeltrace2(), "-i", "lttng-live", f"net://127.0.0.1:{live}"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    return url in done.stdout


def _messages(path: Path) -> list[str]:
    return [m[1] for line in path.read_text().splitlines() if (m := _MSG.search(line))]


def live_session(
    consumer: str | None, tmp: Path, app_builder: Callable[[str], Path], buffers: str
) -> list[str]:
    """The events the live viewer printed before ``lttng stop``, sorted; asserts it saw
    all of them then, and that it ended by itself at ``lttng destroy``."""
    app = app_builder("hold_app")
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    viewed = tmp / "viewer.txt"
    with (
        SessionDaemon(extra_args=extra, workdir=tmp / "sessiond", lock_timeout=1800) as sd,
        relayd_process(tmp / "relay") as relay,
    ):
        live = relay.live
        sd.run_lttng("create", "s", f"--live={LIVE_TIMER_US}", f"--set-url={relay.url}")
        sd.run_lttng("enable-channel", "--userspace", f"--buffers-{buffers}", "chan")
        sd.run_lttng("enable-event", "--userspace", "--channel=chan", "lttng_ust_tracef:*")
        sd.run_lttng("start", "s")
        url = f"net://127.0.0.1:{live}/host/{socket.gethostname()}/s"
        _wait_for("the relay to list the live session", lambda: _listed(live, url))
        with viewed.open("w") as out:
            viewer = subprocess.Popen(
                [_babeltrace2(), "-i", "lttng-live", url],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
            )
        held = subprocess.Popen(
            [str(app), str(EVENTS)], stdout=subprocess.PIPE, text=True, env=sd.env
        )
        try:
            assert held.stdout is not None
            assert held.stdout.readline().startswith("ready"), "the app did not emit its events"
            _wait_for(
                f"the viewer to print {EVENTS} events while the app runs",
                lambda: len(_messages(viewed)) >= EVENTS,
            )
            assert held.poll() is None, "the app ended before the viewer saw its events"
            seen = sorted(_messages(viewed))
        finally:
            held.kill()
            held.wait()
        sd.run_lttng("stop", "s")
        sd.run_lttng("destroy", "s")
        try:
            _, errors = viewer.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            viewer.kill()
            viewer.communicate()
            raise AssertionError("the live viewer did not end at destroy") from None
        assert viewer.returncode == 0, errors
    return seen


@pytest.mark.parametrize("buffers", ["uid", "pid"])
def test_live_viewer_follows_the_session_as_with_the_c_consumer(
    buffers: str, tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    expected = sorted(f"ustref hold {i}" for i in range(EVENTS))
    c_seen = live_session(None, tmp_path / "c", app_builder, buffers)
    u_seen = live_session(ustref_consumerd(), tmp_path / "ustref", app_builder, buffers)
    assert c_seen == expected
    assert u_seen == c_seen
