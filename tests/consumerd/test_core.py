"""Unit tests of ustref-consumerd's sans-IO core: no daemon, no socket."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import bare_channel
from tests.consumerd.test_testpoint import _stream
from ustref.cli import main as ustref_main
from ustref.consumerd.cli import UsageError, main, parse_args
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import Send, SetNonBlocking, Sock
from ustref.consumerd.handlers import HANDLERS
from ustref.consumerd.metadata import MetadataCache
from ustref.consumerd.registry import Channel, ChannelType
from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    CONSUMER_MSG_UNION_SIZE,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    LOST_PACKETS_REPLY,
    NO_RELAYD,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    InitMember,
    KeyArgs,
    LttngConsumerCommand,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    RotateChannelMember,
    SessionChannelArgs,
    SessionIdArgs,
    TraceChunkExistsMember,
)
from ustref.protocol.conversation.rules import REPLY_AFTER
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    spec = CONSUMER_MSG[Abi.V2_13_9]
    return spec.build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _statuses(driver: Driver, raw: bytes, fds: list[int] | None = None) -> list[object]:
    """Send ``raw`` through the driver (the conversation table checks the replies);
    the status codes answered."""
    actions = driver.command(raw, fds or [])
    assert all(isinstance(a, (Send, SetNonBlocking)) for a in actions), actions
    return driver.statuses(actions)


def test_handlers_cover_exactly_the_conversation_table() -> None:
    assert set(HANDLERS) == set(REPLY_AFTER[Abi.V2_13_9])
    assert set(HANDLERS) == set(LttngConsumerCommand)


def test_handlers_and_the_behaviour_table_cover_the_same_commands() -> None:
    """The contract of :mod:`ustref.consumerd.behaviour`: the spec's per-command
    behaviour and the daemon's handler table speak of the same commands, no more."""
    from ustref.consumerd.behaviour import BEHAVIOUR

    assert set(HANDLERS) == set(BEHAVIOUR)


def test_init_then_already_set() -> None:
    driver = Driver()
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(range(16))))
    assert _statuses(driver, raw) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    assert _statuses(driver, raw) == [LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET]


def test_a_command_split_across_reads_is_handled_once_whole() -> None:
    driver = Driver()
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(16)))
    assert driver.command(raw[:100]) == []
    assert _statuses(driver, raw[100:]) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]


def test_monitor_pipe_waits_for_its_fd() -> None:
    driver = Driver()
    read_end, write_end = os.pipe()
    try:
        raw = _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,
            bytes(CONSUMER_MSG_UNION_SIZE),
        )
        assert _statuses(driver, raw) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
        actions = driver.command(b"\0", [write_end])
        assert actions[0] == SetNonBlocking(write_end)  # an action, performed by the shell
        assert driver.statuses(actions) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
        assert driver.core.monitor_pipe == write_end
        assert os.get_blocking(write_end) is False
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (
            LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL,
            LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA,
            LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA,
            LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL,
            LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL,
            LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL,
            LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND,
        ),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL,
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        ),
    ],
)
def test_unknown_channel_statuses(cmd: LttngConsumerCommand, expected: object) -> None:
    assert _statuses(Driver(), _msg(cmd, KeyArgs(key=42))) == [expected]


def test_data_pending_of_an_empty_session_is_zero() -> None:
    driver = Driver()
    (action,) = driver.command(
        _msg(LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=3))
    )
    assert isinstance(action, Send)
    assert DATA_PENDING_REPLY.parse(action.data).is_data_pending == 0


def test_close_of_an_unknown_chunk() -> None:
    driver = Driver()
    member = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        session_id=1,
        chunk_id=7,
        close_timestamp=0,
        close_command=OptionalTraceChunkCommand(is_set=0, value=0),  # type: ignore[arg-type]
    )
    (action,) = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, member))
    assert isinstance(action, Send)
    reply = CLOSE_TRACE_CHUNK_REPLY.parse(action.data)
    assert reply.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    assert reply.path == b"\0"


def test_malformed_and_ignored_commands_send_nothing_and_do_not_stop() -> None:
    driver = Driver(observe=False)  # the observer rightly rejects the garbage command
    garbage = (9999).to_bytes(4, "little") + bytes(CONSUMER_MSG_SIZE - 4)
    assert driver.command(garbage) == []
    assert (
        driver.command(
            _msg(LttngConsumerCommand.LTTNG_CONSUMER_STOP, bytes(CONSUMER_MSG_UNION_SIZE))
        )
        == []
    )
    assert not driver.core.closed
    init = _msg(LttngConsumerCommand.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(16)))
    assert _statuses(driver, init) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]


def test_eof_closes() -> None:
    core = Core()
    core.receive(Sock.COMMAND, b"", [], 0)
    assert core.closed


# -- commands the core tests never had -----------------------------------------------------


def _session_channel(driver: Driver, key: int, **changes: object) -> Channel:
    channel = bare_channel(key, ChannelType.DATA, **changes)
    driver.core.registry.channels[channel.key] = channel
    return channel


def test_rotate_channel_statuses() -> None:
    """ROTATE_CHANNEL (ust-consumer.c 2046-2102): unknown key, a relayd output
    (not supported: ROTATION_FAIL), and a local channel without streams."""
    driver = Driver()
    _session_channel(driver, 3)
    rotate = LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL
    unknown = RotateChannelMember(metadata=0, relayd_id=NO_RELAYD, key=99)
    assert _statuses(driver, _msg(rotate, unknown)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND
    ]
    remote = RotateChannelMember(metadata=0, relayd_id=0, key=3)
    assert _statuses(driver, _msg(rotate, remote)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_ROTATION_FAIL
    ]
    local = RotateChannelMember(metadata=0, relayd_id=NO_RELAYD, key=3)
    assert _statuses(driver, _msg(rotate, local)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]


@pytest.mark.parametrize(
    ("cmd", "spec", "field"),
    [
        (LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS, LOST_PACKETS_REPLY, "lost_packets"),
        (
            LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS,
            DISCARDED_EVENTS_REPLY,
            "discarded_events",
        ),
    ],
)
def test_lost_packets_and_discarded_events(
    cmd: LttngConsumerCommand, spec: Any, field: str
) -> None:
    """LOST_PACKETS / DISCARDED_EVENTS (ust-consumer.c 1895-1996): the channel's count
    when a stream of the session has it, 0 for an unknown channel or session."""
    driver = Driver()
    channel = _session_channel(driver, 4, lost_packets=7, discarded_events=7)
    stream, _reader = _stream(driver.core, 40, ChannelType.DATA, wait_fd=-1)
    driver.core.registry.channels.pop(stream.channel.key)
    stream.channel = channel
    channel.streams.append(stream)

    def count(session_id: int, key: int) -> int:
        (reply,) = driver.command(
            _msg(cmd, SessionChannelArgs(session_id=session_id, channel_key=key))
        )
        assert isinstance(reply, Send)
        return int(getattr(spec.parse(reply.data), field))

    assert count(1, 4) == 7
    assert count(2, 4) == 0
    assert count(1, 5) == 0


def test_clear_quiescent_channel_lets_streams_be_flushed_again() -> None:
    """CLEAR_QUIESCENT_CHANNEL (ust-consumer.c 1755-1766, 757-796)."""
    driver = Driver()
    channel = _session_channel(driver, 6)
    stream, _reader = _stream(driver.core, 60, ChannelType.DATA, wait_fd=-1)
    driver.core.registry.channels.pop(stream.channel.key)
    stream.channel = channel
    channel.streams.append(stream)
    stream.quiescent = True
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL, KeyArgs(key=6))
    assert _statuses(driver, raw) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    assert stream.quiescent is False


def test_trace_chunk_exists(tmp_path: Path) -> None:
    """TRACE_CHUNK_EXISTS (ust-consumer.c 2249-2260, consumer.c 5033-5080): a local
    chunk published by CREATE_TRACE_CHUNK exists; another id, another session or a
    relayd chunk is unknown."""
    driver = Driver()
    create = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name="",
        session_id=1,
        chunk_id=5,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(
            is_set=1, value=Credentials(uid=os.getuid(), gid=os.getgid())
        ),
    )
    assert _statuses(
        driver, _msg(LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, create)
    ) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    assert _statuses(driver, b"\0", [dirfd]) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]

    def exists(session_id: int, chunk_id: int, relayd: bool = False) -> object:
        member = TraceChunkExistsMember(
            relayd_id=OptionalU64(is_set=int(relayd), value=0),
            session_id=session_id,
            chunk_id=chunk_id,
        )
        (code,) = _statuses(
            driver, _msg(LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS, member)
        )
        return code

    assert exists(1, 5) == LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_LOCAL
    assert exists(1, 6) == LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    assert exists(2, 5) == LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    # lttng_consumer_trace_chunk_exists looks in the consumer's registry first, relay or not.
    assert exists(1, 5, relayd=True) == LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_LOCAL
    # An unknown relay daemon: INVALID_PARAMETERS.
    assert exists(1, 6, relayd=True) == LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS
    driver.core.shutdown(driver.now)


def test_metadata_cache_versions() -> None:
    cache = MetadataCache()
    assert cache.write(0, b"abc", 0) is False
    assert cache.write(3, b"def", 0) is False
    assert bytes(cache.contents) == b"abcdef"
    assert cache.write(0, b"xy", 1) is True
    assert bytes(cache.contents) == b"xy"
    with pytest.raises(RemoteProtocolError):
        cache.write(10, b"z", 1)


def test_command_line() -> None:
    opts = parse_args(
        ["", "-u", "--consumerd-cmd-sock", "/a", "--consumerd-err-sock=/b", "--group", "g"]
    )
    assert (opts.command_sock, opts.error_sock, opts.group) == ("/a", "/b", "g")
    with pytest.raises(UsageError):
        parse_args(["-k"])
    assert main(["-k"]) == 1
    assert main(["-V"]) == 0
    assert ustref_main(["consumerd", "-k"]) == 1
