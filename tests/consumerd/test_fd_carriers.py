"""Descriptors ride on a byte: the core hands a handler only the fds that came with the
bytes it reads, as ``lttcomm_recv_fds_unix_sock`` (one ``recvmsg`` of the 1-byte carrier
with room for the fds) gets them in C, never an fd that came with other bytes.

Found by ``ustref fuzz consumerd --target both`` (seed 11): an ADD_RELAYD_SOCKET longer
than the message. C reads the carrier byte from the extra bytes, finds no fd and answers
ERROR_RECV_FD; ustref waited for an fd that would never come and answered nothing."""

from __future__ import annotations

import os
from collections.abc import Sequence

from tests.consumerd.drive import Driver
from tests.consumerd.test_relayd_sockets import _is_open, _msg, _relayd_sock
from ustref.consumerd.exchange import Action, Send, SetNonBlocking, Sock
from ustref.protocol.consumer import (
    CONSUMER_MSG_UNION_SIZE,
    ERROR_SOCKET_CODE,
    STATUS_MSG,
    LttngConsumerCommand,
    LttngStreamType,
    SessionIdArgs,
)
from ustref.protocol.lttng_error import LttcommReturnCode

OK = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
RECV_FD = LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_RECV_FD


def _replies(actions: Sequence[Action], sock: Sock) -> list[int]:
    """The codes sent on ``sock``: statuses on the command socket, codes on the error
    socket (both a 32-bit code)."""
    return [
        ERROR_SOCKET_CODE.parse(a.data).code
        if sock is Sock.ERROR
        else STATUS_MSG.parse(a.data).ret_code
        for a in actions
        if isinstance(a, Send) and a.sock is sock
    ]


def test_a_relayd_socket_byte_without_its_fd_answers_error_recv_fd() -> None:
    driver = Driver(observe=False)
    add = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET,
        _relayd_sock(LttngStreamType.LTTNG_STREAM_CONTROL),
    )
    actions = driver.command(add)
    assert _replies(actions, Sock.COMMAND) == [OK]
    actions = driver.command(b"\0")
    assert _replies(actions, Sock.COMMAND) == [RECV_FD]
    assert _replies(actions, Sock.ERROR) == [RECV_FD]
    assert not driver.core.registry.relayds
    # The exchange is over: the next command is served.
    pending = _msg(LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=1))
    assert len([a for a in driver.command(pending) if isinstance(a, Send)]) == 1


def test_the_carrier_glued_to_its_command_brings_the_fd() -> None:
    """The kernel glues a queued command to the carrier that follows it; the fd is the
    carrier's (the last byte of the read), and the handler gets it."""
    driver = Driver(observe=False)
    read_end, write_end = os.pipe()
    try:
        raw = _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,
            bytes(CONSUMER_MSG_UNION_SIZE),
        )
        actions = driver.command(raw + b"\0", [write_end])
        assert SetNonBlocking(write_end) in actions
        assert _replies(actions, Sock.COMMAND) == [OK, OK]
        assert driver.core.monitor_pipe == write_end
    finally:
        os.close(read_end)
        os.close(write_end)


def test_an_fd_that_came_with_a_command_is_closed_not_kept() -> None:
    """An fd riding on the bytes of a command (read in C without room for fds: the
    kernel closes it) is not handed to the next command that asks for one."""
    driver = Driver(observe=False)
    read_end, write_end = os.pipe()
    os.close(read_end)
    pending = _msg(LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=1))
    driver.command(pending, [write_end])
    assert not _is_open(write_end)
    raw = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE, bytes(CONSUMER_MSG_UNION_SIZE)
    )
    assert _replies(driver.command(raw), Sock.COMMAND) == [OK]
    actions = driver.command(b"\0")
    assert _replies(actions, Sock.COMMAND) == [LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL]
    assert driver.core.monitor_pipe is None
