"""ustref-consumerd's start-up, as lttng-sessiond sees it, with a scripted session
daemon: error socket, COMMAND_SOCK_READY, command then metadata connection,
health queries, a command, EOF → exit 0. No LTTng daemon runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ustref.consumerd.startup import HEALTH_PATH_ENV
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    ERROR_SOCKET_CODE,
    STATUS_MSG,
    ConsumerMsgV2139,
    InitMember,
    LttngConsumerCommand,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.ring import libustctl

pytestmark = pytest.mark.skipif(not libustctl.available(), reason="liblttng-ust-ctl not loadable")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "unexpected EOF"
        data += chunk
    return data


def test_startup_health_command_and_clean_exit(tmp_path: Path) -> None:
    err_path = str(tmp_path / "error")
    cmd_path = str(tmp_path / "command")
    health = str(tmp_path / "health")
    err_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    err_listener.bind(err_path)
    err_listener.listen(1)
    env = dict(os.environ, **{HEALTH_PATH_ENV: health})
    argv = [sys.executable, "-m", "ustref.consumerd", "", "-u", "--consumerd-cmd-sock", cmd_path]
    argv += ["--consumerd-err-sock", err_path, "--group", "tracing"]
    proc = subprocess.Popen(argv, env=env)
    try:
        err_listener.settimeout(30)
        err, _ = err_listener.accept()
        err.settimeout(30)
        ready = ERROR_SOCKET_CODE.parse(_recv_exact(err, 4))
        assert ready.code == LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert os.path.basename(cmdline[0]) == b"lttng-consumerd"
        assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "lttng-consumerd"
        command = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        command.connect(cmd_path)
        metadata = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        metadata.connect(cmd_path)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(30)
        probe.connect(health)
        probe.sendall((1).to_bytes(4, "little"))
        assert _recv_exact(probe, 8) == bytes(8)
        probe.close()
        msg = ConsumerMsgV2139(
            cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_INIT,
            u=InitMember(sessiond_uuid=bytes(range(16))),
        )
        command.settimeout(30)
        command.sendall(CONSUMER_MSG[Abi.V2_13_9].build(msg))
        status = STATUS_MSG.parse(_recv_exact(command, 4))
        assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        command.close()
        assert proc.wait(timeout=30) == 0
        metadata.close()
        err.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err_listener.close()
    assert not Path(health).exists()
