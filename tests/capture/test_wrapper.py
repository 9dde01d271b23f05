"""The recording wrapper against a fake consumer daemon, the test playing the session daemon.

No LTTng and no root needed: ``fake_consumerd.py`` follows the real
consumer's start-up and a short scripted conversation on every socket role.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ustref.capture import Direction, Socket, load_capture
from ustref.capture.decode import roundtrip_problem
from ustref.capture.format import CaptureHeader, CaptureWriter, RelaydDirection, RelaydSocket
from ustref.capture.launch import package_root
from ustref.capture.relayd import RelaydDecoder
from ustref.capture.wrapper import (
    ENV_CONSUMERD,
    ENV_MONITOR,
    ENV_OUT,
    ENV_RELAYD,
    SET_CHANNEL_MONITOR_PIPE,
    Recorder,
    _Link,
    _Relay,
    fd_kind,
)
from ustref.protocol import relayd
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    ConsumerMsgV2139,
    LttngConsumerCommand,
    LttngStreamType,
    RelaydSockV2139,
)
from ustref.protocol.conversation.rules import STARTUP_CODE
from ustref.protocol.sockets import LttcommSockProto
from ustref.transport import ConsumerdArgv, listen, recv_exact, sessiond_side

FAKE = Path(__file__).with_name("fake_consumerd.py")
TIMEOUT = 20.0


def _u32(value: int) -> bytes:
    return value.to_bytes(4, sys.byteorder)


@dataclass
class Session:
    """The test's side: the session daemon's sockets and the wrapper process."""

    wrapper: subprocess.Popen[bytes]
    err: socket.socket
    cmd: socket.socket
    meta: socket.socket
    out: Path
    info: Path
    sessiond_cmd: Path


def _start(
    tmp_path: Path,
    *,
    mode: str = "script",
    out: bool = True,
    env: dict[str, str] | None = None,
    via_cli: bool = False,
) -> Session:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    err_path = run_dir / "error"
    cmd_path = run_dir / "command"
    listener = listen(str(err_path), 1)
    launcher = tmp_path / "lttng-consumerd"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    launcher.chmod(0o755)
    full_env = dict(os.environ)
    full_env.update(
        {
            ENV_CONSUMERD: str(launcher),
            "FAKE_INFO": str(tmp_path / "info.json"),
            "FAKE_MODE": mode,
            "PYTHONPATH": str(package_root()),
            **(env or {}),
        }
    )
    if out:
        full_env[ENV_OUT] = str(tmp_path / "c.capture.jsonl")
    else:
        full_env.pop(ENV_OUT, None)
    # The argv lttng-sessiond 2.13.9 gives the consumer (client.c:spawn_consumerd).
    argv = ConsumerdArgv(str(cmd_path), str(err_path)).words()
    command = [sys.executable, "-m", "ustref.capture.wrapper"]
    if via_cli:  # ustref capture run -o FILE --consumerd PATH -- ARGV…
        full_env.pop(ENV_OUT)
        full_env.pop(ENV_CONSUMERD)
        cli = "import sys; from ustref.capture.cli import capture_main; "
        cli += "sys.exit(capture_main(sys.argv[1:]))"
        command = [sys.executable, "-c", cli, "run", "-o", str(tmp_path / "c.capture.jsonl")]
        command += ["--consumerd", str(launcher), "--"]
    wrapper = subprocess.Popen([*command, *argv], env=full_env, cwd=tmp_path)
    try:
        # Accepts the error connection, checks LTTCOMM_CONSUMERD_COMMAND_SOCK_READY.
        sockets = sessiond_side(listener, str(cmd_path), TIMEOUT)
        err, cmd, meta = sockets.error, sockets.command, sockets.metadata
        for sock in (err, cmd, meta):
            sock.settimeout(TIMEOUT)
    except BaseException:
        wrapper.kill()
        wrapper.wait()
        raise
    finally:
        listener.close()
    return Session(
        wrapper, err, cmd, meta, tmp_path / "c.capture.jsonl", tmp_path / "info.json", cmd_path
    )


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    started = _start(tmp_path, env={"FAKE_EXIT": "3"})
    yield started
    if started.wrapper.poll() is None:
        started.wrapper.kill()
        started.wrapper.wait()


def _converse(session: Session, tmp_path: Path) -> bytes:
    """The session daemon's half of fake_consumerd's script; returns the monitor sample."""
    cmd = session.cmd
    cmd.sendall(_u32(SET_CHANNEL_MONITOR_PIPE) + bytes(12))
    assert recv_exact(cmd, 4) == _u32(0)
    monitor_read, monitor_write = os.pipe()
    socket.send_fds(cmd, [b"\0"], [monitor_write])
    os.close(monitor_write)
    assert recv_exact(cmd, 4) == _u32(0)
    sample = os.read(monitor_read, 64)
    os.close(monitor_read)

    payload = tmp_path / "payload"
    payload.write_bytes(b"hello")
    cmd.sendall(_u32(99) + bytes(12))
    with payload.open("rb") as handle:
        socket.send_fds(cmd, [b"\0"], [handle.fileno()])
    size = int.from_bytes(recv_exact(cmd, 4), sys.byteorder)
    assert recv_exact(cmd, size) == b"hello"
    data, fds, _flags, _addr = socket.recv_fds(cmd, 1, 4)
    assert data == b"\0" and len(fds) == 2
    assert os.read(fds[0], 16) == b"through"
    for fd in fds:
        os.close(fd)

    assert recv_exact(session.meta, 4) == b"REQ1"
    session.meta.sendall(b"RSP1")
    return sample


def test_relays_and_records_every_role(session: Session, tmp_path: Path) -> None:
    sample = _converse(session, tmp_path)
    assert sample == b"S" * 32
    for sock in (session.cmd, session.meta, session.err):
        sock.close()
    assert session.wrapper.wait(TIMEOUT) == 3  # the consumer's exit status

    info = json.loads(session.info.read_text())
    assert info["ppid"] == session.wrapper.pid  # the real consumer is the wrapper's child
    assert info["argv"][0] == ""  # the empty verbosity word is kept
    assert str(session.sessiond_cmd) not in info["argv"]

    capture = load_capture(session.out)
    assert capture.end is not None and capture.end.exit_status == 3
    header = capture.header
    assert header is not None
    assert header.argv[:3] == ("", "-u", "--consumerd-cmd-sock")
    assert header.consumerd_argv[0] == "lttng-consumerd"
    assert header.sessiond_sockets["command"] == str(session.sessiond_cmd)
    records = capture.records
    assert [r.seq for r in records] == sorted({r.seq for r in records})
    assert all(a.time_ns <= b.time_ns for a, b in itertools.pairwise(records))
    seen = {(r.socket, r.direction) for r in records}
    for role in (Socket.COMMAND, Socket.METADATA, Socket.ERROR):
        assert (role, Direction.TO_CONSUMERD) in seen
        assert (role, Direction.TO_SESSIOND) in seen
    monitor = [r for r in records if r.socket is Socket.CHANNEL_MONITOR]
    assert [r.data for r in monitor] == [b"S" * 32, b""]  # a sample, then end of stream

    def data(role: Socket, direction: Direction) -> bytes:
        return b"".join(r.data for r in records if r.socket is role and r.direction is direction)

    s2c, c2s = Direction.TO_CONSUMERD, Direction.TO_SESSIOND
    assert data(Socket.ERROR, c2s) == _u32(STARTUP_CODE)
    assert data(Socket.METADATA, c2s) == b"REQ1"
    assert data(Socket.METADATA, s2c) == b"RSP1"
    assert data(Socket.COMMAND, c2s) == _u32(0) * 2 + _u32(5) + b"hello\0"
    fd_records = [r for r in records if r.fd_count]
    assert [(r.direction, r.data, r.fd_kinds) for r in fd_records] == [
        (s2c, b"\0", ("fifo",)),
        (s2c, b"\0", ("file",)),
        (c2s, b"\0", ("fifo", "fifo")),
    ]
    eofs = {(r.socket, r.direction) for r in records if r.is_eof}
    assert (Socket.COMMAND, s2c) in eofs and (Socket.COMMAND, c2s) in eofs


def test_cli_run_is_the_wrapper(tmp_path: Path) -> None:
    session = _start(tmp_path, env={"FAKE_EXIT": "5"}, via_cli=True)
    try:
        assert _converse(session, tmp_path) == b"S" * 32
        for sock in (session.cmd, session.meta, session.err):
            sock.close()
        assert session.wrapper.wait(TIMEOUT) == 5
    finally:
        if session.wrapper.poll() is None:
            session.wrapper.kill()
            session.wrapper.wait()
    capture = load_capture(session.out)
    assert capture.end is not None and capture.end.exit_status == 5
    assert {r.socket for r in capture.records} == set(Socket)


def test_passthrough_monitor_hands_the_pipe_over(tmp_path: Path) -> None:
    session = _start(tmp_path, env={"FAKE_EXIT": "0", ENV_MONITOR: "passthrough"})
    try:
        assert _converse(session, tmp_path) == b"S" * 32
        for sock in (session.cmd, session.meta, session.err):
            sock.close()
        assert session.wrapper.wait(TIMEOUT) == 0
    finally:
        if session.wrapper.poll() is None:
            session.wrapper.kill()
            session.wrapper.wait()
    capture = load_capture(session.out)
    assert capture.header is not None and capture.header.channel_monitor == "passthrough"
    assert not [r for r in capture.records if r.socket is Socket.CHANNEL_MONITOR]


def test_sigterm_is_forwarded_and_the_status_kept(tmp_path: Path) -> None:
    session = _start(tmp_path, mode="hang")
    try:
        info = json.loads(session.info.read_text())
        session.wrapper.send_signal(signal.SIGTERM)
        # The consumer died of SIGTERM: so does the wrapper.
        assert session.wrapper.wait(TIMEOUT) == -signal.SIGTERM
    finally:
        if session.wrapper.poll() is None:
            session.wrapper.kill()
            session.wrapper.wait()
    deadline = time.monotonic() + TIMEOUT
    while Path(f"/proc/{info['pid']}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(f"/proc/{info['pid']}").exists()
    capture = load_capture(session.out)
    assert capture.end is not None and capture.end.exit_status == -signal.SIGTERM


def test_without_output_the_real_consumer_is_execed(tmp_path: Path) -> None:
    session = _start(tmp_path, out=False, env={"FAKE_EXIT": "0"})
    try:
        info = json.loads(session.info.read_text())
        assert info["pid"] == session.wrapper.pid  # exec'd in place: nothing in between
        _converse(session, tmp_path)
        for sock in (session.cmd, session.meta, session.err):
            sock.close()
        assert session.wrapper.wait(TIMEOUT) == 0
    finally:
        if session.wrapper.poll() is None:
            session.wrapper.kill()
            session.wrapper.wait()
    assert not session.out.exists()


def test_glued_fds_are_relayed_on_the_last_byte(tmp_path: Path) -> None:
    """A message and the 1-byte fd carrier queued together reach the wrapper in one
    ``recvmsg``; relayed as one send, the fds would ride on the message's first
    byte and a receiver reading the message without ancillary data would lose them."""
    sessiond, relay_sessiond_end = socket.socketpair()
    relay_consumerd_end, consumerd = socket.socketpair()
    consumerd.settimeout(TIMEOUT)
    read_end, write_end = os.pipe()
    sessiond.sendall(b"msg")
    socket.send_fds(sessiond, [b"\0"], [read_end])
    os.close(read_end)
    recorder = Recorder(CaptureWriter.create(tmp_path / "r.jsonl", CaptureHeader()))
    relay = _Relay(recorder, interpose_monitor=True)
    relay.start_link(_Link(Socket.COMMAND, 0, relay_sessiond_end, relay_consumerd_end))
    try:
        assert recv_exact(consumerd, 3) == b"msg"  # no ancillary buffer here
        data, fds, _flags, _addr = socket.recv_fds(consumerd, 1, 4)
        assert data == b"\0" and len(fds) == 1
        os.write(write_end, b"x")
        assert os.read(fds[0], 1) == b"x"
        os.close(fds[0])
    finally:
        os.close(write_end)
        sessiond.close()
        consumerd.close()
    relay.join(Direction.TO_CONSUMERD, TIMEOUT)
    relay.join(Direction.TO_SESSIOND, TIMEOUT)
    recorder.close(0)
    capture = load_capture(tmp_path / "r.jsonl")
    assert [(r.data, r.fd_count) for r in capture.records if not r.is_eof] == [
        (b"msg", 0),
        (b"\0", 1),
    ]
    assert capture.end is not None and capture.end.fd_splits == 1


def test_fd_kind(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    left, right = socket.socketpair()
    directory = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    memfd = os.memfd_create("ustref-test")
    path = tmp_path / "f"
    path.write_bytes(b"x")
    regular = os.open(path, os.O_RDONLY)
    try:
        assert fd_kind(read_end) == "fifo"
        assert fd_kind(left.fileno()) == "socket"
        assert fd_kind(directory) == "directory"
        assert fd_kind(memfd) == "memfd"
        assert fd_kind(regular) == "file"
    finally:
        for fd in (read_end, write_end, directory, memfd, regular):
            os.close(fd)
        left.close()
        right.close()
    assert fd_kind(read_end) == "other"  # closed


def _handover(net_index: int, kind: LttngStreamType) -> bytes:
    """``LTTNG_CONSUMER_ADD_RELAYD_SOCKET`` as ``consumer_send_relayd_socket`` sends it."""
    return CONSUMER_MSG[Abi.V2_13_9].build(
        ConsumerMsgV2139(
            cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET,
            u=RelaydSockV2139(
                net_index=net_index,
                type=kind,
                major=2,
                minor=13,
                relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
                session_id=1,
                relayd_session_id=3 if kind is LttngStreamType.LTTNG_STREAM_CONTROL else 0,
            ),
        )
    )


def _hand_over(session: Session, relay: socket.socket, net_index: int) -> list[socket.socket]:
    """What the session daemon does with a relay daemon's control then data socket:
    connect, hand over (ADD_RELAYD_SOCKET, status, fd, status), close its copy.
    Returns the relay daemon's ends."""
    ends = []
    for kind in (LttngStreamType.LTTNG_STREAM_CONTROL, LttngStreamType.LTTNG_STREAM_DATA):
        ours = socket.create_connection(relay.getsockname()[:2], TIMEOUT)
        ours.setblocking(True)  # as the session daemon's
        end, _ = relay.accept()
        end.settimeout(TIMEOUT)
        ends.append(end)
        session.cmd.sendall(_handover(net_index, kind))
        assert recv_exact(session.cmd, 4) == _u32(0)
        socket.send_fds(session.cmd, [b"\0"], [ours.fileno()])
        ours.close()
        assert recv_exact(session.cmd, 4) == _u32(0)
    return ends


def _loopback(family: socket.AddressFamily) -> str:
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except OSError as exc:
        pytest.fail(f"no {host} loopback on this machine: {exc}")
    return host


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_relayd_sockets_are_interposed_and_recorded(
    tmp_path: Path, family: socket.AddressFamily
) -> None:
    """The consumer gets a loopback TCP socket of the relay socket's family in place
    of the session daemon's; what it says to the (fake) relay daemon and back is
    relayed and recorded, and decodes and rebuilds byte for byte."""
    host = _loopback(family)
    relay = socket.create_server((host, 0), family=family)
    relay.settimeout(TIMEOUT)
    port = relay.getsockname()[1]
    session = _start(tmp_path, mode="relayd", env={"FAKE_EXIT": "0"})
    relayd_ends: list[socket.socket] = []
    try:
        relayd_ends = _hand_over(session, relay, 9)
        control, data = relayd_ends
        header = recv_exact(control, relayd.HDR.size)
        assert relayd.HDR.parse(header).cmd is relayd.LttcommRelaydCommand.RELAYD_STREAMS_SENT
        control.sendall(relayd.GENERIC_REPLY.build(relayd.RelaydGenericReply(ret_code=10)))
        data_header = relayd.DATA_HDR.parse(recv_exact(data, relayd.DATA_HDR.size))
        assert recv_exact(data, data_header.data_size) == b"packet-bytes"
        metadata = relayd.HDR.parse(recv_exact(control, relayd.HDR.size))
        assert metadata.cmd is relayd.LttcommRelaydCommand.RELAYD_SEND_METADATA
        recv_exact(control, metadata.data_size)
        # The consumer closed its relay sockets: the relay daemon sees them end,
        # and closes its ends (relay_connection_put).
        assert control.recv(1) == b""
        assert data.recv(1) == b""
        control.close()
        data.close()
        for sock in (session.cmd, session.meta, session.err):
            sock.close()
        assert session.wrapper.wait(TIMEOUT) == 0
    finally:
        for sock in (relay, *relayd_ends):
            sock.close()
        if session.wrapper.poll() is None:
            session.wrapper.kill()
            session.wrapper.wait()
    info = json.loads(session.info.read_text())
    # The consumer's peer: the wrapper's loopback listener, not the relay daemon.
    assert [peer[0] for peer in info["peers"]] == [host, host]
    assert port not in [peer[1] for peer in info["peers"]]
    capture = load_capture(session.out)
    assert capture.header is not None and capture.header.extra["relayd"] == "interposed"
    relayd_records = capture.relayd
    peer = f"[{host}]" if family == socket.AF_INET6 else host
    assert {r.peer for r in relayd_records} == {f"{peer}:{port}"}
    assert {r.net_index for r in relayd_records} == {9}
    assert {(r.socket, r.connection) for r in relayd_records} == {
        (RelaydSocket.CONTROL, 0),
        (RelaydSocket.DATA, 0),
    }
    # The fd records are the loopback sockets the consumer got.
    assert [r.fd_kinds for r in capture.records if r.fd_count] == [("socket",), ("socket",)]
    decoder = RelaydDecoder()
    pieces = [piece for r in relayd_records for piece in decoder.observe(r)]
    decoder.finish()
    # In order on each socket (the two sockets' threads race each other).
    assert [
        (p.direction.short, p.step, p.exchange)
        for p in pieces
        if p.socket.value == ("relayd-control")
    ] == [
        ("c2r", "header", "RELAYD_STREAMS_SENT"),
        ("r2c", "reply", "RELAYD_STREAMS_SENT"),
        ("c2r", "header", "RELAYD_SEND_METADATA"),
        ("c2r", "payload", "RELAYD_SEND_METADATA"),
    ]
    assert [(p.step, p.raw[-12:]) for p in pieces if p.socket is RelaydSocket.DATA] == [
        ("data.header", relayd.DATA_HDR.build(data_header)[-12:]),
        ("data.packet", b"packet-bytes"),
    ]
    assert all(roundtrip_problem(p) is None for p in pieces)
    # Each direction of each connection ends with an end-of-stream record.
    ends = {(r.socket, r.direction) for r in relayd_records if r.is_eof}
    assert ends == {(s, d) for s in RelaydSocket for d in RelaydDirection}


def test_relayd_passthrough_hands_the_socket_over(tmp_path: Path) -> None:
    relay = socket.create_server(("127.0.0.1", 0))
    relay.settimeout(TIMEOUT)
    session = _start(tmp_path, mode="relayd", env={"FAKE_EXIT": "0", ENV_RELAYD: "passthrough"})
    port = relay.getsockname()[1]
    ends: list[socket.socket] = []
    try:
        ends = _hand_over(session, relay, 2)
        recv_exact(ends[0], relayd.HDR.size)
        ends[0].sendall(relayd.GENERIC_REPLY.build(relayd.RelaydGenericReply(ret_code=10)))
        for sock in (session.cmd, session.meta, session.err):
            sock.close()
        assert session.wrapper.wait(TIMEOUT) == 0
    finally:
        for sock in (relay, *ends):
            sock.close()
        if session.wrapper.poll() is None:
            session.wrapper.kill()
            session.wrapper.wait()
    info = json.loads(session.info.read_text())
    assert [peer[1] for peer in info["peers"]] == [port, port]  # the relay daemon itself
    capture = load_capture(session.out)
    assert capture.relayd == ()
    assert capture.header is not None and capture.header.extra["relayd"] == "passthrough"
