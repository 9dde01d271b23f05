"""Live viewer ↔ relay daemon messages (``lttng_viewer_*``).

Mirrors ``src/bin/lttng-relayd/lttng-viewer-abi.h`` at lttng-tools v2.13.9 and
97535efaa (the header is identical at both revisions; no wire difference).

Every struct is packed and every integer travels big-endian: the relay
daemon's live thread (src/bin/lttng-relayd/live.c) converts each integer it
reads or writes with ``be64toh``/``be32toh``/``htobe64``/``htobe32``, and copies
the index fields of ``lttng_viewer_index`` from the big-endian index file
("Indexes are stored in big endian, no need to switch before sending"). The
``char`` arrays are NUL-terminated by ``lttng_strncpy``.

Enum-typed fields: every ``status`` (each documented by a comment naming its
enum, always set by live.c before sending), ``seek`` and the ``cmd`` of
:class:`ViewerCmd` are :class:`~ustref.protocol.fields.StrictEnum`. ``type`` of
:class:`ViewerConnect` is a plain integer: the relay daemon's reply leaves it 0
(``viewer_connect`` zeroes the reply and never sets it). ``flags`` is a set of
:class:`LttngViewerFlag` bits.

The lists that follow a response header (``session_list``, ``stream_list``)
are FlexArrays sized by their count field; decode them with
:func:`viewer_sessions` / :func:`viewer_streams`.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, TypeVar

from construct_typed import csfield

from ustref.errors import RemoteProtocolError
from ustref.protocol.fields import (
    CharArray,
    FlexArray,
    StrictEnum,
    WireStruct,
    c_enum,
    u32be,
    u64be,
)
from ustref.protocol.registry import Protocol, StructSpec, register_enums, struct

HEADER = "src/bin/lttng-relayd/lttng-viewer-abi.h"

#: ``LTTNG_VIEWER_PATH_MAX``, lttng-viewer-abi.h.
LTTNG_VIEWER_PATH_MAX = 4096
#: ``LTTNG_VIEWER_NAME_MAX``, lttng-viewer-abi.h.
LTTNG_VIEWER_NAME_MAX = 255
#: ``LTTNG_VIEWER_HOST_NAME_MAX``, lttng-viewer-abi.h.
LTTNG_VIEWER_HOST_NAME_MAX = 64

T = TypeVar("T", bound=WireStruct)


# --- enums -------------------------------------------------------------------


@c_enum("anon@lttng-viewer-abi.h:LTTNG_VIEWER_FLAG_NEW_METADATA")
class LttngViewerFlag(enum.IntEnum):
    """Mirrors the anonymous ``enum { LTTNG_VIEWER_FLAG_* }``, lttng-viewer-abi.h.

    Bits of ``flags`` in :class:`ViewerIndex` and :class:`ViewerTracePacket`
    ("Flags in reply to get_next_index and get_packet"). Named as the layout
    oracle names anonymous enums: ``anon@<header>:<first enumerator>``.
    """

    LTTNG_VIEWER_FLAG_NEW_METADATA = 1 << 0
    LTTNG_VIEWER_FLAG_NEW_STREAM = 1 << 1


@c_enum("lttng_viewer_command")
class LttngViewerCommand(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_command``, lttng-viewer-abi.h @ v2.13.9 and 97535efaa."""

    LTTNG_VIEWER_CONNECT = 1
    LTTNG_VIEWER_LIST_SESSIONS = 2
    LTTNG_VIEWER_ATTACH_SESSION = 3
    LTTNG_VIEWER_GET_NEXT_INDEX = 4
    LTTNG_VIEWER_GET_PACKET = 5
    LTTNG_VIEWER_GET_METADATA = 6
    LTTNG_VIEWER_GET_NEW_STREAMS = 7
    LTTNG_VIEWER_CREATE_SESSION = 8
    LTTNG_VIEWER_DETACH_SESSION = 9


@c_enum("lttng_viewer_attach_return_code")
class LttngViewerAttachReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_attach_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_ATTACH_OK = 1
    LTTNG_VIEWER_ATTACH_ALREADY = 2
    LTTNG_VIEWER_ATTACH_UNK = 3
    LTTNG_VIEWER_ATTACH_NOT_LIVE = 4
    LTTNG_VIEWER_ATTACH_SEEK_ERR = 5
    LTTNG_VIEWER_ATTACH_NO_SESSION = 6


@c_enum("lttng_viewer_next_index_return_code")
class LttngViewerNextIndexReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_next_index_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_INDEX_OK = 1
    LTTNG_VIEWER_INDEX_RETRY = 2
    LTTNG_VIEWER_INDEX_HUP = 3
    LTTNG_VIEWER_INDEX_ERR = 4
    LTTNG_VIEWER_INDEX_INACTIVE = 5
    LTTNG_VIEWER_INDEX_EOF = 6


@c_enum("lttng_viewer_get_packet_return_code")
class LttngViewerGetPacketReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_get_packet_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_GET_PACKET_OK = 1
    LTTNG_VIEWER_GET_PACKET_RETRY = 2
    LTTNG_VIEWER_GET_PACKET_ERR = 3
    LTTNG_VIEWER_GET_PACKET_EOF = 4


@c_enum("lttng_viewer_get_metadata_return_code")
class LttngViewerGetMetadataReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_get_metadata_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_METADATA_OK = 1
    LTTNG_VIEWER_NO_NEW_METADATA = 2
    LTTNG_VIEWER_METADATA_ERR = 3


@c_enum("lttng_viewer_connection_type")
class LttngViewerConnectionType(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_connection_type``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_CLIENT_COMMAND = 1
    LTTNG_VIEWER_CLIENT_NOTIFICATION = 2


@c_enum("lttng_viewer_seek")
class LttngViewerSeek(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_seek``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_SEEK_BEGINNING = 1
    LTTNG_VIEWER_SEEK_LAST = 2


@c_enum("lttng_viewer_new_streams_return_code")
class LttngViewerNewStreamsReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_new_streams_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_NEW_STREAMS_OK = 1
    LTTNG_VIEWER_NEW_STREAMS_NO_NEW = 2
    LTTNG_VIEWER_NEW_STREAMS_ERR = 3
    LTTNG_VIEWER_NEW_STREAMS_HUP = 4


@c_enum("lttng_viewer_create_session_return_code")
class LttngViewerCreateSessionReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_create_session_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_CREATE_SESSION_OK = 1
    LTTNG_VIEWER_CREATE_SESSION_ERR = 2


@c_enum("lttng_viewer_detach_session_return_code")
class LttngViewerDetachSessionReturnCode(enum.IntEnum):
    """Mirrors ``enum lttng_viewer_detach_session_return_code``, lttng-viewer-abi.h."""

    LTTNG_VIEWER_DETACH_SESSION_OK = 1
    LTTNG_VIEWER_DETACH_SESSION_UNK = 2
    LTTNG_VIEWER_DETACH_SESSION_ERR = 3


# --- list elements -----------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerSession(WireStruct):
    """One element of ``session_list`` (``viewer_list_sessions``, live.c).

    Mirrors ``struct lttng_viewer_session`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa; ``clients`` is 1 when a viewer is attached, else 0.
    """

    id: int = csfield(u64be, doc="Relay daemon session id, used to attach to the session.")
    live_timer: int = csfield(u32be, doc="Live timer period of the session, in microseconds.")
    clients: int = csfield(u32be, doc="1 if a viewer is already attached to the session, else 0.")
    streams: int = csfield(u32be, doc="Number of streams the session has on the relay daemon.")
    hostname: str = csfield(
        CharArray(LTTNG_VIEWER_HOST_NAME_MAX),
        doc="Host name of the traced machine, NUL-terminated.",
    )
    session_name: str = csfield(
        CharArray(LTTNG_VIEWER_NAME_MAX), doc="Name of the tracing session, NUL-terminated."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerStream(WireStruct):
    """One element of ``stream_list`` (``send_viewer_streams``, live.c).

    Mirrors ``struct lttng_viewer_stream`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa; ``metadata_flag`` is a 0/1 boolean.
    """

    id: int = csfield(
        u64be, doc="Viewer stream id (relay stream handle) to use in index/packet requests."
    )
    ctf_trace_id: int = csfield(
        u64be, doc="Id of the CTF trace the stream belongs to; a trace's streams share metadata."
    )
    metadata_flag: int = csfield(
        u32be, doc="1 for the trace's metadata stream, 0 for a data stream."
    )
    path_name: str = csfield(
        CharArray(LTTNG_VIEWER_PATH_MAX),
        doc="Directory of the stream's trace files (relative path), NUL-terminated.",
    )
    channel_name: str = csfield(
        CharArray(LTTNG_VIEWER_NAME_MAX),
        doc="Stream name (channel name and CPU, e.g. channel0_0), NUL-terminated.",
    )


def _sessions_length(this: Any) -> int:
    count: int = this.sessions_count
    return count * SESSION.size


def _streams_length(this: Any) -> int:
    count: int = this.streams_count
    return count * STREAM.size


# --- header and connection ---------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerCmd(WireStruct):
    """Header of every viewer command (read by ``process_control``, live.c).

    Mirrors ``struct lttng_viewer_cmd`` (packed), lttng-viewer-abi.h @ v2.13.9
    and 97535efaa. The header comments ``cmd`` as ``enum
    lttcomm_relayd_command`` but live.c reads it as an ``enum
    lttng_viewer_command`` and rejects any other value
    (``live_relay_unknown_command``), hence the enum used here.
    """

    data_size: int = csfield(
        u64be, doc="Size in bytes of the command payload that follows this header."
    )
    cmd: LttngViewerCommand = csfield(
        StrictEnum(u32be, LttngViewerCommand),
        doc="Command for the relay daemon (an lttng_viewer_command value).",
    )
    cmd_version: int = csfield(u32be, doc="Command version; ignored by the relay daemon.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerConnect(WireStruct):
    """LTTNG_VIEWER_CONNECT request and reply (``viewer_connect``, live.c).

    Mirrors ``struct lttng_viewer_connect`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa. ``type`` is an ``enum lttng_viewer_connection_type``
    in the request (the relay daemon rejects other values) but 0 in the reply,
    so it is a plain integer; ``viewer_session_id`` is set in the reply only.
    """

    viewer_session_id: int = csfield(
        u64be, doc="Reply: viewer session id given to a command connection (else 0)."
    )
    major: int = csfield(
        u32be, doc="Live protocol major version: the viewer's (request) or relay's (reply)."
    )
    minor: int = csfield(
        u32be, doc="Live protocol minor version: the viewer's (request) or relay's (reply)."
    )
    type: int = csfield(
        u32be, doc="Request: connection type (command or notification); 0 in the reply."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerListSessions(WireStruct):
    """Reply to LTTNG_VIEWER_LIST_SESSIONS (``viewer_list_sessions``, live.c).

    Mirrors ``struct lttng_viewer_list_sessions`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa; ``sessions_count`` :class:`ViewerSession` follow.
    """

    sessions_count: int = csfield(
        u32be, doc="Number of lttng_viewer_session entries in session_list."
    )
    session_list: bytes = csfield(
        FlexArray(_sessions_length), doc="The sessions, lttng_viewer_session entries back to back."
    )


# --- attach, new streams -----------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerAttachSessionRequest(WireStruct):
    """LTTNG_VIEWER_ATTACH_SESSION request (read by ``viewer_attach_session``, live.c).

    Mirrors ``struct lttng_viewer_attach_session_request`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa; ``offset`` is unused.
    """

    session_id: int = csfield(u64be, doc="Relay daemon session id to attach to.")
    offset: int = csfield(u64be, doc="Unused (reserved for a seek offset).")
    seek: LttngViewerSeek = csfield(
        StrictEnum(u32be, LttngViewerSeek),
        doc="Where to start reading: from the beginning or from the latest packets.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerAttachSessionResponse(WireStruct):
    """Reply to LTTNG_VIEWER_ATTACH_SESSION (``viewer_attach_session``, live.c).

    Mirrors ``struct lttng_viewer_attach_session_response`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa; ``streams_count``
    :class:`ViewerStream` follow.
    """

    status: LttngViewerAttachReturnCode = csfield(
        StrictEnum(u32be, LttngViewerAttachReturnCode),
        doc="Attach result (an lttng_viewer_attach_return_code value).",
    )
    streams_count: int = csfield(u32be, doc="Number of lttng_viewer_stream entries in stream_list.")
    stream_list: bytes = csfield(
        FlexArray(_streams_length),
        doc="The session's streams, lttng_viewer_stream entries back to back.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerNewStreamsRequest(WireStruct):
    """LTTNG_VIEWER_GET_NEW_STREAMS request (read by ``viewer_get_new_streams``, live.c).

    Mirrors ``struct lttng_viewer_new_streams_request`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa.
    """

    session_id: int = csfield(u64be, doc="Relay daemon session id whose new streams are requested.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerNewStreamsResponse(WireStruct):
    """Reply to LTTNG_VIEWER_GET_NEW_STREAMS (``viewer_get_new_streams``, live.c).

    Mirrors ``struct lttng_viewer_new_streams_response`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa; ``streams_count``
    :class:`ViewerStream` follow.
    """

    status: LttngViewerNewStreamsReturnCode = csfield(
        StrictEnum(u32be, LttngViewerNewStreamsReturnCode),
        doc="Result (an lttng_viewer_new_streams_return_code value).",
    )
    streams_count: int = csfield(
        u32be, doc="Number of new lttng_viewer_stream entries in stream_list."
    )
    stream_list: bytes = csfield(
        FlexArray(_streams_length), doc="The new streams, lttng_viewer_stream entries back to back."
    )


# --- index, packet, metadata -------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerGetNextIndex(WireStruct):
    """LTTNG_VIEWER_GET_NEXT_INDEX request (read by ``viewer_get_next_index``, live.c).

    Mirrors ``struct lttng_viewer_get_next_index`` (packed), lttng-viewer-abi.h
    @ v2.13.9 and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Viewer stream id whose next packet index is requested.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerIndex(WireStruct):
    """Reply to LTTNG_VIEWER_GET_NEXT_INDEX (``viewer_get_next_index``, live.c).

    Mirrors ``struct lttng_viewer_index`` (packed), lttng-viewer-abi.h @ v2.13.9
    and 97535efaa; ``flags`` is a set of :class:`LttngViewerFlag` bits.
    """

    offset: int = csfield(u64be, doc="Offset of the packet in the stream's trace file, in bytes.")
    packet_size: int = csfield(u64be, doc="Packet size including padding, in bits.")
    content_size: int = csfield(u64be, doc="Packet content size (padding excluded), in bits.")
    timestamp_begin: int = csfield(
        u64be, doc="Clock value at the start of the packet, in trace clock cycles."
    )
    timestamp_end: int = csfield(
        u64be, doc="Clock value at the end of the packet (or of the beacon), in trace clock cycles."
    )
    events_discarded: int = csfield(
        u64be, doc="Running count of events discarded in the stream up to this packet."
    )
    stream_id: int = csfield(u64be, doc="CTF stream class id (channel id) of the packet.")
    status: LttngViewerNextIndexReturnCode = csfield(
        StrictEnum(u32be, LttngViewerNextIndexReturnCode),
        doc="Result (an lttng_viewer_next_index_return_code value).",
    )
    flags: int = csfield(
        u32be, doc="LTTNG_VIEWER_FLAG_* bits: new metadata and/or new streams to fetch."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerGetPacket(WireStruct):
    """LTTNG_VIEWER_GET_PACKET request (read by ``viewer_get_packet``, live.c).

    Mirrors ``struct lttng_viewer_get_packet`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Viewer stream id to read from.")
    offset: int = csfield(
        u64be, doc="Offset in the stream's trace file to read at, in bytes (from the index)."
    )
    len: int = csfield(u32be, doc="Number of bytes to read.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerTracePacket(WireStruct):
    """Reply to LTTNG_VIEWER_GET_PACKET (``viewer_get_packet``, live.c).

    Mirrors ``struct lttng_viewer_trace_packet`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa; ``len`` bytes of packet ``data`` follow (0 on error).
    """

    status: LttngViewerGetPacketReturnCode = csfield(
        StrictEnum(u32be, LttngViewerGetPacketReturnCode),
        doc="Result (an lttng_viewer_get_packet_return_code value).",
    )
    len: int = csfield(u32be, doc="Number of packet bytes that follow (0 on error).")
    flags: int = csfield(
        u32be, doc="LTTNG_VIEWER_FLAG_* bits; the relay daemon never sets any here."
    )
    data: bytes = csfield(
        FlexArray(lambda this: this.len), doc="The bytes read from the stream's trace file."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerGetMetadata(WireStruct):
    """LTTNG_VIEWER_GET_METADATA request (read by ``viewer_get_metadata``, live.c).

    Mirrors ``struct lttng_viewer_get_metadata`` (packed), lttng-viewer-abi.h @
    v2.13.9 and 97535efaa.
    """

    stream_id: int = csfield(u64be, doc="Viewer stream id of the metadata stream to read.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerMetadataPacket(WireStruct):
    """Reply to LTTNG_VIEWER_GET_METADATA (``viewer_get_metadata``, live.c).

    Mirrors ``struct lttng_viewer_metadata_packet`` (packed), lttng-viewer-abi.h
    @ v2.13.9 and 97535efaa; ``len`` bytes of metadata ``data`` follow.
    """

    len: int = csfield(u64be, doc="Number of metadata bytes that follow.")
    status: LttngViewerGetMetadataReturnCode = csfield(
        StrictEnum(u32be, LttngViewerGetMetadataReturnCode),
        doc="Result (an lttng_viewer_get_metadata_return_code value).",
    )
    data: bytes = csfield(
        FlexArray(lambda this: this.len), doc="Metadata not yet sent to this viewer."
    )


# --- create, detach ----------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerCreateSessionResponse(WireStruct):
    """Reply to LTTNG_VIEWER_CREATE_SESSION (``viewer_create_session``, live.c).

    Mirrors ``struct lttng_viewer_create_session_response`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa.
    """

    status: LttngViewerCreateSessionReturnCode = csfield(
        StrictEnum(u32be, LttngViewerCreateSessionReturnCode),
        doc="Result (an lttng_viewer_create_session_return_code value).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerDetachSessionRequest(WireStruct):
    """LTTNG_VIEWER_DETACH_SESSION request (read by ``viewer_detach_session``, live.c).

    Mirrors ``struct lttng_viewer_detach_session_request`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa.
    """

    session_id: int = csfield(u64be, doc="Relay daemon session id to detach from.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewerDetachSessionResponse(WireStruct):
    """Reply to LTTNG_VIEWER_DETACH_SESSION (``viewer_detach_session``, live.c).

    Mirrors ``struct lttng_viewer_detach_session_response`` (packed),
    lttng-viewer-abi.h @ v2.13.9 and 97535efaa.
    """

    status: LttngViewerDetachSessionReturnCode = csfield(
        StrictEnum(u32be, LttngViewerDetachSessionReturnCode),
        doc="Result (an lttng_viewer_detach_session_return_code value).",
    )


# --- registration ------------------------------------------------------------

register_enums(
    LttngViewerFlag,
    LttngViewerCommand,
    LttngViewerAttachReturnCode,
    LttngViewerNextIndexReturnCode,
    LttngViewerGetPacketReturnCode,
    LttngViewerGetMetadataReturnCode,
    LttngViewerConnectionType,
    LttngViewerSeek,
    LttngViewerNewStreamsReturnCode,
    LttngViewerCreateSessionReturnCode,
    LttngViewerDetachSessionReturnCode,
)


def _viewer(c_name: str, dc_type: type[T]) -> StructSpec[T]:
    return struct(c_name, dc_type, header=HEADER, protocol=Protocol.VIEWER)


SESSION = _viewer("lttng_viewer_session", ViewerSession)
STREAM = _viewer("lttng_viewer_stream", ViewerStream)
CMD = _viewer("lttng_viewer_cmd", ViewerCmd)
CONNECT = _viewer("lttng_viewer_connect", ViewerConnect)
LIST_SESSIONS = _viewer("lttng_viewer_list_sessions", ViewerListSessions)
ATTACH_SESSION_REQUEST = _viewer("lttng_viewer_attach_session_request", ViewerAttachSessionRequest)
ATTACH_SESSION_RESPONSE = _viewer(
    "lttng_viewer_attach_session_response", ViewerAttachSessionResponse
)
GET_NEXT_INDEX = _viewer("lttng_viewer_get_next_index", ViewerGetNextIndex)
INDEX = _viewer("lttng_viewer_index", ViewerIndex)
GET_PACKET = _viewer("lttng_viewer_get_packet", ViewerGetPacket)
TRACE_PACKET = _viewer("lttng_viewer_trace_packet", ViewerTracePacket)
GET_METADATA = _viewer("lttng_viewer_get_metadata", ViewerGetMetadata)
METADATA_PACKET = _viewer("lttng_viewer_metadata_packet", ViewerMetadataPacket)
NEW_STREAMS_REQUEST = _viewer("lttng_viewer_new_streams_request", ViewerNewStreamsRequest)
NEW_STREAMS_RESPONSE = _viewer("lttng_viewer_new_streams_response", ViewerNewStreamsResponse)
CREATE_SESSION_RESPONSE = _viewer(
    "lttng_viewer_create_session_response", ViewerCreateSessionResponse
)
DETACH_SESSION_REQUEST = _viewer("lttng_viewer_detach_session_request", ViewerDetachSessionRequest)
DETACH_SESSION_RESPONSE = _viewer(
    "lttng_viewer_detach_session_response", ViewerDetachSessionResponse
)


def _records(spec: StructSpec[T], raw: bytes, count: int, field: str, owner: str) -> list[T]:
    if len(raw) != count * spec.size:
        raise RemoteProtocolError(
            f"{len(raw)} bytes for {count} × {spec.c_name}", message=owner, field=field
        )
    return [spec.parse(raw[i : i + spec.size]) for i in range(0, len(raw), spec.size)]


def viewer_sessions(msg: ViewerListSessions) -> list[ViewerSession]:
    """Decode the ``sessions_count`` sessions that follow a list_sessions reply."""
    return _records(
        SESSION, msg.session_list, msg.sessions_count, "session_list", LIST_SESSIONS.c_name
    )


def viewer_streams(
    msg: ViewerAttachSessionResponse | ViewerNewStreamsResponse,
) -> list[ViewerStream]:
    """Decode the ``streams_count`` streams that follow an attach / new-streams reply."""
    owner = (
        ATTACH_SESSION_RESPONSE
        if isinstance(msg, ViewerAttachSessionResponse)
        else NEW_STREAMS_RESPONSE
    )
    return _records(STREAM, msg.stream_list, msg.streams_count, "stream_list", owner.c_name)
