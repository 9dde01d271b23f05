"""Every C crash reproducer spliced into a live session (issue 22, item 2).

One real ``lttng-sessiond`` 2.13.9 runs ustref-consumerd behind the injecting proxy
(:mod:`ustref.fuzz.inject`, the capture wrapper started as ``--consumerd64-path``). A
per-UID session traces the sample application; while it runs, each crash reproducer of
``spec/findings/`` is spliced into the session daemon's command socket, its keys moved
out of the real session's way. ustref-consumerd must give each one the answer its
finding file records under ``ustref`` (as on a private consumer,
``tests/fuzz/test_reproducers.py``), come back in step (a DATA_PENDING served after
it), stay up, and the real session must keep every event of the application.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.consumerd.test_side_by_side import ustref_consumerd
from tests.fuzz.test_reproducers import CRASHES
from ustref.capture.launch import package_root, sessiond_args
from ustref.capture.wrapper import ENV_CONSUMERD, ENV_INJECT, ENV_PYTHON, ENV_PYTHONPATH
from ustref.fuzz.inject import inject, spliceable
from ustref.fuzz.replay import load
from ustref.lttng import SessionDaemon
from ustref.lttng.babeltrace import count_events

pytestmark = pytest.mark.lttng

EVENTS = 30_000
"""Events the application emits, one every :data:`PERIOD_US` µs: longer than the
injections take, so that every one lands while it runs."""
PERIOD_US = "1000"
EVENT = "lttng_ust_tracef:*"
CONSUMERS = ("lttng-consumerd", "ustref-consumer")
"""``comm`` of ustref-consumerd: started as ``lttng-consumerd`` by the proxy, or its own."""


@pytest.fixture(scope="module")
def tracef_app(app_builder: Callable[[str], Path]) -> Path:
    return app_builder("tracef_app")


@pytest.fixture
def control() -> Iterator[Path]:
    """A short path for the control socket (``sun_path`` holds 108 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="ustref-inject-"))
    yield directory / "control"
    shutil.rmtree(directory, ignore_errors=True)


def test_every_crash_reproducer_is_spliceable() -> None:
    """None needs the metadata socket or a hang-up: all sixteen are injected below."""
    assert len(CRASHES) == 16
    for finding in CRASHES:
        _doc, _abi, actions = load(finding)
        assert spliceable(actions) == "", finding.stem


def test_reproducers_spliced_into_a_live_session(
    tmp_path: Path, tracef_app: Path, control: Path
) -> None:
    env = {
        ENV_INJECT: str(control),
        ENV_CONSUMERD: ustref_consumerd(),
        ENV_PYTHON: sys.executable,
        ENV_PYTHONPATH: str(package_root()),
    }
    trace = tmp_path / "trace"
    with SessionDaemon(
        extra_args=sessiond_args(), env=env, workdir=tmp_path / "sessiond", lock_timeout=1800
    ) as sd:
        entered = time.monotonic()  # the machine's lock is held from here
        sd.run_lttng("create", "live", f"--output={trace}")
        sd.run_lttng("enable-event", "--userspace", "--session=live", EVENT)
        sd.run_lttng("start", "live")
        consumers = [info.pid for info in sd.children() if info.comm in CONSUMERS]
        assert consumers, sd.children()
        # The application waits for its registration however long the spliced
        # reproducers hold the session daemon's commands: an event it emitted before
        # would not be traced (lttng-ust's 3 s default), and that is no consumer's loss.
        app_env = {**sd.env, "LTTNG_UST_REGISTER_TIMEOUT": "-1"}
        app = subprocess.Popen([str(tracef_app), str(EVENTS), PERIOD_US], env=app_env)
        answers: dict[str, object] = {}
        expected: dict[str, object] = {}
        try:
            started = time.monotonic()
            for finding in CRASHES:
                doc, _abi, _actions = load(finding)
                expected[finding.stem] = doc["ustref"]
                answer = inject(control, finding)
                answers[finding.stem] = answer.get("ustref", answer)
            spliced_in = time.monotonic() - started
            print(f"{len(CRASHES)} reproducers spliced in {spliced_in:.1f}s")
            app_ran_throughout = app.poll() is None
            assert app.wait(120) == 0
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
        sd.run_lttng("stop", "live")
        sd.run_lttng("destroy", "live")
        running = {info.pid for info in sd.children() if info.state not in ("Z", "X")}
        alive = set(consumers) <= running
    assert answers == expected
    assert app_ran_throughout, f"the injections took {spliced_in:.1f}s, longer than the app"
    assert alive
    events = count_events(trace, EVENT)
    print(f"{time.monotonic() - entered:.1f}s under the lock")
    assert events == EVENTS
