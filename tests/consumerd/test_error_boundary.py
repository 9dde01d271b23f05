"""The core's error boundary: a handler that fails — plain or generator, before or
after its first reply — gets the reply the C consumer answers on failure
(``Behaviour.on_error``), in the shape due at that point, and the core serves the
next command. Every reply goes through the conversation table (:class:`Driver`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import construct
import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import bare_channel
from tests.consumerd.test_testpoint import _stream
from ustref.consumerd import handlers
from ustref.consumerd.behaviour import BEHAVIOUR
from ustref.consumerd.core import Core, failure_reply
from ustref.consumerd.exchange import Action, Send, SetNonBlocking, Sock
from ustref.consumerd.metadata import MetadataCache
from ustref.consumerd.registry import ChannelType
from ustref.errors import UstrefError
from ustref.output.chunk import ChunkRegistry
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    CONSUMER_MSG_UNION_SIZE,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    LOST_PACKETS_REPLY,
    STATUS_CHANNEL,
    STATUS_MSG,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    InitMember,
    KeyArgs,
    LttngConsumerCommand,
    OptionalCredentials,
    OptionalU64,
    PushMetadataMember,
    RelaydSockV2139,
    SessionIdArgs,
)
from ustref.protocol.conversation.rules import REPLY_AFTER, ReplyKind
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode

SILENT = {ReplyKind.NONE, ReplyKind.CONSUMER_STOPS}
ANSWERED = sorted(
    (cmd for cmd in LttngConsumerCommand if REPLY_AFTER[Abi.V2_13_9][cmd] not in SILENT),
    key=lambda c: c.value,
)


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _zeroed(cmd: LttngConsumerCommand) -> bytes:
    """``cmd`` with an all-zero union (the handler's first look at it fails anyway)."""
    return int(cmd).to_bytes(4, "little") + bytes(CONSUMER_MSG_SIZE - 4)


def _serves_the_next_command(driver: Driver) -> None:
    init = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(range(16)))
    )
    assert driver.statuses(driver.command(init)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    assert not driver.core.closed


def _value(cmd: LttngConsumerCommand, action: Action) -> int:
    """The value the reply to ``cmd`` carries, read in the reply's own shape."""
    assert isinstance(action, Send) and action.sock is Sock.COMMAND
    kind = REPLY_AFTER[Abi.V2_13_9][cmd]
    if kind is ReplyKind.STATUS_CHANNEL:
        status = STATUS_CHANNEL.parse(action.data)
        assert (status.key, status.stream_count) == (0, 0)
        return int(status.ret_code)
    if kind is ReplyKind.DATA_PENDING:
        return int(DATA_PENDING_REPLY.parse(action.data).is_data_pending)
    if cmd is LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS:
        return int(DISCARDED_EVENTS_REPLY.parse(action.data).discarded_events)
    if cmd is LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS:
        return int(LOST_PACKETS_REPLY.parse(action.data).lost_packets)
    if kind is ReplyKind.CLOSE_TRACE_CHUNK:
        reply = CLOSE_TRACE_CHUNK_REPLY.parse(action.data)
        assert reply.path == b"\0"
        return int(reply.ret_code)
    return int(STATUS_MSG.parse(action.data).ret_code)


def test_every_answered_command_has_a_failure_reply() -> None:
    """The behaviour table gives ``on_error`` exactly to the commands that answer."""
    for cmd in LttngConsumerCommand:
        answered = REPLY_AFTER[Abi.V2_13_9][cmd] not in SILENT
        assert (BEHAVIOUR[cmd].on_error is not None) == answered, cmd.name
        if answered:
            assert failure_reply(Abi.V2_13_9, cmd, 0) is not None


@pytest.mark.parametrize("error", [UstrefError("injected"), OSError(5, "injected EIO")])
@pytest.mark.parametrize("cmd", ANSWERED, ids=lambda c: c.name)
def test_a_failure_before_any_reply_answers_on_error(
    cmd: LttngConsumerCommand, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every handler reads its message through ``_member`` first (SET_CHANNEL_MONITOR_PIPE,
    which has no member, fails on its first action): make that fail."""
    driver = Driver()

    def fail(*args: object) -> Any:
        raise error

    monkeypatch.setattr(handlers, "_member", fail)
    if cmd is LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE:
        monkeypatch.setattr(driver.core, "send_status", fail)
    (reply,) = driver.command(_zeroed(cmd))
    on_error = BEHAVIOUR[cmd].on_error
    assert on_error is not None
    assert _value(cmd, reply) == int(on_error.value)
    monkeypatch.undo()
    _serves_the_next_command(driver)


def test_a_flush_failure_answers_buffer_flush_failed() -> None:
    """FLUSH_CHANNEL with a backend whose flush fails (``lttng_ust_ctl_flush_buffer`` < 0):
    ``flush_channel()`` returns ``LTTNG_ERR_BUFFER_FLUSH_FAILED`` (ust-consumer.c 733-737)."""

    class FailingUst:
        def flush(self, producer_active: bool) -> None:
            raise UstrefError("lttng_ust_ctl_flush_buffer: -EIO")

    driver = Driver()
    stream, _reader = _stream(driver.core, 8, ChannelType.DATA, wait_fd=-1)
    stream.ust = FailingUst()  # type: ignore[assignment]
    (reply,) = driver.command(
        _msg(LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL, KeyArgs(key=8))
    )
    assert driver.statuses([reply]) == [LttngErrorCode.LTTNG_ERR_BUFFER_FLUSH_FAILED]
    _serves_the_next_command(driver)


def test_a_writer_failure_after_the_first_status_answers_the_second() -> None:
    """PUSH_METADATA: the cache write fails after the ready status; the second status
    carries ERROR_METADATA (``lttng_ustconsumer_recv_metadata``)."""
    driver = Driver()
    channel = bare_channel(9, ChannelType.METADATA)
    channel.metadata_cache = MetadataCache()
    driver.core.registry.channels[channel.key] = channel

    def broken(offset: int, data: bytes, version: int) -> bool:
        raise OSError(28, "No space left on device")

    channel.metadata_cache.write = broken  # type: ignore[method-assign]
    text = b"/* CTF 1.8 */"
    push = PushMetadataMember(key=9, target_offset=0, len=len(text), version=0)
    first = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA, push))
    second = driver.command(text)
    assert driver.statuses(first + second) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA,
    ]
    _serves_the_next_command(driver)


def test_a_chunk_failure_after_the_fd_answers_the_second_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = Driver()

    def broken(self: ChunkRegistry, *args: object) -> object:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(ChunkRegistry, "publish", broken)
    member = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name="",
        session_id=1,
        chunk_id=1,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(
            is_set=1, value=Credentials(uid=os.getuid(), gid=os.getgid())
        ),
    )
    first = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, member))
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    second = driver.command(b"\0", [dirfd])
    assert driver.statuses(first + second) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED,
    ]
    _serves_the_next_command(driver)


def test_a_relayd_socket_failure_after_the_fd_answers_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    driver = Driver()
    member = RelaydSockV2139(
        net_index=1,
        type=1,  # type: ignore[arg-type]
        session_id=1,
        relayd_session_id=2,
        major=2,
        minor=13,
        relayd_socket_protocol=0,  # type: ignore[arg-type]
    )

    def broken(fd: int | None) -> None:
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(handlers, "close_fd", broken)
    first = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, member))
    read_end, write_end = os.pipe()
    try:
        second = driver.command(b"\0", [read_end])
        assert driver.statuses(first + second) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        ]
    finally:
        os.close(write_end)
    monkeypatch.undo()
    _serves_the_next_command(driver)


def test_a_monitor_pipe_failure_after_the_fd_answers_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    driver = Driver()
    real_act = driver.core.act

    def act(action: Action) -> None:
        if isinstance(action, SetNonBlocking):
            raise OSError(9, "Bad file descriptor")
        real_act(action)

    monkeypatch.setattr(driver.core, "act", act)
    first = driver.command(
        _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,
            bytes(CONSUMER_MSG_UNION_SIZE),
        )
    )
    read_end, write_end = os.pipe()
    try:
        second = driver.command(b"\0", [write_end])
        assert driver.statuses(first + second) == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        ]
    finally:
        os.close(read_end)
        os.close(write_end)
    _serves_the_next_command(driver)


def test_a_reply_building_error_is_answered_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A construct error while building a reply (here DATA_PENDING's) is caught by the
    boundary, which answers with its own copy of the reply grammar."""

    class Unbuildable:
        def build(self, obj: object) -> bytes:
            raise construct.StreamError("injected build failure")

    monkeypatch.setattr(handlers, "DATA_PENDING_REPLY", Unbuildable())
    driver = Driver()
    (reply,) = driver.command(
        _msg(LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=1))
    )
    assert _value(LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, reply) == 0
    monkeypatch.undo()
    _serves_the_next_command(driver)


def test_a_plain_handler_failing_after_its_reply_sends_nothing_more() -> None:
    """A failure after the whole reply went out is logged; nothing more is sent."""

    def answers_then_fails(state: Any, msg: Any) -> None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
        raise UstrefError("after the reply")

    core = Core(
        handlers={**handlers.HANDLERS, LttngConsumerCommand.LTTNG_CONSUMER_INIT: answers_then_fails}
    )
    driver = Driver(core)
    init = _msg(LttngConsumerCommand.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(16)))
    assert driver.statuses(driver.command(init)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    assert driver.statuses(driver.command(init)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
