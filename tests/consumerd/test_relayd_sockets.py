"""ADD_RELAYD_SOCKET / DESTROY_RELAYD in ustref-consumerd's sans-IO core.

The session daemon hands over relayd sockets at the first domain command of a
network session (``cmd_setup_relayd``), so they must be accepted as the C
consumer does (status, fd, status), long before anything is streamed over them.
"""

from __future__ import annotations

import os
import socket
from typing import cast

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import bare_channel
from ustref.consumerd import handlers
from ustref.consumerd.exchange import Action, RelaydSock, Send, Sock
from ustref.consumerd.registry import ChannelType, Stream
from ustref.consumerd.relayd import LTTNG_OK
from ustref.consumerd.ring_backend import UstStream
from ustref.ids import RelaydId, StreamKey
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    DestroyRelaydMember,
    KeyArgs,
    LttngConsumerCommand,
    LttngStreamType,
    LttngTraceChunkCommandType,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    RelaydSockV2139,
    TraceChunkExistsMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.relayd import (
    GENERIC_REPLY,
    HDR,
    STATUS_STREAM,
    TRACE_CHUNK_EXISTS_REPLY,
    LttcommRelaydCommand,
    RelaydGenericReply,
    RelaydStatusStream,
    RelaydTraceChunkExistsReply,
)
from ustref.protocol.sockets import LttcommSockProto


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _relayd_sock(kind: LttngStreamType, net: int = 3) -> RelaydSockV2139:
    return RelaydSockV2139(
        net_index=net,
        type=kind,
        major=2,
        minor=13,
        relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
        session_id=7,
        relayd_session_id=42 if kind == LttngStreamType.LTTNG_STREAM_CONTROL else 0,
    )


def _add(driver: Driver, kind: LttngStreamType, fd: int, net: int = 3) -> list[object]:
    sock = _relayd_sock(kind, net)
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


def _chunk_exists(driver: Driver, net: int) -> list[Action]:
    query = TraceChunkExistsMember(
        relayd_id=OptionalU64(is_set=1, value=net), session_id=7, chunk_id=5
    )
    return driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS, query))


def _relay_answers(driver: Driver, sent: list[Action], reply: bytes) -> list[object]:
    """The relay daemon's reply to the RELAYD_TRACE_CHUNK_EXISTS the consumer sent."""
    (request,) = [a for a in sent if isinstance(a, Send) and a.sock == RelaydSock(3)]
    header = HDR.parse(request.data[: HDR.size])
    assert header.cmd is LttcommRelaydCommand.RELAYD_TRACE_CHUNK_EXISTS
    driver.core.receive(RelaydSock(3), reply, [], driver.now)
    return driver.statuses(driver.actions())


@pytest.mark.parametrize(
    ("exists", "ret_code", "expected"),
    [
        (1, LTTNG_OK, LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_REMOTE),
        (0, LTTNG_OK, LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK),
        (0, LTTNG_OK + 5, LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL),
    ],
)
def test_trace_chunk_exists_asks_the_relay_daemon(
    exists: int, ret_code: int, expected: LttcommReturnCode
) -> None:
    """``lttng_consumer_trace_chunk_exists``: a chunk this consumer does not hold is
    looked up on the relay daemon (RELAYD_TRACE_CHUNK_EXISTS): EXISTS_REMOTE, UNKNOWN,
    or RELAYD_FAIL when the relay answers an error."""
    driver = Driver(observe=False)
    control, peer1 = os.pipe()
    data, peer2 = os.pipe()
    try:
        _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control)
        _add(driver, LttngStreamType.LTTNG_STREAM_DATA, data)
        sent = _chunk_exists(driver, 3)
        # nothing answered yet: the command waits on the relay daemon
        assert not [a for a in sent if isinstance(a, Send) and a.sock is Sock.COMMAND]
        reply = RelaydTraceChunkExistsReply(
            generic=RelaydGenericReply(ret_code=ret_code), trace_chunk_exists=exists
        )
        assert _relay_answers(driver, sent, TRACE_CHUNK_EXISTS_REPLY.build(reply)) == [expected]
    finally:
        for fd in (peer1, peer2):
            os.close(fd)


def test_trace_chunk_exists_of_an_unknown_relay_daemon_is_invalid() -> None:
    driver = Driver()
    assert driver.statuses(_chunk_exists(driver, 9)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS
    ]


def test_get_channel_answers_relayd_fail_when_the_relay_is_gone() -> None:
    """``send_channel_to_sessiond_and_relayd``: a streamed channel whose relay daemon
    cannot take its streams answers RELAYD_FAIL alone (no hand-over)."""
    driver = Driver()
    channel = bare_channel(4, ChannelType.DATA, relayd_id=RelaydId(3))
    driver.core.registry.channels[channel.key] = channel
    get = _msg(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, KeyArgs(key=4))
    actions = driver.command(get)
    assert driver.statuses(actions) == [LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL]
    assert not channel.sent_to_sessiond


def test_setup_metadata_answers_relayd_fail_when_streams_sent_fails() -> None:
    """``setup_metadata``: the metadata stream is announced (RELAYD_ADD_STREAM), then
    RELAYD_STREAMS_SENT; the relay refusing the latter answers RELAYD_FAIL, and the
    stream is destroyed with its channel (its last reference)."""

    class NoStream:
        def destroy(self) -> None:
            pass

    driver = Driver(observe=False)
    control, peer1 = os.pipe()
    data, peer2 = os.pipe()
    try:
        _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control)
        _add(driver, LttngStreamType.LTTNG_STREAM_DATA, data)
        channel = bare_channel(5, ChannelType.METADATA, relayd_id=RelaydId(3))
        stream = Stream(
            key=StreamKey(0), channel=channel, cpu=0, ust=cast(UstStream, NoStream()), wait_fd=-1
        )
        channel.streams.append(stream)
        driver.core.registry.channels[channel.key] = channel
        setup = _msg(LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=5))
        sent = driver.command(setup)
        relay = [a for a in sent if isinstance(a, Send) and a.sock == RelaydSock(3)]
        assert HDR.parse(relay[0].data[: HDR.size]).cmd is LttcommRelaydCommand.RELAYD_ADD_STREAM
        added = RelaydStatusStream(handle=9, ret_code=LTTNG_OK)
        driver.core.receive(RelaydSock(3), STATUS_STREAM.build(added), [], driver.now)
        sent = driver.actions()
        relay = [a for a in sent if isinstance(a, Send) and a.sock == RelaydSock(3)]
        assert HDR.parse(relay[0].data[: HDR.size]).cmd is LttcommRelaydCommand.RELAYD_STREAMS_SENT
        refused = RelaydGenericReply(ret_code=LTTNG_OK + 5)
        driver.core.receive(RelaydSock(3), GENERIC_REPLY.build(refused), [], driver.now)
        assert driver.statuses(driver.actions()) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL
        ]
        assert channel.key not in driver.core.registry.channels
    finally:
        for fd in (peer1, peer2):
            os.close(fd)


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    """A connected loopback TCP connection (client, server): a relay daemon socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    return client, server


@pytest.mark.parametrize("kind", ["dev-null", "unix-peer-open", "unix-peer-closed", "unconnected"])
def test_a_relayd_socket_that_is_not_inet_is_refused_with_fatal(kind: str) -> None:
    """``lttcomm_populate_sock_from_open_socket`` (sessiond-comm.c:486–549): a descriptor
    whose ``getpeername`` fails (not a socket, not connected) gets the final status FATAL
    (consumer.c:3676–3678); a peer that is neither AF_INET nor AF_INET6 makes C
    ``abort()`` (sessiond-comm.c:528), where ustref answers FATAL the same way. The fd is
    closed, no relayd pair is made, and the next command is served. The shell answers the
    :class:`PeerFamily` request on the real fd (``relay_family=None``)."""
    driver = Driver(relay_family=None)
    keep: list[socket.socket] = []
    if kind == "dev-null":
        fd = os.open(os.devnull, os.O_RDONLY)
    elif kind == "unconnected":
        fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM).detach()
    else:
        left, right = socket.socketpair()
        fd = left.detach()
        if kind == "unix-peer-open":
            keep.append(right)
        else:
            right.close()
    try:
        assert _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, fd) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        ]
        assert not driver.core.registry.relayds
        assert RelaydSock(3) not in driver.core.relayd_slots()
        assert not _is_open(fd)
        destroy = _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD, DestroyRelaydMember(net_seq_idx=3)
        )
        assert driver.statuses(driver.command(destroy)) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL
        ]
    finally:
        for sock in keep:
            sock.close()


def test_a_data_socket_that_is_not_inet_leaves_the_pair_as_it_was() -> None:
    """A refused data socket (C's error path: only the fd is closed) keeps the pair its
    control socket made, still without a data socket."""
    driver = Driver(relay_family=None)
    client, server = _tcp_pair()
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        control = client.detach()
        assert _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        ]
        assert _add(driver, LttngStreamType.LTTNG_STREAM_DATA, fd) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        ]
        pair = driver.core.registry.relayds[RelaydId(3)]
        assert (pair.control_fd, pair.data_fd) == (control, None)
        assert not _is_open(fd)
    finally:
        driver.core.shutdown(driver.now)
        server.close()


def test_a_connected_tcp_relayd_socket_is_kept() -> None:
    """A connected TCP socket, the kind the session daemon hands over, is accepted as
    before: ``getpeername`` gives AF_INET."""
    driver = Driver(relay_family=None)
    client, server = _tcp_pair()
    try:
        fd = client.detach()
        assert _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, fd) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        ]
        assert driver.core.registry.relayds[RelaydId(3)].control_fd == fd
    finally:
        driver.core.shutdown(driver.now)
        server.close()


@pytest.mark.parametrize(
    ("family", "final"),
    [
        (socket.AF_INET6, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        (socket.AF_UNIX, LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL),
        (socket.AF_NETLINK, LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL),
    ],
)
def test_the_peer_family_decides(family: socket.AddressFamily, final: LttcommReturnCode) -> None:
    """The handler's side of :class:`PeerFamily`, the family answered by the test: only
    AF_INET and AF_INET6 make a relayd socket (sessiond-comm.c:516–529)."""
    driver = Driver(relay_family=family)
    control, peer = os.pipe()
    try:
        assert _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            final,
        ]
        assert bool(driver.core.registry.relayds) is (
            final == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        )
    finally:
        driver.core.shutdown(driver.now)
        os.close(peer)


def test_a_non_utf8_relay_chunk_path_is_answered_as_it_came() -> None:
    """CLOSE_TRACE_CHUNK of a relay daemon's chunk answers the path the relay sent; a
    path that is not UTF-8 goes back to the session daemon byte for byte (it used to
    be re-encoded: replaced, or a ``UnicodeEncodeError`` past the error boundary)."""
    driver = Driver(observe=False)
    control, peer1 = os.pipe()
    data, peer2 = os.pipe()
    relay = RelaydSock(3)
    try:
        _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control)
        _add(driver, LttngStreamType.LTTNG_STREAM_DATA, data)
        create = CreateTraceChunkMember(
            relayd_id=OptionalU64(is_set=1, value=3),
            override_name="",
            session_id=7,
            chunk_id=5,
            creation_timestamp=1_700_000_000,
            credentials=OptionalCredentials(is_set=0, value=Credentials(uid=0, gid=0)),
        )
        sent = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, create))
        assert [a for a in sent if isinstance(a, Send) and a.sock == relay]
        driver.core.receive(
            relay, GENERIC_REPLY.build(RelaydGenericReply(ret_code=LTTNG_OK)), [], 0
        )
        assert driver.statuses(driver.actions()) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
        close = CloseTraceChunkMember(
            relayd_id=OptionalU64(is_set=1, value=3),
            session_id=7,
            chunk_id=5,
            close_timestamp=1_700_000_100,
            close_command=OptionalTraceChunkCommand(
                is_set=0,
                value=LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED,
            ),
        )
        sent = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, close))
        assert [a for a in sent if isinstance(a, Send) and a.sock == relay]
        path = b"host/s\xff/archives/x\0"
        head = LTTNG_OK.to_bytes(4, "big") + len(path).to_bytes(4, "big")
        driver.core.receive(relay, head + path, [], 0)
        (reply,) = [a for a in driver.actions() if isinstance(a, Send) and a.sock is Sock.COMMAND]
        answer = CLOSE_TRACE_CHUNK_REPLY.parse(reply.data)
        assert answer.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        assert answer.path == path
        assert not driver.core.closed
    finally:
        driver.core.shutdown(driver.now)
        for fd in (peer1, peer2):
            os.close(fd)
