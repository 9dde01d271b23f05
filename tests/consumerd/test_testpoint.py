"""The test-only pause pipe (consumer_testpoints.c's protocol, built into ustref):
the environment that turns it on, the bytes that pause and resume, the named pipe
itself, and what the core leaves alone while paused. No LTTng daemon runs."""

from __future__ import annotations

import os
import selectors
import socket
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from tests.consumerd.fakes import bare_channel
from ustref.consumerd import testpoint
from ustref.consumerd.core import Core
from ustref.consumerd.registry import Channel, ChannelType, Stream
from ustref.consumerd.ring_backend import UstStream
from ustref.consumerd.startup import HEALTH_PATH_ENV
from ustref.ids import StreamKey
from ustref.protocol.consumer import ERROR_SOCKET_CODE
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.ring import libustctl
from ustref.ring.reader import Status, StreamReader

PAUSE = 49
"""notification.c ``stop_consumer``: ``write_pipe(path, 49)``."""
RESUME = 0
"""notification.c ``resume_consumer``: ``write_pipe(path, 0)``."""


def _on(prefix: str) -> dict[str, str]:
    return {testpoint.TESTPOINT_ENV: "1", testpoint.PAUSE_PIPE_ENV: prefix}


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {testpoint.TESTPOINT_ENV: "1"},
        {testpoint.PAUSE_PIPE_ENV: "/tmp/p"},
        {testpoint.TESTPOINT_ENV: "0", testpoint.PAUSE_PIPE_ENV: "/tmp/p"},
        {testpoint.TESTPOINT_ENV: "", testpoint.PAUSE_PIPE_ENV: "/tmp/p"},
    ],
)
def test_the_pipe_is_off_unless_both_variables_say_so(environ: dict[str, str]) -> None:
    assert testpoint.pause_pipe_path(environ) is None


def test_the_pipe_path_is_prefix_dash_domain() -> None:
    assert testpoint.pause_pipe_path(_on("/tmp/lttng.t_p_n.abc")) == "/tmp/lttng.t_p_n.abc-ust64"
    # lttng_testpoint_check: strncmp(value, "1", 1) == 0
    env = {testpoint.TESTPOINT_ENV: "1yes", testpoint.PAUSE_PIPE_ENV: "p"}
    assert testpoint.pause_pipe_path(env) == "p-ust64"


@pytest.mark.parametrize(
    ("data", "state"),
    [
        (b"", None),
        (bytes([PAUSE]), True),
        (bytes([RESUME]), False),
        (bytes([PAUSE, RESUME]), False),
        (bytes([RESUME, PAUSE]), True),
        (bytes([2]), True),
    ],
)
def test_the_freshest_byte_decides(data: bytes, state: bool | None) -> None:
    assert testpoint.freshest_state(data) is state


def _write_pipe(path: str, value: int) -> None:
    """notification.c ``write_pipe``: open non-blocking, write one uint8_t, close."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        assert os.write(fd, bytes([value])) == 1
    finally:
        os.close(fd)


def test_absent_variables_create_nothing(tmp_path: Path) -> None:
    assert testpoint.open_from_env({testpoint.PAUSE_PIPE_ENV: str(tmp_path / "p")}) is None
    assert testpoint.open_from_env({}) is None
    assert list(tmp_path.iterdir()) == []


def test_named_pipe_protocol(tmp_path: Path) -> None:
    prefix = str(tmp_path / "lttng.t_p_n.x")
    pipe = testpoint.open_from_env(_on(prefix))
    assert pipe is not None
    try:
        assert pipe.path == prefix + "-ust64"
        st = os.stat(pipe.path)
        assert stat.S_ISFIFO(st.st_mode)
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(st.st_mode) == 0o660 & ~umask
        assert pipe.read_state() is None
        _write_pipe(pipe.path, PAUSE)
        assert pipe.read_state() is True
        # The writer closed: the read end must not look readable (no busy loop).
        with selectors.DefaultSelector() as sel:
            sel.register(pipe, selectors.EVENT_READ)
            assert sel.select(0) == []
            _write_pipe(pipe.path, PAUSE)
            _write_pipe(pipe.path, RESUME)
            assert len(sel.select(0)) == 1
        assert pipe.read_state() is False
        assert pipe.read_state() is None
    finally:
        pipe.close()
    assert not os.path.exists(pipe.path)


def test_a_pipe_that_cannot_be_created_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = str(tmp_path / "p")
    Path(prefix + "-ust64").write_text("in the way")
    assert testpoint.open_from_env(_on(prefix)) is None
    assert "mkfifo" in caplog.text


class _Reader:
    """Stands in for :class:`StreamReader`: counts the consumer's read attempts."""

    def __init__(self) -> None:
        self.reads = 0

    geometry = SimpleNamespace(subbuf_size=4096, num_subbuf=4)

    def get_next_subbuf(self) -> Status:
        self.reads += 1
        return Status.AGAIN

    def get_next_subbufs(self, limit: int) -> tuple[Status, list[object]]:
        """The batch read of :func:`ustref.ring.drain.drain`: nothing ready."""
        self.reads += 1
        return Status.AGAIN, []


def _channel(key: int, kind: ChannelType) -> Channel:
    return bare_channel(key, kind)


def _stream(core: Core, key: int, kind: ChannelType, wait_fd: int) -> tuple[Stream, _Reader]:
    channel = _channel(key, kind)
    core.registry.channels[channel.key] = channel
    reader = _Reader()
    stream = Stream(
        key=StreamKey(key), channel=channel, cpu=0, ust=cast(UstStream, object()), wait_fd=wait_fd
    )
    stream.reader = cast(StreamReader, reader)
    channel.streams.append(stream)
    return stream, reader


def test_paused_core_leaves_data_streams_alone_but_not_metadata() -> None:
    core = Core()
    assert core.data_consumption_paused is False
    data, data_reader = _stream(core, 1, ChannelType.DATA, wait_fd=100)
    meta, meta_reader = _stream(core, 2, ChannelType.METADATA, wait_fd=101)
    assert set(core.watched()) == {100, 101}

    core.pause_data_consumption(True, 0)
    assert set(core.watched()) == {101}
    assert not core.consumes(data) and core.consumes(meta)
    core.drain(data)
    core.drain(meta)
    assert (data_reader.reads, meta_reader.reads) == (0, 1)
    core.pause_data_consumption(True, 0)  # a repeated pause changes nothing
    assert data_reader.reads == 0

    core.pause_data_consumption(False, 0)  # resume: the data thread's next pass
    assert data_reader.reads == 1
    assert set(core.watched()) == {100, 101}
    core.pause_data_consumption(False, 0)  # a repeated resume drains nothing more
    assert data_reader.reads == 1
    core.drain(data)
    assert data_reader.reads == 2


def test_rotation_drains_even_while_paused() -> None:
    core = Core()
    data, reader = _stream(core, 1, ChannelType.DATA, wait_fd=100)
    core.pause_data_consumption(True, 0)
    core.drain(data, even_paused=True)
    assert reader.reads == 1


@pytest.mark.skipif(not libustctl.available(), reason="liblttng-ust-ctl not loadable")
@pytest.mark.parametrize("enabled", [True, False])
def test_the_daemon_creates_the_pipe_before_ready_and_removes_it(
    tmp_path: Path, enabled: bool
) -> None:
    err_path = str(tmp_path / "error")
    cmd_path = str(tmp_path / "command")
    prefix = str(tmp_path / "lttng.t_p_n.x")
    err_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    err_listener.bind(err_path)
    err_listener.listen(1)
    env = dict(os.environ, **{HEALTH_PATH_ENV: str(tmp_path / "health")})
    for name in (testpoint.TESTPOINT_ENV, testpoint.PAUSE_PIPE_ENV):
        env.pop(name, None)
    if enabled:
        env.update(_on(prefix))
    argv = [sys.executable, "-m", "ustref.consumerd", "-u", "--consumerd-cmd-sock", cmd_path]
    argv += ["--consumerd-err-sock", err_path]
    proc = subprocess.Popen(argv, env=env)
    try:
        err_listener.settimeout(30)
        err, _ = err_listener.accept()
        err.settimeout(30)
        ready = ERROR_SOCKET_CODE.parse(err.recv(4, socket.MSG_WAITALL))
        assert ready.code == LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY
        pipe = prefix + "-ust64"
        assert os.path.exists(pipe) is enabled
        if enabled:
            _write_pipe(pipe, PAUSE)
            _write_pipe(pipe, RESUME)
        command = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        command.connect(cmd_path)
        metadata = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        metadata.connect(cmd_path)
        command.close()
        assert proc.wait(timeout=30) == 0
        metadata.close()
        err.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err_listener.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["command", "error"]
