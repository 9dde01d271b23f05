"""The conversation table, rule by rule, and the sans-IO decoder on wrong input.

Byte sequences follow lttng_ustconsumer_recv_cmd (ust-consumer.c @ v2.13.9 and
the 97535efaa seed), consumer_add_relayd_socket (consumer.c) and
lttng_ustconsumer_request_metadata; values are the C enum values.
"""

from __future__ import annotations

import struct

import pytest

from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import CONSUMER_MSG_SIZE, LttngConsumerCommand
from ustref.protocol.conversation import Conversation, Decoded, Direction, Socket
from ustref.protocol.conversation.rules import (
    HANDOVER,
    REPLY_AFTER,
    STEPS_BY_REPLY_KIND,
    ReplyKind,
    command_steps,
)
from ustref.protocol.conversation.steps import FdTransfer, FieldIs, Message, Payload
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode

TO_C = Direction.TO_CONSUMERD
TO_S = Direction.TO_SESSIOND
OK = struct.pack("<I", 0)
FAIL = struct.pack("<I", int(LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL))


def command(cmd: int, body: bytes = b"") -> bytes:
    """A whole lttcomm_consumer_msg: cmd_type, then the union member, zero tail."""
    return struct.pack("<I", cmd) + body + bytes(CONSUMER_MSG_SIZE - 4 - len(body))


def feed(conv: Conversation, items: list[tuple[Socket, Direction, bytes, int]]) -> list[Decoded]:
    out: list[Decoded] = []
    for socket, direction, data, fds in items:
        out += conv.observe(socket, direction, data, fds)
    return out + conv.finish()


def steps_of(events: list[Decoded]) -> list[str]:
    return [e.step for e in events]


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_every_command_has_a_rule(abi: Abi) -> None:
    for cmd in LttngConsumerCommand:
        kind = REPLY_AFTER[abi][cmd]
        steps = command_steps(abi, cmd)
        if kind in (ReplyKind.NONE, ReplyKind.CONSUMER_STOPS):
            assert steps == ()
        else:
            assert steps, cmd


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_reply_kinds_read_from_the_c_receivers(abi: Abi) -> None:
    table = REPLY_AFTER[abi]
    assert set(table) == set(LttngConsumerCommand)
    assert (
        table[LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION] is ReplyKind.STATUS_CHANNEL
    )
    assert table[LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING] is ReplyKind.DATA_PENDING
    assert table[LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS] is ReplyKind.COUNT_U64
    assert (
        table[LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK] is ReplyKind.CLOSE_TRACE_CHUNK
    )
    assert table[LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL] is ReplyKind.GET_CHANNEL
    assert table[LttngConsumerCommand.LTTNG_CONSUMER_ADD_STREAM] is ReplyKind.NONE
    # The session daemon sends fds after exactly these commands (its senders in
    # sessiond consumer.c: the relayd socket, the monitor pipe, the chunk directory).
    carrying = {
        cmd
        for cmd in LttngConsumerCommand
        if any(
            isinstance(step, FdTransfer) and step.direction is TO_C
            for step in command_steps(abi, cmd)
        )
    }
    assert carrying == {
        LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET,
        LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,
        LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK,
    }


def test_table_shapes() -> None:
    # The fd steps carry exactly one fd from the session daemon, after a SUCCESS status.
    fd_steps = STEPS_BY_REPLY_KIND[ReplyKind.STATUS_FD_STATUS]
    assert [type(s) for s in fd_steps] == [Message, FdTransfer, Message]
    assert isinstance(fd_steps[1], FdTransfer) and fd_steps[1].count == 1
    assert fd_steps[1].direction is TO_C
    assert isinstance(fd_steps[1].when, FieldIs) and fd_steps[1].when.step == "status.ready"
    # PUSH_METADATA's payload length is the command's u.push_metadata.len.
    payload = STEPS_BY_REPLY_KIND[ReplyKind.PUSH_METADATA][1]
    assert isinstance(payload, Payload) and payload.length_path == "u.len"
    # The hand-over sends the channel wakeup fd (1) then 2 fds per stream.
    assert [s.name for s in HANDOVER][:4] == [
        "channel.size",
        "channel.type",
        "channel.data",
        "channel.wakeup_fd",
    ]


def test_status_reply() -> None:
    events = feed(
        Conversation(),
        [
            (
                Socket.COMMAND,
                TO_C,
                command(LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL, struct.pack("<Q", 4)),
                0,
            ),
            (Socket.COMMAND, TO_S, OK, 0),
        ],
    )
    assert steps_of(events) == ["command", "status"]
    assert events[0].exchange == "LTTNG_CONSUMER_FLUSH_CHANNEL"
    assert events[0].value.u.key == 4


def test_ask_channel_then_get_channel_handover() -> None:
    streams = b""
    for cpu in range(2):
        streams += struct.pack("<Q", 8192) + struct.pack("<I", cpu)
    items: list[tuple[Socket, Direction, bytes, int]] = [
        (
            Socket.COMMAND,
            TO_C,
            command(LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION),
            0,
        ),
        (Socket.COMMAND, TO_S, struct.pack("<IQI", 0, 7, 2), 0),
        (
            Socket.COMMAND,
            TO_C,
            command(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, struct.pack("<Q", 7)),
            0,
        ),
        (Socket.COMMAND, TO_S, OK + struct.pack("<Qi", 5, 0) + b"chan!", 0),
        (Socket.COMMAND, TO_S, b"\0", 1),
    ]
    for cpu in range(2):
        items.append((Socket.COMMAND, TO_S, struct.pack("<QI", 8192, cpu), 0))
        items.append((Socket.COMMAND, TO_S, b"\0", 2))
    items.append((Socket.COMMAND, TO_S, b"\xff" * 8 + OK, 0))
    events = feed(Conversation(), items)
    assert steps_of(events) == [
        "command",
        "status_channel",
        "command",
        "status.before",
        "channel.size",
        "channel.type",
        "channel.data",
        "channel.wakeup_fd",
        *["stream.memory_map_size", "stream.stream_nr", "stream.shm_fd+wakeup_fd"] * 2,
        "streams.end",
        "status",
    ]
    assert events[1].value.stream_count == 2
    assert events[6].value == b"chan!"
    assert [e.fds for e in events if e.fds] == [1, 2, 2]


def test_get_channel_not_found_is_one_status() -> None:
    not_found = struct.pack("<I", int(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND))
    events = feed(
        Conversation(),
        [
            (
                Socket.COMMAND,
                TO_C,
                command(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, struct.pack("<Q", 9)),
                0,
            ),
            (Socket.COMMAND, TO_S, not_found, 0),
        ],
    )
    assert steps_of(events) == ["command", "status.before"]


@pytest.mark.parametrize(
    ("length", "ready", "expected"),
    [
        (5, OK, ["command", "status.ready", "metadata", "status"]),
        (0, OK, ["command", "status.ready"]),
        (5, FAIL, ["command", "status.ready"]),
    ],
)
def test_push_metadata(length: int, ready: bytes, expected: list[str]) -> None:
    items = [
        (
            Socket.COMMAND,
            TO_C,
            command(
                LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA,
                struct.pack("<QQQQ", 3, 0, length, 1),
            ),
            0,
        ),
        (Socket.COMMAND, TO_S, ready, 0),
    ]
    if expected[-1] == "status":
        items += [(Socket.COMMAND, TO_C, b"/* CT", 0), (Socket.COMMAND, TO_S, OK, 0)]
    events = feed(Conversation(), items)
    assert steps_of(events) == expected


def test_add_relayd_socket_carries_one_fd() -> None:
    events = feed(
        Conversation(),
        [
            (
                Socket.COMMAND,
                TO_C,
                command(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET),
                0,
            ),
            (Socket.COMMAND, TO_S, OK, 0),
            (Socket.COMMAND, TO_C, b"\0", 1),
            (Socket.COMMAND, TO_S, OK, 0),
        ],
    )
    assert steps_of(events) == ["command", "status.ready", "fd", "status"]
    assert events[2].fds == 1


def test_missing_fd_is_a_protocol_error() -> None:
    conv = Conversation()
    conv.observe(
        Socket.COMMAND,
        TO_C,
        command(LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE),
        0,
    )
    conv.observe(Socket.COMMAND, TO_S, OK, 0)
    with pytest.raises(RemoteProtocolError, match="expected 1 fd"):
        conv.observe(Socket.COMMAND, TO_C, b"\0", 0)


def test_create_trace_chunk_remote_has_no_fd() -> None:
    # u.create_trace_chunk.relayd_id = {is_set = 1, value = 0}: remote chunk.
    events = feed(
        Conversation(),
        [
            (
                Socket.COMMAND,
                TO_C,
                command(LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, b"\x01"),
                0,
            ),
            (Socket.COMMAND, TO_S, OK, 0),
        ],
    )
    assert steps_of(events) == ["command", "status.ready"]


def test_close_trace_chunk_reply_with_path() -> None:
    path = b"/tmp/chunk\0"
    events = feed(
        Conversation(),
        [
            (
                Socket.COMMAND,
                TO_C,
                command(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK),
                0,
            ),
            (Socket.COMMAND, TO_S, struct.pack("<II", 0, len(path)), 0),
            (Socket.COMMAND, TO_S, path, 0),
        ],
    )
    assert steps_of(events) == ["command", "close_trace_chunk_reply"]
    assert events[1].raw.endswith(path)


def test_metadata_socket_error_reply_is_an_lttng_error_code() -> None:
    request = struct.pack("<QQIIQ", 1, 0, 64, 0, 5)
    undefined = struct.pack("<I", int(LttngErrorCode.LTTNG_ERR_UND))
    events = feed(
        Conversation(),
        [
            (Socket.METADATA, TO_S, request, 0),
            (Socket.METADATA, TO_C, undefined + bytes(CONSUMER_MSG_SIZE - 4), 0),
            (Socket.METADATA, TO_S, OK, 0),
        ],
    )
    assert steps_of(events) == ["request", "reply", "status.ready"]
    assert events[1].value.cmd_type is LttngErrorCode.LTTNG_ERR_UND


def test_error_socket_and_monitor_samples() -> None:
    events = feed(
        Conversation(),
        [
            (Socket.ERROR, TO_S, struct.pack("<I", 100), 0),
            (Socket.CHANNEL_MONITOR, TO_S, struct.pack("<QQQQ", 1, 2, 3, 4)[:20], 0),
            (Socket.CHANNEL_MONITOR, TO_S, struct.pack("<QQQQ", 1, 2, 3, 4)[20:], 0),
        ],
    )
    assert [e.name for e in events] == [
        "consumer error socket code (lttcomm_return_code, 4 bytes)",
        "lttcomm_consumer_channel_monitor_msg",
    ]
    assert events[0].value.code is LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY


def test_reply_without_command_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="no exchange is open"):
        Conversation().observe(Socket.COMMAND, TO_S, OK, 0)


def test_short_read_at_end_is_rejected() -> None:
    conv = Conversation()
    conv.observe(
        Socket.COMMAND, TO_C, command(LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL)[:100], 0
    )
    with pytest.raises(RemoteProtocolError, match="stream ended with 100 of 12690"):
        conv.finish()


def test_missing_reply_at_end_is_rejected() -> None:
    conv = Conversation()
    conv.observe(
        Socket.COMMAND, TO_C, command(LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL), 0
    )
    with pytest.raises(RemoteProtocolError, match="status: stream ended with 0 of 4"):
        conv.finish()


def test_bad_command_names_socket_and_field() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        Conversation().observe(Socket.COMMAND, TO_C, command(99), 0)
    assert info.value.field == "cmd_type"
    assert "command" in info.value.message


def test_startup_ready_code_comes_first() -> None:
    conv = Conversation(from_start=True)
    conv.observe(Socket.ERROR, TO_S, struct.pack("<I", 100), 0)
    assert conv.ready
    events = conv.observe(
        Socket.COMMAND, TO_C, command(LttngConsumerCommand.LTTNG_CONSUMER_INIT, bytes(16)), 0
    ) + conv.observe(Socket.COMMAND, TO_S, OK, 0)
    assert steps_of(events) == ["command", "status"]


def test_command_before_ready_is_rejected() -> None:
    conv = Conversation(from_start=True)
    with pytest.raises(RemoteProtocolError, match="before the consumer's"):
        conv.observe(Socket.COMMAND, TO_C, command(LttngConsumerCommand.LTTNG_CONSUMER_INIT), 0)


def test_first_error_code_must_be_ready() -> None:
    conv = Conversation(from_start=True)
    with pytest.raises(RemoteProtocolError, match="first code must be"):
        conv.observe(Socket.ERROR, TO_S, struct.pack("<I", 103), 0)
