"""The conversation table: what follows what on each socket.

One typed table, read by the decoder (:mod:`ustref.protocol.conversation.machine`),
rendered into ``spec/``, and — later — driven by ustref's own consumer daemon.

* **command socket** — the session daemon sends a whole
  ``lttcomm_consumer_msg``; what follows depends on its ``cmd_type``, as
  classified by :data:`REPLY_AFTER`
  (``lttng_ustconsumer_recv_cmd``); :data:`STEPS_BY_REPLY_KIND` spells each
  kind out step by step.
* **metadata socket** — the consumer asks (``lttcomm_metadata_request_msg``,
  ``lttng_ustconsumer_request_metadata``); the session daemon answers with a
  whole ``lttcomm_consumer_msg`` whose ``cmd_type`` is either
  ``LTTNG_CONSUMER_PUSH_METADATA`` or the *error code* ``LTTNG_ERR_UND`` (12,
  the same number as ``LTTNG_CONSUMER_SETUP_METADATA``) when it has no
  registry; then a status, the metadata bytes, a status.
* **error socket** — 4-byte ``lttcomm_return_code`` values from the consumer,
  the first being ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``.
* **channel-monitor pipe** — 32-byte ``lttcomm_consumer_channel_monitor_msg``
  samples from the consumer.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from ustref.protocol import handover
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import (
    CHANNEL_MONITOR_MSG,
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    ERROR_SOCKET_CODE,
    LOST_PACKETS_REPLY,
    METADATA_ERROR_REPLY,
    METADATA_REQUEST_MSG,
    STATUS_CHANNEL,
    STATUS_MSG,
    LttngConsumerCommand,
)
from ustref.protocol.conversation.steps import (
    AllOf,
    Direction,
    FdTransfer,
    FieldIs,
    Message,
    Payload,
    Socket,
    Step,
    StreamList,
    fixed,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.registry import StructSpec

TO_C = Direction.TO_CONSUMERD
TO_S = Direction.TO_SESSIOND
SUCCESS = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS


def _status(name: str, note: str = "", when: Any = None) -> Message:
    extra = {"when": when} if when is not None else {}
    return Message(name, TO_S, specs=fixed(STATUS_MSG), note=note, **extra)


def _ok(step: str) -> FieldIs:
    return FieldIs(step, "ret_code", SUCCESS)


def _u32_at(offset: int) -> Any:
    return lambda head: int.from_bytes(head[offset : offset + 4], "little")


#: The ust-ctl hand-over of one channel and its streams (GET_CHANNEL), as
#: liblttng-ust-ctl 2.13.5 sends it; see :mod:`ustref.protocol.handover`.
HANDOVER: tuple[Step, ...] = (
    Message("channel.size", TO_S, specs=fixed(handover.CHANNEL_SIZE)),
    Message("channel.type", TO_S, specs=fixed(handover.CHANNEL_TYPE)),
    Payload("channel.data", TO_S, length_step="channel.size", length_path="size"),
    FdTransfer("channel.wakeup_fd", TO_S, count=1),
    StreamList(
        "streams",
        TO_S,
        stream=(
            Message("stream.memory_map_size", TO_S, specs=fixed(handover.STREAM_MEMORY_MAP_SIZE)),
            Message("stream.stream_nr", TO_S, specs=fixed(handover.STREAM_NR)),
            FdTransfer("stream.shm_fd+wakeup_fd", TO_S, count=2),
        ),
        end=Message("streams.end", TO_S, specs=fixed(handover.STREAM_LIST_END)),
        marker=b"\xff" * 8,
    ),
)


class ReplyKind(enum.Enum):
    """What follows one command on the command socket (UST consumer).

    "→" is consumer to session daemon, "←" the other way; "status" is one
    :data:`~ustref.protocol.consumer.STATUS_MSG`. Read from ``lttng_ustconsumer_recv_cmd``
    (ust-consumer.c @ v2.13.9, the seed ust-consumer.cpp @ 97535efaa).
    """

    #: Nothing is sent back.
    NONE = "nothing"
    #: The consumer stops its command thread without answering
    #: (UPDATE_STREAM: ``-ENOSYS``; STOP: assertion failure).
    CONSUMER_STOPS = "nothing; the consumer stops"
    #: → status.
    STATUS = "status"
    #: → :data:`~ustref.protocol.consumer.STATUS_CHANNEL` (16 bytes).
    STATUS_CHANNEL = "status_channel"
    #: → :data:`~ustref.protocol.consumer.DATA_PENDING_REPLY` (int32).
    DATA_PENDING = "int32"
    #: → the DISCARDED_EVENTS / LOST_PACKETS count (uint64).
    COUNT_U64 = "uint64"
    #: → close-trace-chunk reply head (8 bytes), then ``path_length`` bytes.
    CLOSE_TRACE_CHUNK = "close_trace_chunk_reply + path"
    #: → status; if SUCCESS: ← one fd; → status.
    STATUS_FD_STATUS = "status, fd, status"
    #: ``u.create_trace_chunk.relayd_id.is_set == 0`` (local chunk): as
    #: :attr:`STATUS_FD_STATUS` (the fd is the chunk's domain directory);
    #: otherwise → status.
    CREATE_TRACE_CHUNK = "local: status, fd, status; remote: status"
    #: → status; if SUCCESS and ``u.push_metadata.len`` > 0: ← ``len`` metadata
    #: bytes; → status.
    PUSH_METADATA = "status, metadata bytes, status"
    #: → status; if SUCCESS: → ustctl channel (1 fd) and streams (2 fds each),
    #: terminator; → status.
    GET_CHANNEL = "status, ustctl channel and streams, status"


#: Reply after each command, as ``lttng_ustconsumer_recv_cmd`` does it (same at both revisions).
_UST_REPLY_AFTER: Mapping[LttngConsumerCommand, ReplyKind] = {
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL: ReplyKind.NONE,
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_STREAM: ReplyKind.NONE,
    LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM: ReplyKind.CONSUMER_STOPS,
    LttngConsumerCommand.LTTNG_CONSUMER_STOP: ReplyKind.CONSUMER_STOPS,
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET: ReplyKind.STATUS_FD_STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING: ReplyKind.DATA_PENDING,
    LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION: ReplyKind.STATUS_CHANNEL,
    LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL: ReplyKind.GET_CHANNEL,
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA: ReplyKind.PUSH_METADATA,
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_METADATA: ReplyKind.NONE,
    LttngConsumerCommand.LTTNG_CONSUMER_STREAMS_SENT: ReplyKind.NONE,
    LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS: ReplyKind.COUNT_U64,
    LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS: ReplyKind.COUNT_U64,
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE: ReplyKind.STATUS_FD_STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_INIT: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK: ReplyKind.CREATE_TRACE_CHUNK,
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK: ReplyKind.CLOSE_TRACE_CHUNK,
    LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL: ReplyKind.STATUS,
    LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS: ReplyKind.STATUS,
}

#: Per ABI, the reply that follows each command (UST consumer). Identical at
#: v2.13.9 and 97535efaa: the receivers differ only in how ADD_RELAYD_SOCKET
#: reads ``u.relayd_sock``, not in what they answer.
REPLY_AFTER: Mapping[Abi, Mapping[LttngConsumerCommand, ReplyKind]] = {
    abi: _UST_REPLY_AFTER for abi in ALL_ABIS
}


#: What follows a command, for each reply kind of ``REPLY_AFTER``.
STEPS_BY_REPLY_KIND: Mapping[ReplyKind, tuple[Step, ...]] = {
    ReplyKind.NONE: (),
    ReplyKind.CONSUMER_STOPS: (),
    ReplyKind.STATUS: (_status("status"),),
    ReplyKind.STATUS_CHANNEL: (Message("status_channel", TO_S, specs=fixed(STATUS_CHANNEL)),),
    ReplyKind.DATA_PENDING: (Message("is_data_pending", TO_S, specs=fixed(DATA_PENDING_REPLY)),),
    ReplyKind.COUNT_U64: (),  # spelled per command below (two specs)
    ReplyKind.CLOSE_TRACE_CHUNK: (
        Message(
            "close_trace_chunk_reply",
            TO_S,
            specs=fixed(CLOSE_TRACE_CHUNK_REPLY),
            head=8,
            length=lambda head: 8 + _u32_at(4)(head),
            label="lttcomm_consumer_close_trace_chunk_reply + path[path_length]",
        ),
    ),
    ReplyKind.STATUS_FD_STATUS: (
        _status("status.ready", "ready to receive the fd"),
        FdTransfer("fd", TO_C, count=1, when=_ok("status.ready")),
        _status("status", when=_ok("status.ready")),
    ),
    ReplyKind.CREATE_TRACE_CHUNK: (
        _status("status.ready", "local chunk: ready for the directory fd; remote: the result"),
        FdTransfer(
            "chunk_dirfd",
            TO_C,
            count=1,
            when=AllOf(
                (
                    _ok("status.ready"),
                    FieldIs("command", "u.relayd_id.is_set", 0),
                )
            ),
        ),
        _status(
            "status",
            when=AllOf((_ok("status.ready"), FieldIs("command", "u.relayd_id.is_set", 0))),
        ),
    ),
    ReplyKind.PUSH_METADATA: (
        _status("status.ready", "ready to receive the metadata (or the result if len is 0)"),
        Payload(
            "metadata",
            TO_C,
            length_step="command",
            length_path="u.len",
            when=AllOf((_ok("status.ready"), FieldIs("command", "u.len", 0, negate=True))),
        ),
        _status(
            "status",
            when=AllOf((_ok("status.ready"), FieldIs("command", "u.len", 0, negate=True))),
        ),
    ),
    ReplyKind.GET_CHANNEL: (
        _status("status.before", "channel found; the hand-over follows"),
        *(dataclasses.replace(step, when=_ok("status.before")) for step in HANDOVER),
        _status("status", when=_ok("status.before")),
    ),
}

_COUNT_REPLIES: Mapping[LttngConsumerCommand, StructSpec[Any]] = {
    LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS: DISCARDED_EVENTS_REPLY,
    LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS: LOST_PACKETS_REPLY,
}


def command_steps(abi: Abi, command: LttngConsumerCommand) -> tuple[Step, ...]:
    """The steps that follow ``command`` on the command socket."""
    kind = REPLY_AFTER[abi][command]
    if kind is ReplyKind.COUNT_U64:
        return (Message("count", TO_S, specs=fixed(_COUNT_REPLIES[command])),)
    return STEPS_BY_REPLY_KIND[kind]


COMMAND = Message("command", TO_C, specs=CONSUMER_MSG)


def _metadata_reply_spec(abi: Abi, head: bytes) -> StructSpec[Any]:
    cmd_type = int.from_bytes(head[:4], "little")
    if cmd_type == LttngErrorCode.LTTNG_ERR_UND:
        return METADATA_ERROR_REPLY
    return CONSUMER_MSG[abi]


_PUSHED = AllOf(
    (
        FieldIs("reply", "cmd_type", LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA),
        FieldIs("reply", "u.len", 0, negate=True),
    )
)

#: The metadata socket's exchange, initiated by the consumer.
METADATA_EXCHANGE: tuple[Step, ...] = (
    Message(
        "reply",
        TO_C,
        choose=_metadata_reply_spec,
        head=CONSUMER_MSG_SIZE,
        label="lttcomm_consumer_msg: PUSH_METADATA, or cmd_type = LTTNG_ERR_UND (no registry)",
    ),
    _status("status.ready", "ready to receive (or acknowledging LTTNG_ERR_UND / len 0)"),
    Payload("metadata", TO_C, length_step="reply", length_path="u.len", when=_PUSHED),
    _status("status", when=_PUSHED),
)

#: Start-up: the consumer's first code on the error socket says its command socket
#: listens; only then does the session daemon connect to it (twice: commands, then
#: metadata).
STARTUP_CODE = LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY

METADATA_REQUEST = Message("request", TO_S, specs=fixed(METADATA_REQUEST_MSG))
ERROR_CODE = Message("code", TO_S, specs=fixed(ERROR_SOCKET_CODE))
MONITOR_SAMPLE = Message("sample", TO_S, specs=fixed(CHANNEL_MONITOR_MSG))

#: The message that opens an exchange on each socket.
INITIATORS: Mapping[Socket, Message] = {
    Socket.COMMAND: COMMAND,
    Socket.METADATA: METADATA_REQUEST,
    Socket.ERROR: ERROR_CODE,
    Socket.CHANNEL_MONITOR: MONITOR_SAMPLE,
}


def following(abi: Abi, socket: Socket, initiator_value: Any) -> tuple[Step, ...]:
    """The steps after an exchange's opening message on ``socket``."""
    if socket is Socket.COMMAND:
        return command_steps(abi, initiator_value.cmd_type)
    if socket is Socket.METADATA:
        return METADATA_EXCHANGE
    return ()
