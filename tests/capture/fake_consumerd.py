"""A stand-in ``lttng-consumerd`` for the wrapper's tests (no LTTng, no root).

It follows the real consumer's start-up (``lttng-consumerd.c``, ``consumer.c``
@ lttng-tools v2.13.9): connect to the error socket, listen on the command
socket, report ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY`` (100), accept the
command then the metadata connection. Then, with ``FAKE_MODE=script`` (the
default), it plays a short scripted conversation (see ``test_wrapper.py``)
and exits with ``FAKE_EXIT`` once the command socket reaches end of stream;
with ``FAKE_MODE=hang`` it waits for a signal. It writes ``{"argv", "pid",
"ppid"}`` as JSON to ``FAKE_INFO``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import sys

from ustref.protocol.consumer import CONSUMER_MSG_SIZE, LttngConsumerCommand
from ustref.protocol.relayd import (
    DATA_HDR,
    HDR,
    METADATA_PAYLOAD,
    LttcommRelaydCommand,
    RelaydDataHdr,
    RelaydHdr,
    RelaydMetadataPayload,
)
from ustref.transport import ConsumerdArgv, consumerd_side, recv_exact

SET_CHANNEL_MONITOR_PIPE = LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE
SEND_FILE = 99


def _u32(value: int) -> bytes:
    return value.to_bytes(4, sys.byteorder)


def _script(cmd: socket.socket, meta: socket.socket) -> None:
    # SET_CHANNEL_MONITOR_PIPE: status, then the pipe (1 byte + fd), status.
    msg = recv_exact(cmd, 16)
    assert int.from_bytes(msg[:4], sys.byteorder) == SET_CHANNEL_MONITOR_PIPE, msg
    cmd.sendall(_u32(0))
    data, fds, _flags, _addr = socket.recv_fds(cmd, 1, 4)
    assert data == b"\0" and len(fds) == 1, (data, fds)
    assert stat.S_ISFIFO(os.fstat(fds[0]).st_mode)
    os.write(fds[0], b"S" * 32)
    cmd.sendall(_u32(0))
    # A file fd: answer with its contents, then hand back a pipe pair, the
    # way lttng-ust-ctl sends a stream (bytes, then 1 byte + fds, unpaced).
    msg = recv_exact(cmd, 16)
    assert int.from_bytes(msg[:4], sys.byteorder) == SEND_FILE, msg
    data, fds, _flags, _addr = socket.recv_fds(cmd, 1, 4)
    assert data == b"\0" and len(fds) == 1, (data, fds)
    content = os.pread(fds[0], 100, 0)
    os.close(fds[0])
    read_end, write_end = os.pipe()
    os.write(write_end, b"through")
    cmd.sendall(_u32(len(content)) + content)
    socket.send_fds(cmd, [b"\0"], [read_end, write_end])
    os.close(read_end)
    os.close(write_end)
    # The metadata connection: a request, an answer.
    meta.sendall(b"REQ1")
    assert recv_exact(meta, 4) == b"RSP1"


def _take_relayd_socket(cmd: socket.socket) -> socket.socket:
    """``consumer_add_relayd_socket``: the command, a status, then 1 byte + the fd."""
    msg = recv_exact(cmd, CONSUMER_MSG_SIZE)
    assert (
        int.from_bytes(msg[:4], sys.byteorder)
        == LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET
    )
    cmd.sendall(_u32(0))
    data, fds, _flags, _addr = socket.recv_fds(cmd, 1, 1)
    assert data == b"\0" and len(fds) == 1, (data, fds)
    sock = socket.socket(fileno=fds[0])
    cmd.sendall(_u32(0))
    return sock


def _relayd_script(cmd: socket.socket, info: dict[str, object]) -> None:
    control = _take_relayd_socket(cmd)
    data = _take_relayd_socket(cmd)
    # What lttcomm_populate_sock_from_open_socket checks (it aborts on other families).
    info["peers"] = [control.getpeername()[:2], data.getpeername()[:2]]
    # RELAYD_STREAMS_SENT: a header, no payload, a generic reply.
    control.sendall(
        HDR.build(
            RelaydHdr(
                circuit_id=0,
                data_size=0,
                cmd=LttcommRelaydCommand.RELAYD_STREAMS_SENT,
                cmd_version=0,
            )
        )
    )
    assert recv_exact(control, 4) == (10).to_bytes(4, "big")
    # A packet on the data socket, in two sends (header, then content).
    packet = b"packet-bytes"
    data.sendall(
        DATA_HDR.build(
            RelaydDataHdr(
                circuit_id=0, stream_id=5, net_seq_num=0, data_size=len(packet), padding_size=4
            )
        )
    )
    data.sendall(packet)
    # RELAYD_SEND_METADATA: no reply.
    payload = METADATA_PAYLOAD.build(
        RelaydMetadataPayload(stream_id=6, padding_size=0, payload=b"/* CTF */")
    )
    control.sendall(
        HDR.build(
            RelaydHdr(
                circuit_id=0,
                data_size=len(payload),
                cmd=LttcommRelaydCommand.RELAYD_SEND_METADATA,
                cmd_version=0,
            )
        )
        + payload
    )
    control.close()
    data.close()


def main() -> int:
    argv = sys.argv[1:]
    info: dict[str, object] = {"argv": argv, "pid": os.getpid(), "ppid": os.getppid()}
    with open(os.environ["FAKE_INFO"], "w") as out:
        json.dump(info, out)
    sockets = consumerd_side(ConsumerdArgv.parse(argv))
    cmd, meta = sockets.command, sockets.metadata
    mode = os.environ.get("FAKE_MODE", "script")
    if mode == "hang":
        signal.pause()
        return 0
    if mode == "relayd":
        _relayd_script(cmd, info)
        with open(os.environ["FAKE_INFO"], "w") as out:
            json.dump(info, out)
    else:
        _script(cmd, meta)
    while cmd.recv(4096):
        pass
    return int(os.environ.get("FAKE_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
