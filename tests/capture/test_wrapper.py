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
from ustref.capture.format import CaptureHeader, CaptureWriter
from ustref.capture.launch import package_root
from ustref.capture.wrapper import (
    ENV_CONSUMERD,
    ENV_MONITOR,
    ENV_OUT,
    SET_CHANNEL_MONITOR_PIPE,
    Recorder,
    _Link,
    _Relay,
    fd_kind,
)
from ustref.protocol.conversation.rules import STARTUP_CODE
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
