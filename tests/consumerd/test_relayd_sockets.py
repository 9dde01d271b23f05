"""ADD_RELAYD_SOCKET / DESTROY_RELAYD in ustref-consumerd's sans-IO core.

The session daemon hands over relayd sockets at the first domain command of a
network session (``cmd_setup_relayd``), so they must be accepted as the C
consumer does (status, fd, status), long before anything is streamed over them.
"""

from __future__ import annotations

import os

from tests.consumerd.drive import Driver
from ustref.consumerd import handlers
from ustref.consumerd.exchange import RelaydSock
from ustref.ids import RelaydId
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    ConsumerMsgV2139,
    DestroyRelaydMember,
    LttngConsumerCommand,
    LttngStreamType,
    RelaydSockV2139,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.sockets import LttcommSockProto


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _add(driver: Driver, kind: LttngStreamType, fd: int, net: int = 3) -> list[object]:
    sock = RelaydSockV2139(
        net_index=net,
        type=kind,
        major=2,
        minor=13,
        relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
        session_id=7,
        relayd_session_id=42 if kind == LttngStreamType.LTTNG_STREAM_CONTROL else 0,
    )
    first = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, sock))
    return driver.statuses(first + driver.command(b"\0", [fd]))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_control_then_data_socket_are_kept_then_closed_by_destroy() -> None:
    driver = Driver()
    core = driver.core
    control, peer1 = os.pipe()
    data, peer2 = os.pipe()
    try:
        assert _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        ]
        assert _add(driver, LttngStreamType.LTTNG_STREAM_DATA, data) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        ]
        pair = core.registry.relayds[RelaydId(3)]
        assert (pair.control_fd, pair.data_fd) == (control, data)
        assert pair.relayd_session_id == 42
        assert pair.sessiond_session_id == 7
        destroy = _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD, DestroyRelaydMember(net_seq_idx=3)
        )
        assert driver.statuses(driver.command(destroy)) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        ]
        assert not core.registry.relayds
        assert not _is_open(control)
        assert not _is_open(data)
    finally:
        os.close(peer1)
        os.close(peer2)


def test_destroy_of_an_unknown_relayd_fails() -> None:
    driver = Driver()
    destroy = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD, DestroyRelaydMember(net_seq_idx=9)
    )
    assert driver.statuses(driver.command(destroy)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL
    ]


def test_shutdown_closes_kept_sockets() -> None:
    driver = Driver()
    core = driver.core
    control, peer = os.pipe()
    try:
        _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control)
        core.shutdown(0)
        assert not core.registry.relayds
        assert not _is_open(control)
    finally:
        os.close(peer)


def test_destroy_waits_for_the_last_stream_of_the_pair() -> None:
    """``consumer_flag_relayd_for_destroy``: a pair a stream still sends to is only
    flagged; it goes once that stream's CLOSE_STREAM is answered
    (``consumer_stream_relayd_close``)."""
    driver = Driver()
    core = driver.core
    control, peer1 = os.pipe()
    data, peer2 = os.pipe()
    try:
        _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control)
        _add(driver, LttngStreamType.LTTNG_STREAM_DATA, data)
        pair = core.registry.relayds[RelaydId(3)]
        assert (pair.major, pair.minor) == (2, 13)
        pair.refcount = 1  # a stream announced with RELAYD_ADD_STREAM holds it
        destroy = _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD, DestroyRelaydMember(net_seq_idx=3)
        )
        assert driver.statuses(driver.command(destroy)) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        ]
        assert pair.destroy_flag and core.registry.relayds and _is_open(control)
        sock = RelaydSock(3)
        closed = handlers._closer(core, pair, RelaydId(3))
        closed()
        assert not core.registry.relayds
        assert not _is_open(control) and not _is_open(data)
        assert sock not in core.relayd_slots()
    finally:
        for fd in (peer1, peer2):
            os.close(fd)
