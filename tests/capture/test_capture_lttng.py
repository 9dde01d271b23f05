"""The recording wrapper in the real chain: lttng-sessiond → wrapper → lttng-consumerd.

A session traced through the wrapper must give the trace it gives without it,
and the capture must hold the whole conversation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ustref.capture import Direction, Socket, load_capture
from ustref.capture.decode import DecodedRelaydRecord, decode_capture, roundtrip_problem
from ustref.capture.format import RelaydSocket
from ustref.capture.launch import capture_env, sessiond_args
from ustref.lttng import SessionDaemon, read_events
from ustref.lttng.loopback import running_relayd
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import ERROR_SOCKET_CODE, ErrorSocketCode
from ustref.protocol.conversation.rules import STARTUP_CODE

pytestmark = pytest.mark.lttng

TRACEF = "lttng_ust_tracef:event"


def test_tracef_through_the_wrapper(app_builder: Callable[[str], Path], tmp_path: Path) -> None:
    app = app_builder("tracef_app")
    out = tmp_path / "session.capture.jsonl"
    trace = tmp_path / "trace"
    count = 200
    with (
        SessionDaemon(
            extra_args=sessiond_args(), env=capture_env(out), workdir=tmp_path / "sessiond"
        ) as sessiond,
        sessiond.recording_session("capture", trace),
    ):
        sessiond.run(app, str(count))
        kids = sessiond.children()
        wrappers = [kid for kid in kids if kid.comm == "ustref-capture"]
        assert len(wrappers) == 1 and wrappers[0].ppid == sessiond.pid
        consumers = [kid for kid in kids if kid.comm == "lttng-consumerd"]
        assert [kid.ppid for kid in consumers] == [wrappers[0].pid]
    # The session daemon waited for the wrapper, which waited for the consumer:
    # the capture is complete.

    events = read_events(trace)
    assert [event.name for event in events] == [TRACEF] * count
    assert [event.payload["msg"] for event in events] == [
        f'"ustref tracef {i}"' for i in range(count)
    ]

    capture = load_capture(out)
    assert capture.end is not None and capture.end.exit_status == 0
    assert capture.header is not None and capture.header.argv[1] == "-u"
    records = [r for r in capture.records if not r.is_eof]
    assert records
    seen = {(r.socket, r.direction) for r in records}
    for direction in Direction:
        assert any(d is direction for _, d in seen)
    for role in (Socket.COMMAND, Socket.ERROR):
        assert any(r is role for r, _ in seen)
    # The metadata connection carries nothing in so short a session, but it is
    # there: the session daemon closing it is recorded.
    assert any(r.socket is Socket.METADATA for r in capture.records)
    # The consumer's first word: LTTCOMM_CONSUMERD_COMMAND_SOCK_READY on the error socket.
    first = capture.records[0]
    assert (first.socket, first.direction, first.data) == (
        Socket.ERROR,
        Direction.TO_SESSIOND,
        ERROR_SOCKET_CODE.build(ErrorSocketCode(code=STARTUP_CODE)),
    )


def test_streaming_through_the_wrapper(app_builder: Callable[[str], Path], tmp_path: Path) -> None:
    """A streaming session through the wrapper: the relay daemon stores the whole trace,
    and the capture holds the consumer's talk with it, which decodes and rebuilds."""
    app = app_builder("tracef_app")
    out = tmp_path / "streaming.capture.jsonl"
    count = 200
    relayd_env = dict(os.environ, LTTNG_HOME=str(tmp_path / "relayd-home"))
    with running_relayd(tmp_path / "relayd", relayd_env) as (ports, output):
        with SessionDaemon(
            extra_args=sessiond_args(), env=capture_env(out), workdir=tmp_path / "sessiond"
        ) as sessiond:
            sessiond.run_lttng(
                "create",
                "net",
                f"--ctrl-url=tcp://127.0.0.1:{ports.control}",
                f"--data-url=tcp://127.0.0.1:{ports.data}",
            )
            sessiond.run_lttng("enable-event", "-u", "-a")
            sessiond.run_lttng("start")
            sessiond.run(app, str(count))
            sessiond.run_lttng("stop")
            sessiond.run_lttng("destroy")
        # The session daemon stopped (the consumer with it) before the relay daemon.
        traces = sorted(output.rglob("metadata"))
        assert len(traces) == 1
        events = read_events(traces[0].parent.parent)
    assert sum(event.name == TRACEF for event in events) == count

    capture = load_capture(out)
    assert capture.end is not None and capture.end.exit_status == 0
    assert {r.peer for r in capture.relayd if r.socket is RelaydSocket.CONTROL} == {
        f"127.0.0.1:{ports.control}"
    }
    assert {r.peer for r in capture.relayd if r.socket is RelaydSocket.DATA} == {
        f"127.0.0.1:{ports.data}"
    }
    items = list(decode_capture(capture.in_order(), Abi.V2_13_9))
    assert [i.index for i in items if roundtrip_problem(i.message)] == []
    relay = [i.message for i in items if isinstance(i, DecodedRelaydRecord)]
    data = [p for p in relay if p.socket is RelaydSocket.DATA]
    assert data and data[0].step == "data.header"
    # Every packet byte that reached the relay daemon went through the wrapper.
    sent = sum(len(p.raw) for p in data if p.step == "data.packet")
    stored = sum(
        f.stat().st_size for f in output.rglob("*_[0-9]*") if f.is_file() and f.suffix != ".idx"
    )
    assert 0 < sent <= stored
    commands = [p.exchange for p in relay if p.step == "header"]
    assert {"RELAYD_ADD_STREAM", "RELAYD_SEND_INDEX", "RELAYD_CLOSE_STREAM"} <= set(commands)
