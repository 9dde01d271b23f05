"""Consumer daemon ↔ relay daemon messages (``lttcomm_relayd_*``).

Mirrors ``src/common/sessiond-comm/relayd.h`` at lttng-tools v2.13.9 and
97535efaa, plus ``enum lttcomm_relayd_command`` (declared in sessiond-comm.h).

Byte order: every integer travels big-endian. The consumer's senders
(src/common/relayd/relayd.c, ``write_relayd_stream_header`` and
``write_relayd_metadata_id`` in src/common/consumer/consumer.c) apply
``htobe64``/``htobe32`` to each integer member, and the relay daemon's
receivers (src/bin/lttng-relayd/main.c, cmd-2-*.c) apply ``be64toh``/``be32toh``.
Exceptions, kept as sent: ``char`` arrays, the ``sessiond_uuid`` bytes, and the
single-byte members (``snapshot`` of create_session_2_11, every ``is_set``,
``trace_chunk_exists``). The index fields copied from a ``ctf_packet_index``
are already big-endian ("The index is already in big endian", relayd.c).

``ret_code`` of the replies is a plain ``uint32_t``: the relay daemon puts an
``enum lttng_error_code`` value there (``LTTNG_OK`` = 10, ``LTTNG_ERR_*``),
or, for RELAYD_END_DATA_PENDING, the boolean "data in flight", so it is not
checked against an enum.

Wire differences between the ABIs (this module): the three
``lttcomm_relayd_rotate_streams_{packed,3_bytes_padding,7_bytes_padding}``
declarations exist at v2.13.9 only, where the relay daemon accepts a
``rotate_streams`` header of 13, 16 or 20 bytes (``relay_rotate_session_streams``
picks by payload size); at 97535efaa it accepts only the 20-byte form. The
consumer sends the 20-byte form in both. ``session_id`` of
``lttcomm_relayd_create_session_2_11`` is sent big-endian by both consumers but
read by the relay daemon only at v2.13.9 (fix 675f2779d); 97535efaa ignores it.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from construct_typed import DataclassStruct, csfield, csfield_default

from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.constants import LTTNG_UUID_LEN
from ustref.protocol.consumer import LttngTraceChunkCommandType
from ustref.protocol.fields import (
    CharArray,
    CUnion,
    FlexArray,
    Pad,
    RawArray,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    u8,
    u32be,
    u64be,
)
from ustref.protocol.registry import Protocol, register_enums, struct

HEADER = "src/common/sessiond-comm/relayd.h"

#: ``RELAYD_COMM_LTTNG_HOST_NAME_MAX_2_4``, relayd.h.
RELAYD_COMM_LTTNG_HOST_NAME_MAX_2_4 = 64
#: ``RELAYD_COMM_LTTNG_NAME_MAX_2_4``, relayd.h.
RELAYD_COMM_LTTNG_NAME_MAX_2_4 = 255
#: ``RELAYD_COMM_LTTNG_PATH_MAX``, relayd.h.
RELAYD_COMM_LTTNG_PATH_MAX = 4096
#: ``RELAYD_COMM_DEFAULT_STREAM_NAME_LEN`` (256 + 8), relayd.h.
RELAYD_COMM_DEFAULT_STREAM_NAME_LEN = 264


# --- enums -------------------------------------------------------------------


@c_enum("lttcomm_relayd_command")
class LttcommRelaydCommand(enum.IntEnum):
    """Mirrors ``enum lttcomm_relayd_command``, sessiond-comm.h @ v2.13.9 and 97535efaa."""

    RELAYD_ADD_STREAM = 1
    RELAYD_CREATE_SESSION = 2
    RELAYD_START_DATA = 3
    RELAYD_UPDATE_SYNC_INFO = 4
    RELAYD_VERSION = 5
    RELAYD_SEND_METADATA = 6
    RELAYD_CLOSE_STREAM = 7
    RELAYD_DATA_PENDING = 8
    RELAYD_QUIESCENT_CONTROL = 9
    RELAYD_BEGIN_DATA_PENDING = 10
    RELAYD_END_DATA_PENDING = 11
    RELAYD_ADD_INDEX = 12
    RELAYD_SEND_INDEX = 13
    RELAYD_CLOSE_INDEX = 14
    RELAYD_LIST_SESSIONS = 15
    RELAYD_STREAMS_SENT = 16
    RELAYD_RESET_METADATA = 17
    RELAYD_ROTATE_STREAMS = 18
    RELAYD_CREATE_TRACE_CHUNK = 19
    RELAYD_CLOSE_TRACE_CHUNK = 20
    RELAYD_TRACE_CHUNK_EXISTS = 21
    RELAYD_GET_CONFIGURATION = 22


@c_enum("lttcomm_relayd_configuration_flag")
class LttcommRelaydConfigurationFlag(enum.IntEnum):
    """Mirrors ``enum lttcomm_relayd_configuration_flag``, relayd.h @ v2.13.9 and 97535efaa.

    Bits of ``relayd_configuration_flags`` (a set, so that field is a plain integer).
    """

    LTTCOMM_RELAYD_CONFIGURATION_FLAG_CLEAR_ALLOWED = 1 << 0


# --- LTTNG_OPTIONAL_COMM values (big-endian) ---------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionalU64Be(WireStruct):
    """An optional 64-bit value: a set flag, then the value (packed, 9 bytes).

    ``LTTNG_OPTIONAL_COMM(uint64_t) LTTNG_PACKED``, value big-endian. Mirrors
    the packed anonymous ``{uint8_t is_set; uint64_t value;}`` of
    src/common/optional.h @ v2.13.9 and 97535efaa.
    """

    is_set: int = csfield(u8, doc="1 if value is present, else 0.")
    value: int = csfield(u64be, doc="The value; meaningful only when is_set is 1.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionalU64BeAligned(WireStruct):
    """An optional 64-bit value, not packed: a set flag, 7 padding bytes, the value.

    ``LTTNG_OPTIONAL_COMM(uint64_t)`` *without* ``LTTNG_PACKED``, value big-endian.
    Natural alignment on x86_64: ``is_set`` @0, 7 bytes of padding, ``value`` @8
    (16 bytes). Mirrors the anonymous struct of src/common/optional.h as used by
    ``lttcomm_relayd_rotate_streams.new_chunk_id`` @ v2.13.9 and 97535efaa.
    """

    is_set: int = csfield(u8, doc="1 if value is present, else 0.")
    _pad0: bytes = csfield_default(Pad(7), default=bytes(7))
    value: int = csfield(u64be, doc="The value; meaningful only when is_set is 1.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionalTraceChunkCommandBe(WireStruct):
    """An optional trace chunk close command: a set flag, then the command (5 bytes).

    ``LTTNG_OPTIONAL_COMM(uint32_t) LTTNG_PACKED`` documented as ``enum
    lttng_trace_chunk_command_type``, value big-endian.
    Mirrors the packed anonymous ``{uint8_t is_set; uint32_t value;}`` of
    src/common/optional.h @ v2.13.9 and 97535efaa, as
    ``lttcomm_relayd_close_trace_chunk.close_command``. ``relayd_close_trace_chunk``
    sends ``value`` 0 (MOVE_TO_COMPLETED, a member) when unset, so it is checked
    either way.
    """

    is_set: int = csfield(u8, doc="1 if a close command is given, else 0.")
    value: LttngTraceChunkCommandType = csfield(
        StrictEnum(u32be, LttngTraceChunkCommandType),
        doc="Command to apply to the chunk on close; meaningful only when is_set is 1.",
    )


# --- headers -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydHdr(WireStruct):
    """Header of every control-socket command (``send_command``, relayd.c).

    Mirrors ``struct lttcomm_relayd_hdr`` (packed), relayd.h @ v2.13.9 and
    97535efaa. ``circuit_id`` and ``cmd_version`` are always 0; ``cmd`` is
    documented as ``enum lttcomm_relayd_command`` and the relay daemon rejects
    any other value (``relay_unknown_command``).
    """

    circuit_id: int = csfield(u64be, doc="Reserved circuit id; always 0 and ignored.")
    data_size: int = csfield(
        u64be, doc="Size in bytes of the command payload that follows this header."
    )
    cmd: LttcommRelaydCommand = csfield(
        StrictEnum(u32be, LttcommRelaydCommand),
        doc="Command for the relay daemon (an lttcomm_relayd_command value).",
    )
    cmd_version: int = csfield(u32be, doc="Command version; always 0.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydDataHdr(WireStruct):
    """Header of each packet on the data socket (``write_relayd_stream_header``, consumer.c).

    Mirrors ``struct lttcomm_relayd_data_hdr`` (packed), relayd.h @ v2.13.9 and
    97535efaa; ``circuit_id`` is left 0.
    """

    circuit_id: int = csfield(u64be, doc="Reserved circuit id; always 0 and ignored.")
    stream_id: int = csfield(
        u64be, doc="Relay daemon stream id (handle from RELAYD_ADD_STREAM) of the data."
    )
    net_seq_num: int = csfield(
        u64be, doc="Network sequence number of this packet, counted per stream."
    )
    data_size: int = csfield(
        u32be, doc="Size in bytes of the packet data that follows (padding excluded)."
    )
    padding_size: int = csfield(
        u32be, doc="Bytes of zero padding the relay daemon appends after the data."
    )


# --- replies -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydStatusSession(WireStruct):
    """Reply to RELAYD_CREATE_SESSION (2.1 and 2.4 forms; ``relay_create_session``).

    Mirrors ``struct lttcomm_relayd_status_session`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    session_id: int = csfield(u64be, doc="Id the relay daemon gave the new session.")
    ret_code: int = csfield(
        u32be, doc="Result: LTTNG_OK (10) or an LTTNG_ERR_* code (lttng_error_code)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydStatusStream(WireStruct):
    """Reply to RELAYD_ADD_STREAM (``relay_add_stream``).

    Mirrors ``struct lttcomm_relayd_status_stream`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    handle: int = csfield(u64be, doc="Relay daemon stream id given to the new stream.")
    ret_code: int = csfield(
        u32be, doc="Result: LTTNG_OK (10) or an LTTNG_ERR_* code (lttng_error_code)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydGenericReply(WireStruct):
    """Reply to the commands that return only a code.

    Mirrors ``struct lttcomm_relayd_generic_reply`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    ret_code: int = csfield(
        u32be, doc="Result: an lttng_error_code (LTTNG_OK = 10), or a data-pending boolean."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydVersion(WireStruct):
    """RELAYD_VERSION payload and its reply (``relayd_version_check`` / ``relay_send_version``).

    Mirrors ``struct lttcomm_relayd_version`` (packed), relayd.h @ v2.13.9 and 97535efaa.
    """

    major: int = csfield(
        u32be, doc="Relay protocol major version of the sender; both sides must match."
    )
    minor: int = csfield(
        u32be, doc="Relay protocol minor version of the sender; the lower one is used."
    )


# --- sessions and streams ----------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydAddStream(WireStruct):
    """RELAYD_ADD_STREAM payload, protocol 2.1 (``relayd_add_stream_2_1``).

    Mirrors ``struct lttcomm_relayd_add_stream`` (packed), relayd.h @ v2.13.9 and
    97535efaa; both strings are NUL-terminated by ``lttng_strncpy``.
    """

    channel_name: str = csfield(
        CharArray(RELAYD_COMM_DEFAULT_STREAM_NAME_LEN),
        doc="Stream name (channel name and CPU, e.g. channel0_0), NUL-terminated.",
    )
    pathname: str = csfield(
        CharArray(RELAYD_COMM_LTTNG_PATH_MAX),
        doc="Directory of the stream's trace files (relative path), NUL-terminated.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydAddStream22(WireStruct):
    """RELAYD_ADD_STREAM payload, protocol 2.2 to 2.10 (``relayd_add_stream_2_2``).

    Mirrors ``struct lttcomm_relayd_add_stream_2_2`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    channel_name: str = csfield(
        CharArray(RELAYD_COMM_DEFAULT_STREAM_NAME_LEN),
        doc="Stream name (channel name and CPU, e.g. channel0_0), NUL-terminated.",
    )
    pathname: str = csfield(
        CharArray(RELAYD_COMM_LTTNG_PATH_MAX),
        doc="Directory of the stream's trace files (relative path), NUL-terminated.",
    )
    tracefile_size: int = csfield(
        u64be, doc="Maximum size of each trace file, in bytes; 0 for no limit."
    )
    tracefile_count: int = csfield(
        u64be, doc="Maximum number of trace files kept for the stream; 0 for no limit."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydAddStream211(WireStruct):
    """RELAYD_ADD_STREAM payload, protocol 2.11+ (``relayd_add_stream_2_11``).

    Mirrors ``struct lttcomm_relayd_add_stream_2_11`` (packed), relayd.h @
    v2.13.9 and 97535efaa. ``names`` holds the channel name then the path name,
    each NUL-terminated, of the two lengths given; it is the rest of the
    command payload (``cmd_create_stream_2_11`` only requires the payload to be
    at least that long).
    """

    channel_name_len: int = csfield(
        u32be, doc="Length in bytes of the stream name in names, NUL included."
    )
    pathname_len: int = csfield(
        u32be, doc="Length in bytes of the path name in names, NUL included."
    )
    tracefile_size: int = csfield(
        u64be, doc="Maximum size of each trace file, in bytes; 0 for no limit."
    )
    tracefile_count: int = csfield(
        u64be, doc="Maximum number of trace files kept for the stream; 0 for no limit."
    )
    trace_chunk_id: int = csfield(u64be, doc="Id of the trace chunk the stream is created in.")
    names: bytes = csfield(
        FlexArray(), doc="Stream name, then path name (relative directory), each NUL-terminated."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCreateSession24(WireStruct):
    """RELAYD_CREATE_SESSION payload, protocol 2.4 to 2.10 (``relayd_create_session_2_4``).

    Mirrors ``struct lttcomm_relayd_create_session_2_4`` (packed), relayd.h @
    v2.13.9 and 97535efaa; ``snapshot`` is a 32-bit big-endian boolean.
    """

    session_name: str = csfield(
        CharArray(RELAYD_COMM_LTTNG_NAME_MAX_2_4), doc="Tracing session name, NUL-terminated."
    )
    hostname: str = csfield(
        CharArray(RELAYD_COMM_LTTNG_HOST_NAME_MAX_2_4),
        doc="Host name of the traced machine, NUL-terminated.",
    )
    live_timer: int = csfield(
        u32be, doc="Live timer period, in microseconds; 0 if the session is not live."
    )
    snapshot: int = csfield(u32be, doc="1 if the session is a snapshot session, else 0.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCreateSession211(WireStruct):
    """RELAYD_CREATE_SESSION payload, protocol 2.11+ (``relayd_create_session_2_11``).

    Mirrors ``struct lttcomm_relayd_create_session_2_11`` (packed), relayd.h @
    v2.13.9 and 97535efaa. ``snapshot`` and
    ``session_name_contains_creation_time`` are single bytes (not converted),
    ``sessiond_uuid`` raw bytes; ``session_id`` is read by the relay daemon at
    v2.13.9 only (``cmd_create_session_2_11``). ``names`` holds the session
    name, host name and base path, each NUL-terminated, of the three lengths
    given: the rest of the command payload.
    """

    session_name_len: int = csfield(
        u32be, doc="Length in bytes of the session name in names, NUL included."
    )
    hostname_len: int = csfield(
        u32be, doc="Length in bytes of the host name in names, NUL included."
    )
    base_path_len: int = csfield(
        u32be, doc="Length in bytes of the base path in names, NUL included (empty if not set)."
    )
    live_timer: int = csfield(
        u32be, doc="Live timer period, in microseconds; 0 if the session is not live."
    )
    snapshot: int = csfield(u8, doc="1 if the session is a snapshot session, else 0.")
    session_name_contains_creation_time: int = csfield(
        u8, doc="1 if the session name already holds its creation time (no date gets appended)."
    )
    sessiond_uuid: bytes = csfield(
        RawArray(LTTNG_UUID_LEN), doc="UUID of the session daemon instance that owns the session."
    )
    session_id: int = csfield(u64be, doc="The session daemon's id of the session.")
    creation_time: int = csfield(
        u64be, doc="Session creation time, in seconds since the UNIX epoch."
    )
    current_chunk_id: OptionalU64Be = csfield(
        DataclassStruct(OptionalU64Be),
        doc="Id of the session's current trace chunk, if it has one.",
    )
    names: bytes = csfield(
        FlexArray(), doc="Session name, host name and base path, each NUL-terminated."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCreateSessionReply211(WireStruct):
    """Reply to RELAYD_CREATE_SESSION, protocol 2.11+ (``relay_create_session``).

    Mirrors ``struct lttcomm_relayd_create_session_reply_2_11`` (packed),
    relayd.h @ v2.13.9 and 97535efaa; ``output_path`` (with its NUL) follows.
    """

    generic: RelaydStatusSession = csfield(
        DataclassStruct(RelaydStatusSession), doc="Relay session id and result code."
    )
    output_path_length: int = csfield(u32be, doc="Length in bytes of output_path, NUL included.")
    output_path: bytes = csfield(
        FlexArray(lambda this: this.output_path_length),
        doc="Session output directory on the relay daemon host, NUL-terminated.",
    )


# --- data and metadata -------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydMetadataPayload(WireStruct):
    """RELAYD_SEND_METADATA payload (``write_relayd_metadata_id``, consumer.c).

    Mirrors ``struct lttcomm_relayd_metadata_payload`` (packed), relayd.h @
    v2.13.9 and 97535efaa; ``payload`` (the metadata and ``padding_size`` zero
    bytes) is the rest of the command payload.
    """

    stream_id: int = csfield(u64be, doc="Relay daemon stream id of the metadata stream.")
    padding_size: int = csfield(
        u32be, doc="Bytes of zero padding the relay daemon appends after the metadata."
    )
    payload: bytes = csfield(FlexArray(), doc="The metadata bytes (rest of the command payload).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCloseStream(WireStruct):
    """RELAYD_CLOSE_STREAM payload (``relayd_send_close_stream``).

    Mirrors ``struct lttcomm_relayd_close_stream`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Relay daemon stream id to close.")
    last_net_seq_num: int = csfield(
        u64be, doc="Network sequence number of the stream's last packet."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydDataPending(WireStruct):
    """RELAYD_DATA_PENDING payload (``relayd_data_pending``).

    Mirrors ``struct lttcomm_relayd_data_pending`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Relay daemon stream id to check.")
    last_net_seq_num: int = csfield(
        u64be, doc="Network sequence number of the last packet sent on the stream."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydBeginDataPending(WireStruct):
    """RELAYD_BEGIN_DATA_PENDING payload (``relayd_begin_data_pending``).

    Mirrors ``struct lttcomm_relayd_begin_data_pending`` (packed), relayd.h @
    v2.13.9 and 97535efaa.
    """

    session_id: int = csfield(
        u64be, doc="Relay daemon session id whose streams start a data-pending check."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydEndDataPending(WireStruct):
    """RELAYD_END_DATA_PENDING payload (``relayd_end_data_pending``).

    Mirrors ``struct lttcomm_relayd_end_data_pending`` (packed), relayd.h @
    v2.13.9 and 97535efaa; the generic reply's ``ret_code`` is the boolean
    "data in flight".
    """

    session_id: int = csfield(u64be, doc="Relay daemon session id whose data-pending check ends.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydQuiescentControl(WireStruct):
    """RELAYD_QUIESCENT_CONTROL payload (``relayd_quiescent_control``).

    Mirrors ``struct lttcomm_relayd_quiescent_control`` (packed), relayd.h @
    v2.13.9 and 97535efaa.
    """

    stream_id: int = csfield(
        u64be, doc="Relay daemon stream id to mark as checked for data pending (quiescent)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydIndex(WireStruct):
    """RELAYD_SEND_INDEX payload (``relayd_send_index``).

    Mirrors ``struct lttcomm_relayd_index`` (packed), relayd.h @ v2.13.9 and
    97535efaa. A peer of index format 1.0 (relayd protocol < 2.8) is sent only
    the first 64 bytes (``lttcomm_relayd_index_len``): parse those with
    :data:`INDEX_1_0`.
    """

    relay_stream_id: int = csfield(
        u64be, doc="Relay daemon stream id the indexed packet belongs to."
    )
    net_seq_num: int = csfield(u64be, doc="Network sequence number of the indexed packet.")
    packet_size: int = csfield(u64be, doc="Packet size including padding, in bits.")
    content_size: int = csfield(u64be, doc="Packet content size (padding excluded), in bits.")
    timestamp_begin: int = csfield(
        u64be, doc="Clock value at the start of the packet, in trace clock cycles."
    )
    timestamp_end: int = csfield(
        u64be, doc="Clock value at the end of the packet, in trace clock cycles."
    )
    events_discarded: int = csfield(
        u64be, doc="Running count of events discarded in the stream up to this packet."
    )
    stream_id: int = csfield(u64be, doc="CTF stream class id (channel id) of the packet.")
    stream_instance_id: int = csfield(
        u64be, doc="CTF stream instance id (per-CPU buffer id); sent to 2.8+ peers only."
    )
    packet_seq_num: int = csfield(
        u64be, doc="Packet sequence number within the stream; sent to 2.8+ peers only."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydIndex10(WireStruct):
    """The first 64 bytes of ``struct lttcomm_relayd_index``: what is sent to a 2.4–2.7 relayd.

    ``lttcomm_relayd_index_len(1, 0)`` = offsetof(stream_id) + 8, relayd.h @
    v2.13.9 and 97535efaa. Not a C struct (not in the layout).
    """

    relay_stream_id: int = csfield(
        u64be, doc="Relay daemon stream id the indexed packet belongs to."
    )
    net_seq_num: int = csfield(u64be, doc="Network sequence number of the indexed packet.")
    packet_size: int = csfield(u64be, doc="Packet size including padding, in bits.")
    content_size: int = csfield(u64be, doc="Packet content size (padding excluded), in bits.")
    timestamp_begin: int = csfield(
        u64be, doc="Clock value at the start of the packet, in trace clock cycles."
    )
    timestamp_end: int = csfield(
        u64be, doc="Clock value at the end of the packet, in trace clock cycles."
    )
    events_discarded: int = csfield(
        u64be, doc="Running count of events discarded in the stream up to this packet."
    )
    stream_id: int = csfield(u64be, doc="CTF stream class id (channel id) of the packet.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydResetMetadata(WireStruct):
    """RELAYD_RESET_METADATA payload (``relayd_reset_metadata``).

    Mirrors ``struct lttcomm_relayd_reset_metadata`` (packed), relayd.h @ v2.13.9
    and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Relay daemon stream id of the metadata stream to reset.")
    version: int = csfield(u64be, doc="New metadata version (regeneration count, starting at 0).")


# --- rotation and trace chunks -----------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydStreamRotationPosition(WireStruct):
    """One element of ``rotation_positions`` (``relayd_rotate_streams``).

    Mirrors ``struct lttcomm_relayd_stream_rotation_position`` (packed),
    relayd.h @ v2.13.9 and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Relay daemon stream id to rotate.")
    rotate_at_seq_num: int = csfield(
        u64be,
        doc="Sequence number of the stream's first packet in the new chunk; ignored for metadata.",
    )


def _positions_length(this: Any) -> int:
    count: int = this.stream_count
    return count * STREAM_ROTATION_POSITION.size


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydRotateStreams(WireStruct):
    """RELAYD_ROTATE_STREAMS payload (``relayd_rotate_streams``): what the consumer sends.

    Mirrors ``struct lttcomm_relayd_rotate_streams`` (packed), relayd.h @
    v2.13.9 and 97535efaa. ``new_chunk_id`` is an *unpacked*
    ``LTTNG_OPTIONAL_COMM(uint64_t)``: 7 padding bytes after ``is_set`` on
    x86_64 (20-byte header). ``stream_count`` positions follow; decode them
    with :func:`rotation_positions`.
    """

    stream_count: int = csfield(u32be, doc="Number of rotation positions that follow.")
    new_chunk_id: OptionalU64BeAligned = csfield(
        DataclassStruct(OptionalU64BeAligned),
        doc="Id of the trace chunk the streams rotate into; unset if none.",
    )
    rotation_positions: bytes = csfield(
        FlexArray(_positions_length),
        doc="The stream_count positions (lttcomm_relayd_stream_rotation_position each).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydRotateStreamsPacked(WireStruct):
    """RELAYD_ROTATE_STREAMS header of a peer without padding (13 bytes); v2.13.9 only.

    Mirrors ``struct lttcomm_relayd_rotate_streams_packed`` (packed), relayd.h @
    v2.13.9 (read by ``relay_rotate_session_streams``).
    """

    stream_count: int = csfield(u32be, doc="Number of rotation positions that follow.")
    new_chunk_id: OptionalU64Be = csfield(
        DataclassStruct(OptionalU64Be),
        doc="Id of the trace chunk the streams rotate into; unset if none.",
    )
    rotation_positions: bytes = csfield(
        FlexArray(_positions_length),
        doc="The stream_count positions (lttcomm_relayd_stream_rotation_position each).",
    )


_IS_SET_OR_U32 = CUnion(4, {"is_set": u8, "padding": u32be}, default="is_set")
_IS_SET_OR_U64 = CUnion(8, {"is_set": u8, "padding": u64be}, default="is_set")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChunkIdAfter3BytesPadding(WireStruct):
    """An optional chunk id as a 4-byte-aligned peer sends it: set flag padded to 4 bytes, value.

    ``new_chunk_id`` of a 4-byte-aligned peer: ``{union {is_set; uint32_t padding;}; value}``.
    Mirrors the packed anonymous struct of
    ``lttcomm_relayd_rotate_streams_3_bytes_padding.new_chunk_id``, relayd.h @
    v2.13.9. The relay daemon reads the union as ``is_set``; its other 3 bytes
    are kept in ``_anon0_tail``.
    """

    _anon0: int = csfield(
        _IS_SET_OR_U32, doc="Anonymous union: is_set (1 if value is present) over 4 bytes."
    )
    _anon0_tail: bytes = csfield_default(UnionTail(_IS_SET_OR_U32), default=b"")
    value: int = csfield(u64be, doc="Id of the new trace chunk; meaningful only when is_set is 1.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChunkIdAfter7BytesPadding(WireStruct):
    """An optional chunk id as an 8-byte-aligned peer sends it: set flag padded to 8 bytes, value.

    ``new_chunk_id`` of an 8-byte-aligned peer: ``{union {is_set; uint64_t padding;}; value}``.
    Mirrors the packed anonymous struct of
    ``lttcomm_relayd_rotate_streams_7_bytes_padding.new_chunk_id``, relayd.h @
    v2.13.9. The relay daemon reads the union as ``is_set``; its other 7 bytes
    are kept in ``_anon0_tail``.
    """

    _anon0: int = csfield(
        _IS_SET_OR_U64, doc="Anonymous union: is_set (1 if value is present) over 8 bytes."
    )
    _anon0_tail: bytes = csfield_default(UnionTail(_IS_SET_OR_U64), default=b"")
    value: int = csfield(u64be, doc="Id of the new trace chunk; meaningful only when is_set is 1.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydRotateStreams3BytesPadding(WireStruct):
    """RELAYD_ROTATE_STREAMS header of a 4-byte-aligned peer (16 bytes); v2.13.9 only.

    Mirrors ``struct lttcomm_relayd_rotate_streams_3_bytes_padding`` (packed),
    relayd.h @ v2.13.9 (read by ``relay_rotate_session_streams``).
    """

    stream_count: int = csfield(u32be, doc="Number of rotation positions that follow.")
    new_chunk_id: ChunkIdAfter3BytesPadding = csfield(
        DataclassStruct(ChunkIdAfter3BytesPadding),
        doc="Id of the trace chunk the streams rotate into; unset if none.",
    )
    rotation_positions: bytes = csfield(
        FlexArray(_positions_length),
        doc="The stream_count positions (lttcomm_relayd_stream_rotation_position each).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydRotateStreams7BytesPadding(WireStruct):
    """RELAYD_ROTATE_STREAMS header of an 8-byte-aligned peer (20 bytes); v2.13.9 only.

    Mirrors ``struct lttcomm_relayd_rotate_streams_7_bytes_padding`` (packed),
    relayd.h @ v2.13.9 (read by ``relay_rotate_session_streams``); same bytes as
    :class:`RelaydRotateStreams`.
    """

    stream_count: int = csfield(u32be, doc="Number of rotation positions that follow.")
    new_chunk_id: ChunkIdAfter7BytesPadding = csfield(
        DataclassStruct(ChunkIdAfter7BytesPadding),
        doc="Id of the trace chunk the streams rotate into; unset if none.",
    )
    rotation_positions: bytes = csfield(
        FlexArray(_positions_length),
        doc="The stream_count positions (lttcomm_relayd_stream_rotation_position each).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCreateTraceChunk(WireStruct):
    """RELAYD_CREATE_TRACE_CHUNK payload (``relayd_create_trace_chunk``).

    Mirrors ``struct lttcomm_relayd_create_trace_chunk`` (packed), relayd.h @
    v2.13.9 and 97535efaa; ``override_name`` (with its NUL, or empty) follows.
    """

    chunk_id: int = csfield(u64be, doc="Id of the trace chunk to create.")
    creation_timestamp: int = csfield(
        u64be, doc="Chunk creation time, in seconds since the UNIX epoch."
    )
    override_name_length: int = csfield(
        u32be, doc="Length in bytes of override_name, NUL included; 0 to keep the generated name."
    )
    override_name: bytes = csfield(
        FlexArray(lambda this: this.override_name_length),
        doc="Name replacing the chunk's generated name, NUL-terminated (or empty).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCloseTraceChunk(WireStruct):
    """RELAYD_CLOSE_TRACE_CHUNK payload (``relayd_close_trace_chunk``).

    Mirrors ``struct lttcomm_relayd_close_trace_chunk`` (packed), relayd.h @
    v2.13.9 and 97535efaa.
    """

    chunk_id: int = csfield(u64be, doc="Id of the trace chunk to close.")
    close_timestamp: int = csfield(u64be, doc="Chunk close time, in seconds since the UNIX epoch.")
    close_command: OptionalTraceChunkCommandBe = csfield(
        DataclassStruct(OptionalTraceChunkCommandBe),
        doc="Optional action on close (move to completed chunks, delete, no-op).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydCloseTraceChunkReply(WireStruct):
    """Reply to RELAYD_CLOSE_TRACE_CHUNK (``relay_close_trace_chunk``).

    Mirrors ``struct lttcomm_relayd_close_trace_chunk_reply`` (packed), relayd.h
    @ v2.13.9 and 97535efaa; ``path`` (with its NUL) follows.
    """

    generic: RelaydGenericReply = csfield(DataclassStruct(RelaydGenericReply), doc="Result code.")
    path_length: int = csfield(u32be, doc="Length in bytes of path, NUL included.")
    path: bytes = csfield(
        FlexArray(lambda this: this.path_length),
        doc="Path of the closed chunk on the relay daemon host, NUL-terminated.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydTraceChunkExists(WireStruct):
    """RELAYD_TRACE_CHUNK_EXISTS payload (``relayd_trace_chunk_exists``).

    Mirrors ``struct lttcomm_relayd_trace_chunk_exists`` (packed), relayd.h @
    v2.13.9 and 97535efaa.
    """

    chunk_id: int = csfield(u64be, doc="Id of the trace chunk to look up in the session.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydTraceChunkExistsReply(WireStruct):
    """Reply to RELAYD_TRACE_CHUNK_EXISTS (``relay_trace_chunk_exists``).

    Mirrors ``struct lttcomm_relayd_trace_chunk_exists_reply`` (packed),
    relayd.h @ v2.13.9 and 97535efaa; ``trace_chunk_exists`` is one byte.
    """

    generic: RelaydGenericReply = csfield(DataclassStruct(RelaydGenericReply), doc="Result code.")
    trace_chunk_exists: int = csfield(
        u8, doc="1 if the relay daemon has this chunk for the session, else 0."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydGetConfiguration(WireStruct):
    """RELAYD_GET_CONFIGURATION payload (``relayd_get_configuration``); no flag is defined.

    Mirrors ``struct lttcomm_relayd_get_configuration`` (packed), relayd.h @
    v2.13.9 and 97535efaa.
    """

    query_flags: int = csfield(u64be, doc="Query flags; none are defined, so always 0.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelaydGetConfigurationReply(WireStruct):
    """Reply to RELAYD_GET_CONFIGURATION (``relay_get_configuration``).

    Mirrors ``struct lttcomm_relayd_get_configuration_reply`` (packed), relayd.h
    @ v2.13.9 and 97535efaa. ``relayd_configuration_flags`` is a set of
    :class:`LttcommRelaydConfigurationFlag` bits; the optional ``payload`` is
    never sent by either relay daemon (the rest of the message, if any).
    """

    generic: RelaydGenericReply = csfield(DataclassStruct(RelaydGenericReply), doc="Result code.")
    relayd_configuration_flags: int = csfield(
        u64be, doc="Set of LTTCOMM_RELAYD_CONFIGURATION_FLAG_* bits (e.g. clear allowed)."
    )
    payload: bytes = csfield(FlexArray(), doc="Optional variable-length payload; never sent.")


# --- registration ------------------------------------------------------------

register_enums(LttcommRelaydCommand, LttcommRelaydConfigurationFlag)


#: The three receive-side variants of rotate_streams exist at v2.13.9 only.
_V2139 = (Abi.V2_13_9,)

HDR = struct("lttcomm_relayd_hdr", RelaydHdr, header=HEADER, protocol=Protocol.RELAYD)
DATA_HDR = struct("lttcomm_relayd_data_hdr", RelaydDataHdr, header=HEADER, protocol=Protocol.RELAYD)
STATUS_SESSION = struct(
    "lttcomm_relayd_status_session", RelaydStatusSession, header=HEADER, protocol=Protocol.RELAYD
)
STATUS_STREAM = struct(
    "lttcomm_relayd_status_stream", RelaydStatusStream, header=HEADER, protocol=Protocol.RELAYD
)
GENERIC_REPLY = struct(
    "lttcomm_relayd_generic_reply", RelaydGenericReply, header=HEADER, protocol=Protocol.RELAYD
)
VERSION = struct("lttcomm_relayd_version", RelaydVersion, header=HEADER, protocol=Protocol.RELAYD)
ADD_STREAM = struct(
    "lttcomm_relayd_add_stream", RelaydAddStream, header=HEADER, protocol=Protocol.RELAYD
)
ADD_STREAM_2_2 = struct(
    "lttcomm_relayd_add_stream_2_2", RelaydAddStream22, header=HEADER, protocol=Protocol.RELAYD
)
ADD_STREAM_2_11 = struct(
    "lttcomm_relayd_add_stream_2_11", RelaydAddStream211, header=HEADER, protocol=Protocol.RELAYD
)
CREATE_SESSION_2_4 = struct(
    "lttcomm_relayd_create_session_2_4",
    RelaydCreateSession24,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
CREATE_SESSION_2_11 = struct(
    "lttcomm_relayd_create_session_2_11",
    RelaydCreateSession211,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
CREATE_SESSION_REPLY_2_11 = struct(
    "lttcomm_relayd_create_session_reply_2_11",
    RelaydCreateSessionReply211,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
METADATA_PAYLOAD = struct(
    "lttcomm_relayd_metadata_payload",
    RelaydMetadataPayload,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
CLOSE_STREAM = struct(
    "lttcomm_relayd_close_stream", RelaydCloseStream, header=HEADER, protocol=Protocol.RELAYD
)
DATA_PENDING = struct(
    "lttcomm_relayd_data_pending", RelaydDataPending, header=HEADER, protocol=Protocol.RELAYD
)
BEGIN_DATA_PENDING = struct(
    "lttcomm_relayd_begin_data_pending",
    RelaydBeginDataPending,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
END_DATA_PENDING = struct(
    "lttcomm_relayd_end_data_pending",
    RelaydEndDataPending,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
QUIESCENT_CONTROL = struct(
    "lttcomm_relayd_quiescent_control",
    RelaydQuiescentControl,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
INDEX = struct("lttcomm_relayd_index", RelaydIndex, header=HEADER, protocol=Protocol.RELAYD)
INDEX_1_0 = struct(
    "lttcomm_relayd_index (index format 1.0: first 64 bytes)",
    RelaydIndex10,
    header=HEADER,
    protocol=Protocol.RELAYD,
    abis=(),
)
RESET_METADATA = struct(
    "lttcomm_relayd_reset_metadata", RelaydResetMetadata, header=HEADER, protocol=Protocol.RELAYD
)
STREAM_ROTATION_POSITION = struct(
    "lttcomm_relayd_stream_rotation_position",
    RelaydStreamRotationPosition,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
ROTATE_STREAMS = struct(
    "lttcomm_relayd_rotate_streams", RelaydRotateStreams, header=HEADER, protocol=Protocol.RELAYD
)
ROTATE_STREAMS_PACKED = struct(
    "lttcomm_relayd_rotate_streams_packed",
    RelaydRotateStreamsPacked,
    header=HEADER,
    protocol=Protocol.RELAYD,
    abis=_V2139,
)
ROTATE_STREAMS_3_BYTES_PADDING = struct(
    "lttcomm_relayd_rotate_streams_3_bytes_padding",
    RelaydRotateStreams3BytesPadding,
    header=HEADER,
    protocol=Protocol.RELAYD,
    abis=_V2139,
)
ROTATE_STREAMS_7_BYTES_PADDING = struct(
    "lttcomm_relayd_rotate_streams_7_bytes_padding",
    RelaydRotateStreams7BytesPadding,
    header=HEADER,
    protocol=Protocol.RELAYD,
    abis=_V2139,
)
CREATE_TRACE_CHUNK = struct(
    "lttcomm_relayd_create_trace_chunk",
    RelaydCreateTraceChunk,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
CLOSE_TRACE_CHUNK = struct(
    "lttcomm_relayd_close_trace_chunk",
    RelaydCloseTraceChunk,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
CLOSE_TRACE_CHUNK_REPLY = struct(
    "lttcomm_relayd_close_trace_chunk_reply",
    RelaydCloseTraceChunkReply,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
TRACE_CHUNK_EXISTS = struct(
    "lttcomm_relayd_trace_chunk_exists",
    RelaydTraceChunkExists,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
TRACE_CHUNK_EXISTS_REPLY = struct(
    "lttcomm_relayd_trace_chunk_exists_reply",
    RelaydTraceChunkExistsReply,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
GET_CONFIGURATION = struct(
    "lttcomm_relayd_get_configuration",
    RelaydGetConfiguration,
    header=HEADER,
    protocol=Protocol.RELAYD,
)
GET_CONFIGURATION_REPLY = struct(
    "lttcomm_relayd_get_configuration_reply",
    RelaydGetConfigurationReply,
    header=HEADER,
    protocol=Protocol.RELAYD,
)


def rotation_positions(
    msg: RelaydRotateStreams
    | RelaydRotateStreamsPacked
    | RelaydRotateStreams3BytesPadding
    | RelaydRotateStreams7BytesPadding,
) -> list[RelaydStreamRotationPosition]:
    """Decode the ``stream_count`` positions that follow a rotate_streams header."""
    raw = msg.rotation_positions
    step = STREAM_ROTATION_POSITION.size
    if len(raw) != msg.stream_count * step:
        raise RemoteProtocolError(
            f"{len(raw)} bytes of positions for stream_count {msg.stream_count}",
            message="lttcomm_relayd_rotate_streams",
            field="rotation_positions",
        )
    return [STREAM_ROTATION_POSITION.parse(raw[i : i + step]) for i in range(0, len(raw), step)]
