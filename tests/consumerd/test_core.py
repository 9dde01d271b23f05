"""Unit tests of ustref-consumerd's sans-IO core: no daemon, no socket."""

from __future__ import annotations

import os

import pytest

from ustref.cli import main as ustref_main
from ustref.consumerd.cli import UsageError, main, parse_args
from ustref.consumerd.core import Core, Send, Sock
from ustref.consumerd.handlers import HANDLERS
from ustref.consumerd.metadata import MetadataCache
from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    CONSUMER_MSG_UNION_SIZE,
    DATA_PENDING_REPLY,
    STATUS_MSG,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    InitMember,
    KeyArgs,
    LttngConsumerCommand,
    OptionalTraceChunkCommand,
    OptionalU64,
    SessionIdArgs,
)
from ustref.protocol.conversation.rules import REPLY_AFTER
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode

C = LttngConsumerCommand
R = LttcommReturnCode


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    spec = CONSUMER_MSG[Abi.V2_13_9]
    return spec.build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _statuses(core: Core) -> list[LttcommReturnCode | LttngErrorCode]:
    out: list[LttcommReturnCode | LttngErrorCode] = []
    for action in core.take_actions():
        assert isinstance(action, Send)
        out.append(STATUS_MSG.parse(action.data).ret_code)
    return out


def test_handlers_cover_exactly_the_conversation_table() -> None:
    assert set(HANDLERS) == set(REPLY_AFTER[Abi.V2_13_9])
    assert set(HANDLERS) == set(LttngConsumerCommand)


def test_handlers_and_the_behaviour_table_cover_the_same_commands() -> None:
    """The contract of :mod:`ustref.protocol.behaviour`: the spec's per-command
    behaviour and the daemon's handler table speak of the same commands, no more."""
    from ustref.protocol.behaviour import BEHAVIOUR

    assert set(HANDLERS) == set(BEHAVIOUR)


def test_init_then_already_set() -> None:
    core = Core()
    raw = _msg(C.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(range(16))))
    core.receive(Sock.COMMAND, raw, [], 0.0)
    assert _statuses(core) == [R.LTTCOMM_CONSUMERD_SUCCESS]
    core.receive(Sock.COMMAND, raw, [], 0.0)
    assert _statuses(core) == [R.LTTCOMM_CONSUMERD_ALREADY_SET]


def test_a_command_split_across_reads_is_handled_once_whole() -> None:
    core = Core()
    raw = _msg(C.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(16)))
    core.receive(Sock.COMMAND, raw[:100], [], 0.0)
    assert core.take_actions() == []
    core.receive(Sock.COMMAND, raw[100:], [], 0.0)
    assert _statuses(core) == [R.LTTCOMM_CONSUMERD_SUCCESS]


def test_monitor_pipe_waits_for_its_fd() -> None:
    core = Core()
    read_end, write_end = os.pipe()
    try:
        core.receive(
            Sock.COMMAND,
            _msg(C.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE, bytes(CONSUMER_MSG_UNION_SIZE)),
            [],
            0.0,
        )
        assert _statuses(core) == [R.LTTCOMM_CONSUMERD_SUCCESS]
        core.receive(Sock.COMMAND, b"\0", [write_end], 0.0)
        assert _statuses(core) == [R.LTTCOMM_CONSUMERD_SUCCESS]
        assert core.monitor_pipe == write_end
        assert os.get_blocking(write_end) is False
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (C.LTTNG_CONSUMER_FLUSH_CHANNEL, LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND),
        (C.LTTNG_CONSUMER_CLOSE_METADATA, LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND),
        (C.LTTNG_CONSUMER_SETUP_METADATA, LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND),
        (C.LTTNG_CONSUMER_GET_CHANNEL, R.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND),
        (C.LTTNG_CONSUMER_CLEAR_CHANNEL, R.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND),
        (C.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS, R.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND),
        (C.LTTNG_CONSUMER_DESTROY_CHANNEL, R.LTTCOMM_CONSUMERD_SUCCESS),
    ],
)
def test_unknown_channel_statuses(cmd: LttngConsumerCommand, expected: object) -> None:
    core = Core()
    core.receive(Sock.COMMAND, _msg(cmd, KeyArgs(key=42)), [], 0.0)
    assert _statuses(core) == [expected]


def test_data_pending_of_an_empty_session_is_zero() -> None:
    core = Core()
    core.receive(
        Sock.COMMAND, _msg(C.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=3)), [], 0.0
    )
    (action,) = core.take_actions()
    assert isinstance(action, Send)
    assert DATA_PENDING_REPLY.parse(action.data).is_data_pending == 0


def test_close_of_an_unknown_chunk() -> None:
    core = Core()
    member = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        session_id=1,
        chunk_id=7,
        close_timestamp=0,
        close_command=OptionalTraceChunkCommand(is_set=0, value=0),  # type: ignore[arg-type]
    )
    core.receive(Sock.COMMAND, _msg(C.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, member), [], 0.0)
    (action,) = core.take_actions()
    assert isinstance(action, Send)
    reply = CLOSE_TRACE_CHUNK_REPLY.parse(action.data)
    assert reply.ret_code == R.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    assert reply.path == b"\0"


def test_malformed_and_ignored_commands_send_nothing_and_do_not_stop() -> None:
    core = Core()
    garbage = (9999).to_bytes(4, "little") + bytes(CONSUMER_MSG_SIZE - 4)
    core.receive(Sock.COMMAND, garbage, [], 0.0)
    core.receive(Sock.COMMAND, _msg(C.LTTNG_CONSUMER_STOP, bytes(CONSUMER_MSG_UNION_SIZE)), [], 0.0)
    assert core.take_actions() == []
    assert not core.closed
    core.receive(
        Sock.COMMAND, _msg(C.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(16))), [], 0.0
    )
    assert _statuses(core) == [R.LTTCOMM_CONSUMERD_SUCCESS]


def test_eof_closes() -> None:
    core = Core()
    core.receive(Sock.COMMAND, b"", [], 0.0)
    assert core.closed


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
