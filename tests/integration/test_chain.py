"""The real chain end to end: lttng-sessiond → lttng-ust app → lttng-consumerd → CTF → babeltrace2.

These tests prove the harness (``ustref.lttng``) and the sample apps work
against the real LTTng 2.13 stack; later tests put ustref in the consumer's
place and compare with what is found here.
"""

from __future__ import annotations

import os
import signal
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from ustref.lttng import (
    FORK_WRAPPER,
    SessionDaemon,
    SessiondConflictError,
    process_info,
    read_events,
)

pytestmark = pytest.mark.lttng

TRACEF = "lttng_ust_tracef:event"


def _msgs(trace: Path, name: str = TRACEF) -> list[str]:
    return [event.payload["msg"] for event in read_events(trace) if event.name == name]


def test_tracef_app_chain(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tracef_app")
    trace = tmp_path / "trace"
    count = 1000

    sessiond.run_lttng("create", "chain", f"--output={trace}")
    try:
        sessiond.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
        sessiond.run_lttng("start", "chain")
        sessiond.run(app, str(count))
        assert sessiond.consumerd_pids(), "the session daemon spawned no consumer daemon"
        sessiond.run_lttng("stop", "chain")  # waits until the data is flushed
    finally:
        sessiond.run_lttng("destroy", "chain")

    events = read_events(trace)
    assert len(events) == count
    assert {event.name for event in events} == {TRACEF}
    assert [event.payload["msg"] for event in events] == [
        f'"ustref tracef {i}"' for i in range(count)
    ]
    assert all(
        event.payload["_msg_length"] == str(len(f"ustref tracef {i}"))
        for i, event in enumerate(events)
    )
    assert all("cpu_id" in event.context for event in events)


def test_tp_provider_app_fields(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tp_provider_app")
    count = 7
    with sessiond.recording_session("tp", tmp_path / "trace", events=["ustref_test:*"]) as trace:
        sessiond.run(app, str(count))

    events = read_events(trace)
    assert [event.name for event in events] == ["ustref_test:all_types"] * count
    labels = ["RED", "GREEN", "BLUE"]
    for i, event in enumerate(events):
        payload = event.payload
        assert payload["int_field"] == str(i)
        assert float(payload["float_field"]) == i + 0.5
        assert payload["string_field"] == f'"event-{i}"'
        assert payload["array_field"] == f"[ [0] = {i}, [1] = {i + 1}, [2] = {i + 2} ]"
        seq_len = i % 4
        assert payload["_seq_field_length"] == str(seq_len)
        items = ", ".join(f"[{k}] = {k}" for k in range(seq_len))
        assert payload["seq_field"] == (f"[ {items} ]" if items else "[ ]")
        assert payload["enum_field"] == f'( "{labels[i % 3]}" : container = {i % 3} )'


def test_mt_app_all_threads(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("mt_app")
    threads, per_thread = 4, 250
    with sessiond.recording_session("mt", tmp_path / "trace") as trace:
        sessiond.run(app, str(threads), str(per_thread))

    msgs = _msgs(trace)
    assert len(msgs) == threads * per_thread
    by_thread: dict[int, list[int]] = defaultdict(list)
    for msg in msgs:
        _, _, thread, index = msg.strip('"').split()
        by_thread[int(thread)].append(int(index))
    # Events of one thread keep their order (timestamps are monotonic per thread).
    assert dict(by_thread) == {t: list(range(per_thread)) for t in range(threads)}


def test_fork_app_parent_and_child(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("fork_app")
    count = 50
    with sessiond.recording_session("fork", tmp_path / "trace") as trace:
        sessiond.run(app, str(count), env={"LD_PRELOAD": FORK_WRAPPER})

    msgs = _msgs(trace)
    assert sorted(msgs) == sorted(
        [f'"ustref fork parent {i}"' for i in range(count)]
        + [f'"ustref fork child {i}"' for i in range(count)]
    )


def test_second_daemon_is_refused(sessiond: SessionDaemon, tmp_path: Path) -> None:
    # lock_path=None: skip the machine lock (which we hold) to reach the check.
    other = SessionDaemon(workdir=tmp_path / "other", lock_path=None)
    with pytest.raises(SessiondConflictError) as caught:
        other.start()
    assert sessiond.pid in caught.value.pids
    assert not other.running


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    daemon = SessionDaemon(workdir=tmp_path / "sessiond")
    with daemon:
        daemon.run_lttng("create", "s", f"--output={tmp_path / 'trace'}")
        daemon.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
        kids = daemon.children()
        pid = daemon.pid
    assert any(kid.comm == "lttng-consumerd" for kid in kids)
    assert process_info(pid) is None
    assert [kid.pid for kid in kids if process_info(kid.pid) is not None] == []


def test_hung_daemon_is_killed_with_its_consumers(tmp_path: Path) -> None:
    daemon = SessionDaemon(workdir=tmp_path / "sessiond", stop_timeout=1.0)
    with daemon:
        daemon.run_lttng("create", "s", f"--output={tmp_path / 'trace'}")
        daemon.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
        kids = daemon.children()
        pid = daemon.pid
        os.kill(pid, signal.SIGSTOP)  # SIGTERM now stays pending: stop() must SIGKILL
    assert any(kid.comm == "lttng-consumerd" for kid in kids)
    assert process_info(pid) is None
    # Orphaned consumer daemons were killed by pid and reaped (we are their subreaper).
    assert [kid.pid for kid in kids if process_info(kid.pid) is not None] == []
