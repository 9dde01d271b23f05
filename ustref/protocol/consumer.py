"""Session daemon ↔ consumer daemon messages (``lttcomm_consumer_*``).

Mirrors the consumer part of ``src/common/sessiond-comm/sessiond-comm.h`` at
lttng-tools v2.13.9 and 97535efaa, the enums these messages carry, and the
bare scalar replies that are not C structs. Everything is x86_64, host byte
order (little-endian), except the ``sockaddr`` members noted below.

Sockets
=======
The consumer daemon has three sockets to the session daemon:

* the **command socket** (sessiond connects, sends ``lttcomm_consumer_msg``,
  :data:`CONSUMER_MSG`; the consumer answers per
  :data:`ustref.protocol.conversation.rules.REPLY_AFTER`);
* the **error socket** (the consumer connects; it sends 4-byte codes,
  :data:`ERROR_SOCKET_CODE`: first ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``,
  later fatal codes; ``lttng_consumer_send_error`` in consumer.c writes an
  ``int`` with ``sizeof(enum lttcomm_sessiond_command)`` = 4 bytes, and
  ``thread_consumer_management`` in sessiond manage-consumer.c reads
  ``sizeof(enum lttcomm_return_code)`` = 4 bytes);
* the **metadata socket** (sessiond connects a second time to the command
  socket path; the *consumer* asks, see below).

Every command is one whole ``lttcomm_consumer_msg`` of 12690 bytes (both ABIs:
``cmd_type`` 4 + union 12686, the union being as large as its largest member
``ask_channel``), whatever the command. A file descriptor travels as one
``SCM_RIGHTS`` message whose payload is a single dummy byte (0)
(``lttcomm_send_fds_unix_sock``, src/common/unix.c).

Replies on the command socket (UST consumer)
============================================
Read from ``lttng_ustconsumer_recv_cmd`` (src/common/ust-consumer/ust-consumer.c
@ v2.13.9, ust-consumer.cpp @ 97535efaa — identical in this respect),
``consumer_add_relayd_socket`` (src/common/consumer/consumer.c) and the
session daemon's senders (src/bin/lttng-sessiond/consumer.c, ust-consumer.c).
The table lives in one place, as data:
:data:`ustref.protocol.conversation.rules.REPLY_AFTER` (command → reply kind),
:class:`~ustref.protocol.conversation.rules.ReplyKind` (what each kind means)
and :data:`~ustref.protocol.conversation.rules.STEPS_BY_REPLY_KIND` (step by
step); ``ustref spec render`` writes it into ``spec/<abi>/sessiond-consumerd.md``.

GET_CHANNEL hand-over (lttng-ust 2.13.5 ``lttng_ust_ctl_send_channel`` /
``lttng_ust_ctl_send_stream``, src/lib/lttng-ust-ctl/ustctl.c; grammars of the
USTCTL protocol): ``uint64`` memory map size, ``int32`` ``lttng_ust_abi_chan_type``,
the channel data (size bytes), 1 fd (wakeup); then per stream ``uint64``
memory map size, ``uint32`` stream number, 2 fds (shm, wakeup); then the
terminator ``uint64`` 0xFFFFFFFFFFFFFFFF; then the final status.

Kernel consumer differences (``lttng_kconsumer_recv_cmd``,
src/common/kernel-consumer/kernel-consumer.c), documented only: ADD_CHANNEL →
status (and a second status only when ``consumer_add_channel`` fails);
ADD_STREAM → status; ← 1 fd (stream); → status; STREAMS_SENT → status;
DESTROY_CHANNEL → status; unknown commands → nothing.

Status codes
============
``lttcomm_consumer_status_msg.ret_code`` is declared ``enum
lttcomm_return_code``, but the UST consumer also puts ``lttng_error_code``
values there (``LTTNG_ERR_UST_CHAN_NOT_FOUND`` from ``flush_channel``,
``clear_quiescent_channel``, ``close_metadata``, ``setup_metadata``;
``LTTNG_ERR_BUFFER_FLUSH_FAILED`` from ``flush_channel``). So :data:`STATUS_MSG`
decodes ``ret_code`` with :class:`StatusRetCode`: a member of
:class:`LttcommReturnCode` when the value is one (values 100–131 are ambiguous
and read as ``lttcomm_return_code``), else a member of
:class:`~ustref.protocol.lttng_error.LttngErrorCode`, else an error. The
session daemon only tests ``== LTTCOMM_CONSUMERD_SUCCESS`` and negates the
rest. (The kernel consumer may also send a negative errno there, when
``consumer_add_channel`` fails; that is outside this UST reference.)
``lttcomm_consumer_status_channel`` and ``lttcomm_consumer_close_trace_chunk_reply``
only ever carry ``lttcomm_return_code`` values and stay strict.

Metadata socket
===============
The consumer (``lttng_ustconsumer_request_metadata``, ust-consumer.c) sends a
:data:`METADATA_REQUEST_MSG` (32 bytes). The session daemon
(``ust_consumer_metadata_request``, sessiond ust-consumer.c) answers with one
whole 12690-byte ``lttcomm_consumer_msg`` which is either

* ``cmd_type = LTTNG_CONSUMER_PUSH_METADATA`` (10) with ``u.push_metadata``
  (``consumer_push_metadata``): the consumer answers a status (SUCCESS); if
  ``len`` > 0 the session daemon then sends ``len`` raw metadata bytes and the
  consumer answers a second status (the ``lttng_ustconsumer_recv_metadata``
  code: SUCCESS, ENOMEM or ERROR_METADATA); or
* ``cmd_type = LTTNG_ERR_UND`` (12, an ``lttng_error_code``, not a consumer
  command — 12 is also ``LTTNG_CONSUMER_SETUP_METADATA``) with the union
  zeroed: no registry; the consumer answers one status (SUCCESS) and the
  exchange ends.

Decode it with :func:`parse_metadata_socket_reply`: it tests ``cmd_type``
exactly as the consumer does (``LTTNG_ERR_UND`` first, then
``LTTNG_CONSUMER_PUSH_METADATA``), returns a :data:`METADATA_ERROR_REPLY`
object (:class:`MetadataRequestErrorReply`, ``cmd_type`` an ``LttngErrorCode``
and the union as raw bytes) or the ABI's :data:`CONSUMER_MSG` object, and
raises :class:`~ustref.errors.RemoteProtocolError` for any other ``cmd_type``
(where the real consumer logs "Unexpected cmd_type" and fails the request).
Build the error reply with ``METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())``.

Enum-typed members and the channel ``type``
===========================================
Members declared with an enum type (``enum lttng_event_output output``,
``enum lttng_stream_type type``) or documented as carrying one (``cmd_type``,
``close_command``) are :class:`~ustref.protocol.fields.StrictEnum`. Also strict,
by decision:

* ``u.channel.type`` (``int``, kernel ADD_CHANNEL) carries ``enum
  consumer_channel_type`` (METADATA = 0, DATA = 1): kernel-consumer.c
  (sessiond) passes ``CONSUMER_CHANNEL_TYPE_*`` and the receiver switches on
  them (``assert(0)`` otherwise).
* ``u.ask_channel.type`` (``int32_t``, UST) carries lttng-ust's ``enum
  lttng_ust_abi_chan_type`` (PER_CPU = 0, METADATA = 1 — the opposite numbering):
  sessiond passes ``(int) ua_chan->attr.type`` and the receiver switches on
  ``LTTNG_UST_ABI_CHAN_*`` (``assert(0)`` otherwise).
* ``u.ask_channel.output`` (``int32_t``) carries ``enum lttng_event_output``:
  sessiond always sends ``LTTNG_EVENT_MMAP``; the receiver casts it to the enum
  (and maps anything to MMAP).
* ``u.relayd_sock.relayd_socket_protocol`` (``uint8_t``, v2.13.9) carries
  ``enum lttcomm_sock_proto``: sessiond copies ``rsock->sock.proto`` and the
  receiver casts it back to the enum.

ABI differences (this module)
=============================
The only wire difference between v2.13.9 and 97535efaa in this scope is the
``relayd_sock`` member of the union (ADD_RELAYD_SOCKET): at 97535efaa it embeds
the session daemon's whole ``struct lttcomm_relayd_sock`` (``lttcomm_sock``
with its fd number, protocol, ``lttcomm_sockaddr`` and the ``ops`` pointer of
the session daemon's address space, then major/minor): 84 bytes; the consumer
copies the socket address and protocol (``lttcomm_copy_sock``) and creates a
socket before replacing its fd by the received one. v2.13.9 (commit
fe7bf5646 "Fix: Unexpected payload size in cmd_recv_stream_2_11": the
pointer made the layout depend on the sender's bitness) sends only
``major``, ``minor`` and a ``uint8_t`` ``relayd_socket_protocol``: 37 bytes.
The union keeps its 12686 bytes, so the message keeps its 12690 bytes. All
enums and the other structs of this module are identical in both ABIs.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

import construct as cs
from construct_typed import csfield, csfield_default

from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.ids import U64_MAX, ChannelKey, ChunkId, RelaydId, SessionId, StreamKey
from ustref.protocol.abi import Abi
from ustref.protocol.constants import (
    LTTNG_NAME_MAX,
    LTTNG_PATH_MAX,
    LTTNG_SYMBOL_NAME_LEN,
    LTTNG_UUID_LEN,
    PATH_MAX,
)
from ustref.protocol.fields import (
    CharArray,
    CUnion,
    DataclassStruct,
    FieldError,
    FlexArray,
    RawArray,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    enum_c_name,
    s32,
    s64,
    u8,
    u32,
    u64,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.registry import Protocol, StructSpec, register_enums, struct
from ustref.protocol.sockets import LttcommRelaydSock, LttcommSockProto
from ustref.protocol.ust_abi import LttngUstAbiChanType

HEADER = "src/common/sessiond-comm/sessiond-comm.h"

#: ``sizeof`` of the ``u`` union of ``lttcomm_consumer_msg`` (= ``u.ask_channel``), both ABIs.
CONSUMER_MSG_UNION_SIZE = 12686
#: ``sizeof(struct lttcomm_consumer_msg)``, both ABIs: ``cmd_type`` (4) + the union.
CONSUMER_MSG_SIZE = 4 + CONSUMER_MSG_UNION_SIZE


# --- enums -------------------------------------------------------------------


@c_enum("lttng_consumer_command")
class LttngConsumerCommand(enum.IntEnum):
    """Mirrors ``enum lttng_consumer_command``, src/common/consumer/consumer.h.

    Same members and values at v2.13.9 and 97535efaa (implicit numbering from 0).
    """

    LTTNG_CONSUMER_ADD_CHANNEL = 0
    LTTNG_CONSUMER_ADD_STREAM = 1
    LTTNG_CONSUMER_UPDATE_STREAM = 2
    LTTNG_CONSUMER_STOP = 3
    LTTNG_CONSUMER_ADD_RELAYD_SOCKET = 4
    LTTNG_CONSUMER_DESTROY_RELAYD = 5
    LTTNG_CONSUMER_DATA_PENDING = 6
    LTTNG_CONSUMER_ASK_CHANNEL_CREATION = 7
    LTTNG_CONSUMER_GET_CHANNEL = 8
    LTTNG_CONSUMER_DESTROY_CHANNEL = 9
    LTTNG_CONSUMER_PUSH_METADATA = 10
    LTTNG_CONSUMER_CLOSE_METADATA = 11
    LTTNG_CONSUMER_SETUP_METADATA = 12
    LTTNG_CONSUMER_FLUSH_CHANNEL = 13
    LTTNG_CONSUMER_SNAPSHOT_CHANNEL = 14
    LTTNG_CONSUMER_SNAPSHOT_METADATA = 15
    LTTNG_CONSUMER_STREAMS_SENT = 16
    LTTNG_CONSUMER_DISCARDED_EVENTS = 17
    LTTNG_CONSUMER_LOST_PACKETS = 18
    LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL = 19
    LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE = 20
    LTTNG_CONSUMER_ROTATE_CHANNEL = 21
    LTTNG_CONSUMER_INIT = 22
    LTTNG_CONSUMER_CREATE_TRACE_CHUNK = 23
    LTTNG_CONSUMER_CLOSE_TRACE_CHUNK = 24
    LTTNG_CONSUMER_TRACE_CHUNK_EXISTS = 25
    LTTNG_CONSUMER_CLEAR_CHANNEL = 26
    LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS = 27


@c_enum("lttcomm_metadata_command")
class LttcommMetadataCommand(enum.IntEnum):
    """Mirrors ``enum lttcomm_metadata_command``, sessiond-comm.h @ v2.13.9 and 97535efaa.

    Declared but carried by no message: ``lttcomm_metadata_request_msg`` has
    no command field, the request is implied by the metadata socket.
    """

    LTTCOMM_METADATA_REQUEST = 1


@c_enum("lttng_stream_type")
class LttngStreamType(enum.IntEnum):
    """Mirrors ``enum lttng_stream_type``, src/common/uri.h @ v2.13.9 and 97535efaa."""

    LTTNG_STREAM_CONTROL = 0
    LTTNG_STREAM_DATA = 1


@c_enum("lttng_trace_chunk_command_type")
class LttngTraceChunkCommandType(enum.IntEnum):
    """Mirrors ``enum lttng_trace_chunk_command_type``, src/common/trace-chunk.h.

    Same at v2.13.9 and 97535efaa; ``_MAX`` is a C member too.
    """

    LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED = 0
    LTTNG_TRACE_CHUNK_COMMAND_TYPE_NO_OPERATION = 1
    LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE = 2
    LTTNG_TRACE_CHUNK_COMMAND_TYPE_MAX = 3


@c_enum("lttng_event_output")
class LttngEventOutput(enum.IntEnum):
    """Mirrors ``enum lttng_event_output``, include/lttng/event.h @ v2.13.9 and 97535efaa."""

    LTTNG_EVENT_SPLICE = 0
    LTTNG_EVENT_MMAP = 1


@c_enum("consumer_channel_type")
class ConsumerChannelType(enum.IntEnum):
    """Mirrors ``enum consumer_channel_type``, src/common/consumer/consumer.h (both ABIs).

    Carried by ``u.channel.type`` (kernel ADD_CHANNEL).
    """

    CONSUMER_CHANNEL_TYPE_METADATA = 0
    CONSUMER_CHANNEL_TYPE_DATA = 1


class StatusRetCode(StrictEnum[LttcommReturnCode]):
    """``ret_code`` of ``lttcomm_consumer_status_msg``: a ``uint32_t`` holding an
    ``lttcomm_return_code``, or an ``lttng_error_code`` (see the module docstring).

    Parses to :class:`LttcommReturnCode` when the value is one of its members,
    else to :class:`LttngErrorCode`; any other value is an error. Builds either.
    """

    def __init__(self) -> None:
        super().__init__(u32, LttcommReturnCode)

    @staticmethod
    def _member(value: int) -> LttcommReturnCode | LttngErrorCode | None:
        for enum_type in (LttcommReturnCode, LttngErrorCode):
            if value in enum_type._value2member_map_:
                return enum_type(value)
        return None

    def _reason(self, value: object) -> str:
        return (
            f"{value!r} is a value of neither enum {enum_c_name(LttcommReturnCode)} "
            f"nor enum {enum_c_name(LttngErrorCode)}"
        )

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        offset = cs.stream_tell(stream, path)
        value = self.subcon._parsereport(stream, context, path)
        member = self._member(value)
        if member is None:
            raise FieldError(self._reason(value), path, offset)
        return member

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        offset = cs.stream_tell(stream, path)
        member = self._member(obj) if isinstance(obj, int) else None
        if member is None:
            raise FieldError(self._reason(obj), path, offset)
        self.subcon._build(int(member), stream, context, path)
        return obj


# --- replies that are C structs ----------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerStatusMsg(WireStruct):
    """Status reply to most commands (``consumer_send_status_msg``, consumer.c).

    Mirrors ``struct lttcomm_consumer_status_msg`` (packed, 4 bytes),
    sessiond-comm.h @ v2.13.9 and 97535efaa. ``ret_code`` may hold an
    ``lttng_error_code`` (:class:`StatusRetCode`).
    """

    ret_code: LttcommReturnCode | LttngErrorCode = csfield(
        StatusRetCode(), doc="Command status: an lttcomm_return_code, or an lttng_error_code."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerStatusChannel(WireStruct):
    """Reply to ASK_CHANNEL_CREATION: the channel key and its stream count.

    ``consumer_send_status_channel`` (consumer.c) sends SUCCESS with the key
    and count, or CHANNEL_FAIL with both 0. Mirrors ``struct
    lttcomm_consumer_status_channel`` (packed, 16 bytes), sessiond-comm.h @
    v2.13.9 and 97535efaa.
    """

    ret_code: LttcommReturnCode = csfield(
        StrictEnum(u32, LttcommReturnCode),
        doc="SUCCESS, or CHANNEL_FAIL when the channel could not be created.",
    )
    key: int = csfield(u64, doc="Key of the created channel (0 on failure).")
    stream_count: int = csfield(
        u32,
        doc="Streams the channel owns (channel->streams.count): one per possible CPU for a "
        "per-CPU data channel, 1 for a monitored metadata channel, 0 for a snapshot-mode "
        "(unmonitored) metadata channel, whose stream is made per snapshot; 0 on failure.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerChannelMonitorMsg(WireStruct):
    """Channel sample written by the consumer's monitor timer to the channel
    monitor pipe (``monitor_timer``, src/common/consumer/consumer-timer.c, one
    ``write`` of the whole struct, dropped when the pipe is full; read by the
    session daemon's notification thread).

    Mirrors ``struct lttcomm_consumer_channel_monitor_msg`` (packed, 32 bytes),
    sessiond-comm.h @ v2.13.9 and 97535efaa.
    """

    key: int = csfield(u64, doc="Key of the sampled channel.")
    lowest: int = csfield(u64, doc="Lowest buffer usage among the channel's streams, in bytes.")
    highest: int = csfield(u64, doc="Highest buffer usage among the channel's streams, in bytes.")
    total_consumed: int = csfield(
        u64, doc="Bytes consumed so far, summed over the channel's streams."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerCloseTraceChunkReply(WireStruct):
    """Reply to CLOSE_TRACE_CHUNK: return code, then the closed chunk's path.

    Mirrors ``struct lttcomm_consumer_close_trace_chunk_reply`` (not packed,
    naturally aligned without padding: 8 bytes + ``char path[]``),
    sessiond-comm.h @ v2.13.9 and 97535efaa. The consumer sends the 8-byte head
    and then ``path_length`` = ``strlen(path) + 1`` bytes (NUL included) in a
    second write; the session daemon rejects ``path_length >= LTTNG_PATH_MAX`` and
    a last byte that is not NUL (:func:`close_trace_chunk_path` checks both).
    """

    ret_code: LttcommReturnCode = csfield(
        StrictEnum(u32, LttcommReturnCode), doc="Status of the close (lttcomm_return_code)."
    )
    path_length: int = csfield(u32, doc="Length of path in bytes, terminating NUL included.")
    path: bytes = csfield(
        FlexArray(length=lambda this: this.path_length),
        doc="Path of the closed chunk, NUL-terminated (path_length bytes, sent apart).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetadataRequestMsg(WireStruct):
    """Metadata request sent by the consumer on the metadata socket
    (``lttng_ustconsumer_request_metadata``, ust-consumer.c).

    ``bits_per_long`` is 64 for the 64-bit UST consumer (32 / 0 otherwise);
    ``uid`` is the channel's application UID. Mirrors ``struct
    lttcomm_metadata_request_msg`` (packed, 32 bytes), sessiond-comm.h @
    v2.13.9 and 97535efaa.
    """

    session_id: int = csfield(u64, doc="Tracing session ID (per-UID registry lookup).")
    session_id_per_pid: int = csfield(
        u64, doc="Per-PID application session ID (per-PID registry lookup)."
    )
    bits_per_long: int = csfield(u32, doc="Consumer's long size in bits: 64 or 32 (0 if unknown).")
    uid: int = csfield(u32, doc="UID of the traced application (per-UID registry lookup).")
    key: int = csfield(u64, doc="Key of the metadata channel that needs metadata.")


# --- LTTNG_OPTIONAL_COMM values (little-endian, packed) ----------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionalU64(WireStruct):
    """An optional 64-bit value: a set flag, then the value (9 bytes, host order).

    ``LTTNG_OPTIONAL_COMM(uint64_t) LTTNG_PACKED``; mirrors the packed anonymous
    ``{uint8_t is_set; uint64_t value;}`` of src/common/optional.h @ v2.13.9 and
    97535efaa; ``value`` is 0 when unset.
    """

    is_set: int = csfield(u8, doc="1 if value is present, 0 if absent.")
    value: int = csfield(u64, doc="The value when is_set is 1 (0 otherwise).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Credentials(WireStruct):
    """A user ID and group ID pair (packed, 8 bytes).

    The packed anonymous ``{uint32_t uid; uint32_t gid;}`` of
    ``u.ask_channel.buffer_credentials`` and ``u.create_trace_chunk.credentials.value``,
    sessiond-comm.h @ v2.13.9 and 97535efaa.
    """

    uid: int = csfield(u32, doc="User ID the consumer acts as for these files or mappings.")
    gid: int = csfield(u32, doc="Group ID the consumer acts as for these files or mappings.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionalCredentials(WireStruct):
    """Optional user and group IDs: a set flag, then the pair (9 bytes).

    ``LTTNG_OPTIONAL_COMM(struct {uid; gid;} LTTNG_PACKED) LTTNG_PACKED``,
    ``u.create_trace_chunk.credentials``, sessiond-comm.h @ v2.13.9 and 97535efaa.
    """

    is_set: int = csfield(u8, doc="1 if credentials are given (local chunks), 0 otherwise.")
    value: Credentials = csfield(
        DataclassStruct(Credentials), doc="User and group IDs used to create the chunk's files."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionalTraceChunkCommand(WireStruct):
    """An optional trace chunk close command: a set flag, then the command (5 bytes).

    ``LTTNG_OPTIONAL_COMM(uint32_t) LTTNG_PACKED`` documented as ``enum
    lttng_trace_chunk_command_type``, ``u.close_trace_chunk.close_command``,
    sessiond-comm.h @ v2.13.9 and 97535efaa. The sender zeroes ``value`` when unset
    (0 = MOVE_TO_COMPLETED, a member), so it is checked either way.
    """

    is_set: int = csfield(u8, doc="1 if a close command is given, 0 otherwise.")
    value: LttngTraceChunkCommandType = csfield(
        StrictEnum(u32, LttngTraceChunkCommandType),
        doc="Action applied to the chunk on close (lttng_trace_chunk_command_type).",
    )


# --- members of the lttcomm_consumer_msg union (both ABIs) -------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelMember(WireStruct):
    """Kernel ADD_CHANNEL: a channel to create (``u.channel``, packed, 4422 bytes).

    Sent by ``consumer_init_add_channel_comm_msg`` (sessiond consumer.c, called
    from kernel-consumer.c); read by ``lttng_kconsumer_recv_cmd``. ``type`` is a
    :class:`ConsumerChannelType`, ``output`` an :class:`LttngEventOutput`.
    """

    channel_key: int = csfield(u64, doc="Unique key of the channel.")
    session_id: int = csfield(u64, doc="Tracing session ID.")
    chunk_id: OptionalU64 = csfield(
        DataclassStruct(OptionalU64), doc="ID of the session's current trace chunk, if any."
    )
    pathname: str = csfield(
        CharArray(PATH_MAX), doc="Channel output path, relative to the trace chunk."
    )
    relayd_id: int = csfield(u64, doc="Relayd index for network output; all ones for local output.")
    nb_init_streams: int = csfield(
        u32, doc="Number of streams the channel starts with (1 for metadata)."
    )
    name: str = csfield(CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Channel name.")
    output: LttngEventOutput = csfield(
        StrictEnum(u32, LttngEventOutput),
        doc="Consume the streams with splice or mmap (lttng_event_output).",
    )
    type: ConsumerChannelType = csfield(
        StrictEnum(s32, ConsumerChannelType),
        doc="Data or metadata channel (consumer_channel_type).",
    )
    tracefile_size: int = csfield(u64, doc="Maximum size of a trace file in bytes (0: unlimited).")
    tracefile_count: int = csfield(
        u32, doc="Maximum number of trace files per stream (0: unlimited)."
    )
    monitor: int = csfield(
        u32, doc="1 if the consumer consumes the streams, 0 in snapshot (no-output) mode."
    )
    live_timer_interval: int = csfield(u32, doc="Live timer period in µs (0: off).")
    is_live: int = csfield(u8, doc="1 if the channel belongs to a live session.")
    monitor_timer_interval: int = csfield(
        u32, doc="Period of the channel usage sampling in µs (0: off)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class StreamMember(WireStruct):
    """Kernel ADD_STREAM: a stream whose fd follows (``u.stream``, packed, 24 bytes).

    Sent by ``consumer_init_add_stream_comm_msg`` (sessiond consumer.c); read by
    ``lttng_kconsumer_recv_cmd``.
    """

    stream_key: int = csfield(
        u64, doc="The session daemon's fd number of the stream; ignored by the consumer."
    )
    channel_key: int = csfield(u64, doc="Key of the channel the stream belongs to.")
    cpu: int = csfield(s32, doc="CPU the stream is bound to (0 for metadata).")
    no_monitor: int = csfield(
        u32, doc="Meant to mark a stream as not monitored; never set nor read (0)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydSockV2139(WireStruct):
    """ADD_RELAYD_SOCKET: a relayd socket whose fd follows (v2.13.9, packed, 37 bytes).

    ``u.relayd_sock`` at v2.13.9.

    Sent by ``consumer_send_relayd_socket`` (sessiond consumer.c); read by
    ``lttng_ustconsumer_recv_cmd`` → ``consumer_add_relayd_socket``.
    ``relayd_session_id`` is set for the control socket only.
    """

    net_index: int = csfield(u64, doc="Relayd index of the consumer output this socket serves.")
    type: LttngStreamType = csfield(
        StrictEnum(u32, LttngStreamType), doc="Control or data socket (lttng_stream_type)."
    )
    major: int = csfield(u32, doc="Relayd protocol major version negotiated by the session daemon.")
    minor: int = csfield(u32, doc="Relayd protocol minor version negotiated by the session daemon.")
    relayd_socket_protocol: LttcommSockProto = csfield(
        StrictEnum(u8, LttcommSockProto), doc="Socket transport, TCP or UDP (lttcomm_sock_proto)."
    )
    session_id: int = csfield(u64, doc="Tracing session ID associated with the relayd.")
    relayd_session_id: int = csfield(
        u64, doc="Session ID on the relayd; set for the control socket only."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionIdArgs(WireStruct):
    """A tracing session ID (packed, 8 bytes).

    ``{uint64_t session_id;}``: ``u.data_pending`` (DATA_PENDING,
    ``consumer_is_data_pending``) and ``u.regenerate_metadata`` (used by no command).
    """

    session_id: int = csfield(u64, doc="Tracing session ID.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DestroyRelaydMember(WireStruct):
    """DESTROY_RELAYD: the relayd connection to close (``u.destroy_relayd``, 8 bytes).

    Packed; sent by ``consumer_send_destroy_relayd``.
    """

    net_seq_idx: int = csfield(u64, doc="Relayd index of the connection to destroy.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AskChannelMember(WireStruct):
    """ASK_CHANNEL_CREATION: a UST channel to create (``u.ask_channel``, 12686 bytes).

    Packed; the largest member of the union.

    Sent by ``consumer_init_ask_channel_comm_msg`` (sessiond consumer.c, from
    ``ask_channel_creation`` in sessiond ust-consumer.c); read by
    ``lttng_ustconsumer_recv_cmd``. ``type`` is an :class:`LttngUstAbiChanType`,
    ``output`` an :class:`LttngEventOutput` (always MMAP). ``chan_id`` is
    0xFFFFFFFF for the metadata channel; ``root_shm_path``/``shm_path`` are empty
    unless the session has a shm path.
    """

    subbuf_size: int = csfield(u64, doc="Sub-buffer size in bytes (power of 2).")
    num_subbuf: int = csfield(u64, doc="Number of sub-buffers per stream (power of 2).")
    overwrite: int = csfield(
        s32,
        doc="1: overwrite the oldest packets when full, 0: discard new events; -1 "
        "(DEFAULT_CHANNEL_OVERWRITE, trace-ust.c) for a metadata channel.",
    )
    switch_timer_interval: int = csfield(
        u32, doc="Periodic sub-buffer switch timer in µs (0: off)."
    )
    read_timer_interval: int = csfield(u32, doc="Read timer period in µs (0: off).")
    live_timer_interval: int = csfield(u32, doc="Live timer period in µs (0: not live).")
    is_live: int = csfield(u8, doc="1 if the channel belongs to a live session.")
    monitor_timer_interval: int = csfield(
        u32, doc="Period of the channel usage sampling in µs (0: off)."
    )
    output: LttngEventOutput = csfield(
        StrictEnum(s32, LttngEventOutput),
        doc="Consumption method; always mmap for UST (lttng_event_output).",
    )
    type: LttngUstAbiChanType = csfield(
        StrictEnum(s32, LttngUstAbiChanType),
        doc="Per-CPU stream or metadata (lttng_ust_abi_chan_type).",
    )
    session_id: int = csfield(u64, doc="Tracing session ID.")
    pathname: str = csfield(
        CharArray(PATH_MAX), doc="Channel output path, relative to the current trace chunk."
    )
    name: str = csfield(CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Channel name.")
    buffer_credentials: Credentials = csfield(
        DataclassStruct(Credentials),
        doc="User and group IDs used to open the buffers' shared memory.",
    )
    relayd_id: int = csfield(u64, doc="Relayd index for network output; all ones for local output.")
    key: int = csfield(u64, doc="Unique channel key chosen by the session daemon.")
    chunk_id: OptionalU64 = csfield(
        DataclassStruct(OptionalU64), doc="ID of the session's current trace chunk, if any."
    )
    uuid: bytes = csfield(
        RawArray(LTTNG_UUID_LEN), doc="UUID of the trace, from the session's registry."
    )
    chan_id: int = csfield(
        u32, doc="Channel ID in the tracer's registry (0xFFFFFFFF for metadata)."
    )
    tracefile_size: int = csfield(u64, doc="Maximum size of a trace file in bytes (0: unlimited).")
    tracefile_count: int = csfield(
        u32, doc="Maximum number of trace files per stream (0: unlimited)."
    )
    session_id_per_pid: int = csfield(u64, doc="Per-application session ID (per-PID buffers).")
    monitor: int = csfield(
        u32, doc="1 if the consumer consumes the streams, 0 in snapshot (no-output) mode."
    )
    ust_app_uid: int = csfield(u32, doc="UID of the traced application (per-UID buffers).")
    blocking_timeout: int = csfield(
        s64, doc="Blocking timeout in µs (0: never block, -1: block forever)."
    )
    root_shm_path: str = csfield(
        CharArray(PATH_MAX), doc="Session's shm root directory; empty unless a shm path is set."
    )
    shm_path: str = csfield(
        CharArray(PATH_MAX), doc="Prefix of the per-CPU shm files; empty unless a shm path is set."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyArgs(WireStruct):
    """A channel key (packed, 8 bytes), argument of the commands acting on one channel.

    ``{uint64_t key;}``, the channel key of:
    ``u.get_channel`` (GET_CHANNEL, ``ust_consumer_get_channel``),
    ``u.destroy_channel`` (DESTROY_CHANNEL, ``ust_consumer_destroy_channel``),
    ``u.close_metadata`` (CLOSE_METADATA, ``consumer_close_metadata``),
    ``u.setup_metadata`` (SETUP_METADATA, ``consumer_setup_metadata``),
    ``u.flush_channel`` (FLUSH_CHANNEL, ``consumer_flush_channel``),
    ``u.clear_quiescent_channel`` (CLEAR_QUIESCENT_CHANNEL,
    ``consumer_clear_quiescent_channel``), ``u.clear_channel`` (CLEAR_CHANNEL,
    ``consumer_clear_channel``), ``u.open_channel_packets`` (OPEN_CHANNEL_PACKETS,
    ``consumer_open_channel_packets``) — all sessiond consumer.c / ust-consumer.c,
    read by ``lttng_ustconsumer_recv_cmd``.
    """

    key: int = csfield(u64, doc="Channel key (the metadata channel's for CLOSE/SETUP_METADATA).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PushMetadataMember(WireStruct):
    """PUSH_METADATA: metadata bytes for a metadata channel (``u.push_metadata``, 32 bytes).

    Packed.

    Sent by ``consumer_push_metadata`` (sessiond consumer.c) on the command or
    the metadata socket; read by ``lttng_ustconsumer_recv_cmd`` and
    ``lttng_ustconsumer_request_metadata``.
    """

    key: int = csfield(u64, doc="Key of the metadata channel.")
    target_offset: int = csfield(u64, doc="Byte offset of these bytes in the session's metadata.")
    len: int = csfield(u64, doc="Number of metadata bytes that follow the message (0: none).")
    version: int = csfield(u64, doc="Metadata version; changes when the metadata is regenerated.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SnapshotChannelMember(WireStruct):
    """SNAPSHOT_CHANNEL: a channel to snapshot, and where (packed, 4128 bytes).

    ``u.snapshot_channel``.

    Sent by ``consumer_snapshot_channel`` (sessiond consumer.c; ``metadata`` = 1
    for the metadata channel, ``relayd_id`` = ``-1ULL`` for a local snapshot); read
    by ``lttng_ustconsumer_recv_cmd``.
    """

    pathname: str = csfield(CharArray(PATH_MAX), doc="Output path of the channel's snapshot.")
    use_relayd: int = csfield(u32, doc="1 if the snapshot goes to a relayd, 0 if written locally.")
    metadata: int = csfield(u32, doc="1 if this is the metadata channel.")
    relayd_id: int = csfield(u64, doc="Relayd index; all ones for a local snapshot.")
    key: int = csfield(u64, doc="Key of the channel to snapshot.")
    nb_packets_per_stream: int = csfield(u64, doc="Maximum packets taken per stream (0: no limit).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SentStreamsMember(WireStruct):
    """Kernel STREAMS_SENT: every stream of a channel was sent (packed, 16 bytes).

    ``u.sent_streams``, sent by ``consumer_init_streams_sent_comm_msg`` (sessiond consumer.c).
    """

    channel_key: int = csfield(u64, doc="Key of the channel whose streams have all been sent.")
    net_seq_idx: int = csfield(u64, doc="Relayd index to notify; all ones for local output.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionChannelArgs(WireStruct):
    """A session ID and channel key (packed, 16 bytes): a channel counter query.

    ``{uint64_t session_id; uint64_t channel_key;}``: ``u.discarded_events``
    (DISCARDED_EVENTS, ``consumer_get_discarded_events``) and ``u.lost_packets``
    (LOST_PACKETS, ``consumer_get_lost_packets``).
    """

    session_id: int = csfield(u64, doc="Tracing session ID.")
    channel_key: int = csfield(u64, doc="Key of the channel to query.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RotateChannelMember(WireStruct):
    """ROTATE_CHANNEL: a channel to rotate (``u.rotate_channel``, packed, 20 bytes).

    Sent by ``consumer_rotate_channel``.
    """

    metadata: int = csfield(u32, doc="1 if this is the metadata channel.")
    relayd_id: int = csfield(u64, doc="Relayd index; all ones for local output.")
    key: int = csfield(u64, doc="Key of the channel to rotate.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckRotationPendingLocalMember(WireStruct):
    """A local rotation check, used by no command (packed, 16 bytes).

    ``u.check_rotation_pending_local``.
    """

    session_id: int = csfield(u64, doc="Tracing session ID.")
    chunk_id: int = csfield(u64, doc="ID of the trace chunk.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckRotationPendingRelayMember(WireStruct):
    """A relayd rotation check, used by no command (packed, 24 bytes).

    ``u.check_rotation_pending_relay``.
    """

    relayd_id: int = csfield(u64, doc="Relayd index.")
    session_id: int = csfield(u64, doc="Tracing session ID.")
    chunk_id: int = csfield(u64, doc="ID of the trace chunk.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateTraceChunkMember(WireStruct):
    """CREATE_TRACE_CHUNK: a trace chunk to create (packed, 297 bytes).

    ``u.create_trace_chunk``, sent by ``consumer_create_trace_chunk`` (sessiond
    consumer.c): ``relayd_id`` unset and ``credentials`` set for a local chunk (whose
    directory fd follows), ``override_name`` all zeroes unless the chunk name is
    overridden.
    """

    relayd_id: OptionalU64 = csfield(
        DataclassStruct(OptionalU64), doc="Relayd index of a remote chunk; unset for a local chunk."
    )
    override_name: str = csfield(
        CharArray(LTTNG_NAME_MAX),
        doc="Chunk name override; all zeroes if the name is not overridden.",
    )
    session_id: int = csfield(u64, doc="Tracing session ID.")
    chunk_id: int = csfield(u64, doc="ID of the new trace chunk.")
    creation_timestamp: int = csfield(
        u64, doc="Chunk creation time in seconds since the Unix epoch."
    )
    credentials: OptionalCredentials = csfield(
        DataclassStruct(OptionalCredentials),
        doc="User and group IDs for the chunk's files (local chunks only).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class CloseTraceChunkMember(WireStruct):
    """CLOSE_TRACE_CHUNK: a trace chunk to close (packed, 38 bytes).

    ``u.close_trace_chunk``, sent by ``consumer_close_trace_chunk`` (sessiond consumer.c).
    """

    relayd_id: OptionalU64 = csfield(
        DataclassStruct(OptionalU64), doc="Relayd index of a remote chunk; unset for a local chunk."
    )
    session_id: int = csfield(u64, doc="Tracing session ID.")
    chunk_id: int = csfield(u64, doc="ID of the trace chunk to close.")
    close_timestamp: int = csfield(u64, doc="Chunk close time in seconds since the Unix epoch.")
    close_command: OptionalTraceChunkCommand = csfield(
        DataclassStruct(OptionalTraceChunkCommand),
        doc="Action to apply to the chunk on close, if any.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class TraceChunkExistsMember(WireStruct):
    """TRACE_CHUNK_EXISTS: a trace chunk to look for (packed, 25 bytes).

    ``u.trace_chunk_exists``, sent by ``consumer_trace_chunk_exists`` (sessiond consumer.c).
    """

    relayd_id: OptionalU64 = csfield(
        DataclassStruct(OptionalU64), doc="Relayd index of a remote chunk; unset for a local chunk."
    )
    session_id: int = csfield(u64, doc="Tracing session ID.")
    chunk_id: int = csfield(u64, doc="ID of the trace chunk to look for.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class InitMember(WireStruct):
    """INIT: the session daemon's UUID (``u.init``, packed, 16 bytes).

    Sent by ``consumer_init``.
    """

    sessiond_uuid: bytes = csfield(
        RawArray(LTTNG_UUID_LEN), doc="UUID of the session daemon instance."
    )


# --- 97535efaa: struct lttcomm_relayd_sock inside u.relayd_sock --------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydSockR97535efaa(WireStruct):
    """ADD_RELAYD_SOCKET: a relayd socket whose fd follows (97535efaa, packed, 84 bytes).

    ``u.relayd_sock`` at 97535efaa, sent by ``consumer_send_relayd_socket`` (sessiond
    consumer.cpp, a ``memcpy`` of the whole ``lttcomm_relayd_sock``); read by
    ``lttng_ustconsumer_recv_cmd`` → ``consumer_add_relayd_socket`` (consumer.cpp).
    """

    net_index: int = csfield(u64, doc="Relayd index of the consumer output this socket serves.")
    type: LttngStreamType = csfield(
        StrictEnum(u32, LttngStreamType), doc="Control or data socket (lttng_stream_type)."
    )
    sock: LttcommRelaydSock = csfield(
        DataclassStruct(LttcommRelaydSock),
        doc="The session daemon's relayd socket object, copied whole.",
    )
    session_id: int = csfield(u64, doc="Tracing session ID associated with the relayd.")
    relayd_session_id: int = csfield(
        u64, doc="Session ID on the relayd; set for the control socket only."
    )


# --- lttcomm_consumer_msg ----------------------------------------------------


#: The member each command's sender writes and its receiver reads. Commands
#: absent here carry no member (the sender zeroes the union): UPDATE_STREAM,
#: STOP, SNAPSHOT_METADATA (no sender), SET_CHANNEL_MONITOR_PIPE.
_CASES: Mapping[LttngConsumerCommand, str] = {
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL: "channel",
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_STREAM: "stream",
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET: "relayd_sock",
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD: "destroy_relayd",
    LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING: "data_pending",
    LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION: "ask_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL: "get_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL: "destroy_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA: "push_metadata",
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA: "close_metadata",
    LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA: "setup_metadata",
    LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL: "flush_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL: "snapshot_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_STREAMS_SENT: "sent_streams",
    LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS: "discarded_events",
    LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS: "lost_packets",
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL: "clear_quiescent_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL: "rotate_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_INIT: "init",
    LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK: "create_trace_chunk",
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK: "close_trace_chunk",
    LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS: "trace_chunk_exists",
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL: "clear_channel",
    LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS: "open_channel_packets",
}


def _consumer_union(relayd_sock: type[WireStruct]) -> CUnion:
    """The ``u`` union, every member in declaration order; only ``relayd_sock`` varies."""
    key = DataclassStruct(KeyArgs)
    session = DataclassStruct(SessionIdArgs)
    session_channel = DataclassStruct(SessionChannelArgs)
    members = {
        "channel": DataclassStruct(ChannelMember),
        "stream": DataclassStruct(StreamMember),
        "relayd_sock": DataclassStruct(relayd_sock),
        "destroy_relayd": DataclassStruct(DestroyRelaydMember),
        "data_pending": session,
        "ask_channel": DataclassStruct(AskChannelMember),
        "get_channel": key,
        "destroy_channel": key,
        "push_metadata": DataclassStruct(PushMetadataMember),
        "close_metadata": key,
        "setup_metadata": key,
        "flush_channel": key,
        "clear_quiescent_channel": key,
        "snapshot_channel": DataclassStruct(SnapshotChannelMember),
        "sent_streams": DataclassStruct(SentStreamsMember),
        "discarded_events": session_channel,
        "lost_packets": session_channel,
        "regenerate_metadata": session,
        "rotate_channel": DataclassStruct(RotateChannelMember),
        "check_rotation_pending_local": DataclassStruct(CheckRotationPendingLocalMember),
        "check_rotation_pending_relay": DataclassStruct(CheckRotationPendingRelayMember),
        "create_trace_chunk": DataclassStruct(CreateTraceChunkMember),
        "close_trace_chunk": DataclassStruct(CloseTraceChunkMember),
        "trace_chunk_exists": DataclassStruct(TraceChunkExistsMember),
        "init": DataclassStruct(InitMember),
        "clear_channel": key,
        "open_channel_packets": key,
    }
    return CUnion(CONSUMER_MSG_UNION_SIZE, members, key="cmd_type", cases=_CASES)


_UNION_V2139 = _consumer_union(RelaydSockV2139)
_UNION_R97535EFAA = _consumer_union(RelaydSockR97535efaa)

#: What ``u`` holds once parsed (raw bytes when ``cmd_type`` selects no member).
UnionMember = (
    ChannelMember
    | StreamMember
    | RelaydSockV2139
    | RelaydSockR97535efaa
    | DestroyRelaydMember
    | SessionIdArgs
    | AskChannelMember
    | KeyArgs
    | PushMetadataMember
    | SnapshotChannelMember
    | SentStreamsMember
    | SessionChannelArgs
    | RotateChannelMember
    | CheckRotationPendingLocalMember
    | CheckRotationPendingRelayMember
    | CreateTraceChunkMember
    | CloseTraceChunkMember
    | TraceChunkExistsMember
    | InitMember
    | bytes
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerMsgV2139(WireStruct):
    """A command to the consumer daemon, v2.13.9 (12690 bytes, always sent whole).

    Mirrors ``struct lttcomm_consumer_msg`` (packed), sessiond-comm.h @ v2.13.9:
    ``cmd_type`` (documented ``enum lttng_consumer_command``), then the union
    ``u`` decoded as the member ``cmd_type`` selects; ``u_tail`` keeps the bytes
    of the union beyond that member (zero when the sender ``memset`` the message).
    """

    cmd_type: LttngConsumerCommand = csfield(
        StrictEnum(u32, LttngConsumerCommand), doc="Command to run (lttng_consumer_command)."
    )
    u: UnionMember = csfield(
        _UNION_V2139, doc="Command arguments; the member is chosen by cmd_type."
    )
    u_tail: bytes = csfield_default(UnionTail(_UNION_V2139), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerMsgR97535efaa(WireStruct):
    """A command to the consumer daemon, 97535efaa (12690 bytes, always sent whole).

    Mirrors ``struct lttcomm_consumer_msg`` (packed), sessiond-comm.h @ 97535efaa;
    as :class:`ConsumerMsgV2139` except ``u.relayd_sock`` (:class:`RelaydSockR97535efaa`).
    """

    cmd_type: LttngConsumerCommand = csfield(
        StrictEnum(u32, LttngConsumerCommand), doc="Command to run (lttng_consumer_command)."
    )
    u: UnionMember = csfield(
        _UNION_R97535EFAA, doc="Command arguments; the member is chosen by cmd_type."
    )
    u_tail: bytes = csfield_default(UnionTail(_UNION_R97535EFAA), default=b"")


ConsumerMsg = ConsumerMsgV2139 | ConsumerMsgR97535efaa


# --- bare scalar replies (not C structs) -------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataPendingReply(WireStruct):
    """Reply to DATA_PENDING: the consumer's ``int is_data_pending``
    (``consumer_data_pending``: 1 pending, 0 not), sent with ``sizeof(int)``
    (ust-consumer.c) and read as ``int32_t ret_code`` by
    ``consumer_is_data_pending`` (sessiond consumer.c), which only tests ``== 1``.
    """

    is_data_pending: int = csfield(
        s32, doc="1 if the session still has data to consume or send, 0 if not."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DiscardedEventsReply(WireStruct):
    """Reply to DISCARDED_EVENTS: ``uint64_t discarded_events`` (0 when no stream of
    the channel is found), read by ``consumer_get_discarded_events``."""

    discarded_events: int = csfield(
        u64, doc="Events discarded by the channel (0 if no stream is found)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LostPacketsReply(WireStruct):
    """Reply to LOST_PACKETS: ``uint64_t lost_packets`` (0 when no stream of the
    channel is found), read by ``consumer_get_lost_packets``."""

    lost_packets: int = csfield(u64, doc="Packets lost by the channel (0 if no stream is found).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErrorSocketCode(WireStruct):
    """One code on the consumer's error socket (``lttng_consumer_send_error``):
    4 bytes holding an ``lttcomm_return_code`` (every call site passes an
    ``LTTCOMM_CONSUMERD_*``); the first is ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``.
    """

    code: LttcommReturnCode = csfield(
        StrictEnum(u32, LttcommReturnCode), doc="Readiness or error code (lttcomm_return_code)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetadataRequestErrorReply(WireStruct):
    """The session daemon's "no registry" answer to a metadata request
    (``ust_consumer_metadata_request``): a whole zeroed ``lttcomm_consumer_msg``
    whose ``cmd_type`` holds ``LTTNG_ERR_UND`` (an ``lttng_error_code``). The union
    is kept as raw bytes. Decode with :func:`parse_metadata_socket_reply`.
    """

    cmd_type: LttngErrorCode = csfield_default(
        StrictEnum(u32, LttngErrorCode),
        doc="LTTNG_ERR_UND: no registry for the request (lttng_error_code).",
        default=LttngErrorCode.LTTNG_ERR_UND,
    )
    u: bytes = csfield_default(
        RawArray(CONSUMER_MSG_UNION_SIZE),
        doc="The union, all zeroes.",
        default=bytes(CONSUMER_MSG_UNION_SIZE),
    )


# --- registration ------------------------------------------------------------

register_enums(
    LttngConsumerCommand,
    LttcommMetadataCommand,
    LttngStreamType,
    LttngTraceChunkCommandType,
    LttngEventOutput,
    ConsumerChannelType,
)
# LttcommSockProto and LttcommSockDomain are registered by ustref.protocol.peers.client,
# LttcommReturnCode by ustref.protocol.lttng_error, LttngUstAbiChanType by
# ustref.protocol.ust_abi.

STATUS_MSG = struct(
    "lttcomm_consumer_status_msg", ConsumerStatusMsg, header=HEADER, protocol=Protocol.CONSUMER
)
STATUS_CHANNEL = struct(
    "lttcomm_consumer_status_channel",
    ConsumerStatusChannel,
    header=HEADER,
    protocol=Protocol.CONSUMER,
)
CHANNEL_MONITOR_MSG = struct(
    "lttcomm_consumer_channel_monitor_msg",
    ConsumerChannelMonitorMsg,
    header=HEADER,
    protocol=Protocol.CONSUMER,
)
CLOSE_TRACE_CHUNK_REPLY = struct(
    "lttcomm_consumer_close_trace_chunk_reply",
    ConsumerCloseTraceChunkReply,
    header=HEADER,
    protocol=Protocol.CONSUMER,
)
METADATA_REQUEST_MSG = struct(
    "lttcomm_metadata_request_msg", MetadataRequestMsg, header=HEADER, protocol=Protocol.CONSUMER
)
CONSUMER_MSG_V2139 = struct(
    "lttcomm_consumer_msg",
    ConsumerMsgV2139,
    header=HEADER,
    protocol=Protocol.CONSUMER,
    abis=(Abi.V2_13_9,),
)
CONSUMER_MSG_R97535EFAA = struct(
    "lttcomm_consumer_msg",
    ConsumerMsgR97535efaa,
    header=HEADER,
    protocol=Protocol.CONSUMER,
    abis=(Abi.R97535EFAA,),
)
#: ``struct lttcomm_consumer_msg`` per ABI.
CONSUMER_MSG: dict[Abi, StructSpec[Any]] = {
    Abi.V2_13_9: CONSUMER_MSG_V2139,
    Abi.R97535EFAA: CONSUMER_MSG_R97535EFAA,
}

DATA_PENDING_REPLY = struct(
    "data pending reply (int32)",
    DataPendingReply,
    header="src/common/ust-consumer/ust-consumer.c",
    protocol=Protocol.CONSUMER,
    abis=(),
)
DISCARDED_EVENTS_REPLY = struct(
    "discarded events reply (uint64)",
    DiscardedEventsReply,
    header="src/common/ust-consumer/ust-consumer.c",
    protocol=Protocol.CONSUMER,
    abis=(),
)
LOST_PACKETS_REPLY = struct(
    "lost packets reply (uint64)",
    LostPacketsReply,
    header="src/common/ust-consumer/ust-consumer.c",
    protocol=Protocol.CONSUMER,
    abis=(),
)
ERROR_SOCKET_CODE = struct(
    "consumer error socket code (lttcomm_return_code, 4 bytes)",
    ErrorSocketCode,
    header="src/common/consumer/consumer.c",
    protocol=Protocol.CONSUMER,
    abis=(),
)
METADATA_ERROR_REPLY = struct(
    "metadata request error reply (lttcomm_consumer_msg with cmd_type LTTNG_ERR_UND)",
    MetadataRequestErrorReply,
    header="src/bin/lttng-sessiond/ust-consumer.c",
    protocol=Protocol.CONSUMER,
    abis=(),
)


# --- decoding helpers --------------------------------------------------------

_METADATA_SOCKET_MESSAGE = "lttcomm_consumer_msg (metadata socket reply)"


def parse_metadata_socket_reply(
    abi: Abi, data: bytes | bytearray | memoryview
) -> ConsumerMsg | MetadataRequestErrorReply:
    """Decode the session daemon's answer to a metadata request.

    ``cmd_type == LTTNG_ERR_UND`` → :class:`MetadataRequestErrorReply`;
    ``cmd_type == LTTNG_CONSUMER_PUSH_METADATA`` → the ABI's consumer message
    (``u`` a :class:`PushMetadataMember`); anything else, or a message that is
    not exactly 12690 bytes, raises :class:`RemoteProtocolError`.
    """
    raw = bytes(data)
    if len(raw) != CONSUMER_MSG_SIZE:
        raise RemoteProtocolError(
            f"{len(raw)} bytes, expected {CONSUMER_MSG_SIZE}",
            message=_METADATA_SOCKET_MESSAGE,
            offset=min(len(raw), CONSUMER_MSG_SIZE),
        )
    cmd_type = int.from_bytes(raw[:4], "little")
    if cmd_type == LttngErrorCode.LTTNG_ERR_UND:
        return METADATA_ERROR_REPLY.parse(raw)
    if cmd_type == LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA:
        msg: ConsumerMsg = CONSUMER_MSG[abi].parse(raw)
        return msg
    raise RemoteProtocolError(
        f"{cmd_type} is neither LTTNG_ERR_UND nor LTTNG_CONSUMER_PUSH_METADATA",
        message=_METADATA_SOCKET_MESSAGE,
        field="cmd_type",
        offset=0,
    )


def close_trace_chunk_path(reply: ConsumerCloseTraceChunkReply) -> str:
    """The path of a CLOSE_TRACE_CHUNK reply, checked as the session daemon does
    (``consumer_close_trace_chunk``): ``path_length < LTTNG_PATH_MAX``, at least
    one byte, the last byte NUL.
    """
    message = "lttcomm_consumer_close_trace_chunk_reply"
    if reply.path_length >= LTTNG_PATH_MAX:
        raise RemoteProtocolError(
            f"path_length {reply.path_length} >= LTTNG_PATH_MAX ({LTTNG_PATH_MAX})",
            message=message,
            field="path_length",
            offset=4,
        )
    if not reply.path or reply.path[-1] != 0:
        raise RemoteProtocolError(
            "path is not NUL-terminated",
            message=message,
            field="path",
            offset=8 + max(len(reply.path) - 1, 0),
        )
    return reply.path[:-1].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


# --- typed ids ---------------------------------------------------------------

#: ``-1ULL``: the relayd index of local output (``relayd_id`` / ``net_seq_index``).
NO_RELAYD = U64_MAX

#: Which field holds the channel key, per message type.
_CHANNEL_KEY_FIELD: Mapping[type[WireStruct], str] = {
    ChannelMember: "channel_key",
    StreamMember: "channel_key",
    SentStreamsMember: "channel_key",
    SessionChannelArgs: "channel_key",
    AskChannelMember: "key",
    KeyArgs: "key",
    PushMetadataMember: "key",
    SnapshotChannelMember: "key",
    RotateChannelMember: "key",
    ConsumerStatusChannel: "key",
    ConsumerChannelMonitorMsg: "key",
    MetadataRequestMsg: "key",
}


def _field(message: WireStruct, name: str, what: str) -> Any:
    if not hasattr(message, name):
        raise LocalProtocolError(f"{type(message).__name__} carries no {what}")
    return getattr(message, name)


def channel_key(message: WireStruct) -> ChannelKey:
    """The channel key a command member or reply carries (``key`` or ``channel_key``)."""
    name = _CHANNEL_KEY_FIELD.get(type(message))
    if name is None:
        raise LocalProtocolError(f"{type(message).__name__} carries no channel key")
    return ChannelKey(getattr(message, name))


def session_id(message: WireStruct) -> SessionId:
    """The tracing session id of a command member or metadata request."""
    return SessionId(_field(message, "session_id", "session id"))


def stream_key(message: StreamMember) -> StreamKey:
    """The stream key of ``u.stream`` (ADD_STREAM)."""
    return StreamKey(message.stream_key)


def _optional(value: int | OptionalU64) -> int | None:
    if isinstance(value, OptionalU64):
        return value.value if value.is_set else None
    return value


def relayd_id(message: WireStruct) -> RelaydId | None:
    """The relay daemon a member targets (``relayd_id``, ``u.relayd_sock.net_index``);
    ``None`` for local output (unset, or all ones)."""
    name = "net_index" if hasattr(message, "net_index") else "relayd_id"
    value = _optional(_field(message, name, "relayd id"))
    return None if value is None or value == NO_RELAYD else RelaydId(value)


def relayd_index(message: RelaydSockV2139 | DestroyRelaydMember) -> RelaydId:
    """The relayd pair a relayd command names (``u.relayd_sock.net_index``,
    ``u.destroy_relayd.net_seq_idx``): a key of the relayd table, taken as it is
    (all ones included, as C's ``consumer_find_relayd`` does)."""
    if isinstance(message, DestroyRelaydMember):
        return RelaydId(message.net_seq_idx)
    return RelaydId(message.net_index)


def chunk_id(message: WireStruct) -> ChunkId | None:
    """The trace chunk id a member carries (``None``: unset)."""
    value = _optional(_field(message, "chunk_id", "trace chunk id"))
    return None if value is None else ChunkId(value)
