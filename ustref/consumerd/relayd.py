"""The relay daemon protocol client: the consumer's side of ``lttcomm_relayd_*``.

Mirrors the client functions of src/common/relayd/relayd.c @ v2.13.9 (``send_command``,
``recv_reply``, ``relayd_add_stream``, ``relayd_streams_sent``, ``relayd_send_metadata``,
``relayd_send_data_hdr``, ``relayd_send_close_stream``, ``relayd_data_pending``,
``relayd_quiescent_control``, ``relayd_begin_data_pending``, ``relayd_end_data_pending``,
``relayd_send_index``, ``relayd_reset_metadata``, ``relayd_rotate_streams``,
``relayd_create_trace_chunk``, ``relayd_close_trace_chunk``,
``relayd_trace_chunk_exists``), sans I/O. The session daemon does the version
handshake, GET_CONFIGURATION and CREATE_SESSION itself and hands the consumer the
connected sockets (ADD_RELAYD_SOCKET); the consumer only ever sends the commands here.

Each command that waits for a reply is a generator for an exchange that holds the
connection's slot (:class:`~ustref.consumerd.exchange.RelaydSock`, taken with
``Acquire``, as C takes ``relayd->ctrl_sock_mutex``): it queues the command bytes as
a ``Send`` on that socket, yields ``Need`` for the reply and returns what the C
function returns (a relay stream id, a pending flag, a path) or raises
:class:`RelaydError` where C returns a negative value. The protocol minor version
gates each command as in C (a command the peer predates is skipped). Data packets
do not go through a slot: :func:`data_header` and :func:`metadata_command` build
the bytes the caller writes on the data or control socket.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ustref.consumerd.exchange import Need, Peer, Received, RelaydSock, Wait
from ustref.errors import UstrefError
from ustref.output.index import PacketIndex
from ustref.protocol.consumer import LttngTraceChunkCommandType
from ustref.protocol.fastpath import FastCodec
from ustref.protocol.fields import c_bytes, c_text
from ustref.protocol.lttng_error import LttngErrorCode
from ustref.protocol.relayd import (
    ADD_STREAM_2_2,
    ADD_STREAM_2_11,
    BEGIN_DATA_PENDING,
    CLOSE_STREAM,
    CLOSE_TRACE_CHUNK,
    CLOSE_TRACE_CHUNK_REPLY,
    CREATE_TRACE_CHUNK,
    DATA_HDR,
    DATA_PENDING,
    END_DATA_PENDING,
    GENERIC_REPLY,
    HDR,
    INDEX,
    METADATA_PAYLOAD,
    QUIESCENT_CONTROL,
    RELAYD_COMM_LTTNG_PATH_MAX,
    RESET_METADATA,
    ROTATE_STREAMS,
    STATUS_STREAM,
    STREAM_ROTATION_POSITION,
    TRACE_CHUNK_EXISTS,
    TRACE_CHUNK_EXISTS_REPLY,
    LttcommRelaydCommand,
    OptionalTraceChunkCommandBe,
    OptionalU64BeAligned,
    RelaydAddStream22,
    RelaydAddStream211,
    RelaydBeginDataPending,
    RelaydCloseStream,
    RelaydCloseTraceChunk,
    RelaydCreateTraceChunk,
    RelaydDataHdr,
    RelaydDataPending,
    RelaydEndDataPending,
    RelaydGenericReply,
    RelaydHdr,
    RelaydIndex,
    RelaydMetadataPayload,
    RelaydQuiescentControl,
    RelaydResetMetadata,
    RelaydRotateStreams,
    RelaydStreamRotationPosition,
    RelaydTraceChunkExists,
)

# The per-packet path (a data header, an index command, its reply) through the
# grammars' flat ``struct`` codecs: the same bytes (the fast path's agreement
# fixture), a tenth of the interpreted Construct's cost per packet.
_HDR = FastCodec[RelaydHdr](HDR)
_DATA_HDR = FastCodec[RelaydDataHdr](DATA_HDR)
_INDEX = FastCodec[RelaydIndex](INDEX)
_GENERIC_REPLY = FastCodec[RelaydGenericReply](GENERIC_REPLY)
# ... and for the three built for every packet, their flat ``struct`` packed from
# plain values, without the dataclass (checked against the grammar at import).
_HDR_FLAT = _HDR.flat("circuit_id", "data_size", "cmd", "cmd_version")
_DATA_HDR_FLAT = _DATA_HDR.flat(
    "circuit_id", "stream_id", "net_seq_num", "data_size", "padding_size"
)
_INDEX_FLAT = _INDEX.flat(
    "relay_stream_id",
    "net_seq_num",
    "packet_size",
    "content_size",
    "timestamp_begin",
    "timestamp_end",
    "events_discarded",
    "stream_id",
    "stream_instance_id",
    "packet_seq_num",
)

LTTNG_OK = LttngErrorCode.LTTNG_OK.value
"""What a relay daemon answers for success (``LTTNG_OK``)."""

_OK_REPLY = _GENERIC_REPLY.build(RelaydGenericReply(ret_code=LTTNG_OK))
"""A ``lttcomm_relayd_generic_reply`` of ``LTTNG_OK``."""

INDEX_1_0_LEN = 64
"""``lttcomm_relayd_index_len(1, 0)``: the index of a peer before protocol 2.8 stops
before ``stream_instance_id``."""


class ConsumerState(Protocol):
    """What the client needs of the consumer: queue bytes for a socket (the
    :class:`~ustref.consumerd.state.ConsumerState` ``send``; a protocol here, so that
    the stream glue the state imports can import this module)."""

    def send(self, data: bytes, fds: tuple[int, ...] = (), sock: Peer = ...) -> None: ...


class RelaydError(UstrefError):
    """A relay daemon answered an error, or its connection failed (C: a negative return)."""


@dataclass(frozen=True)
class Relayd:
    """One relay daemon connection as the client sees it: its control socket key and
    the protocol version the session daemon agreed (``lttcomm_relayd_sock``'s
    ``major``/``minor``)."""

    sock: RelaydSock
    major: int = 2
    minor: int = 4

    @property
    def supports_chunks(self) -> bool:
        """``relayd_supports_chunks``: 2.11 or later."""
        return self.major > 2 or (self.major == 2 and self.minor >= 11)


def command(cmd: LttcommRelaydCommand, payload: bytes = b"", size: int | None = None) -> bytes:
    """``send_command``: a ``lttcomm_relayd_hdr`` (big-endian, ``data_size`` =
    ``size`` or the payload's length) followed by the payload."""
    return _HDR_FLAT.pack(0, len(payload) if size is None else size, cmd, 0) + payload


def _exchange(
    state: ConsumerState, relayd: Relayd, data: bytes, reply_size: int
) -> Generator[Wait, Received, bytes]:
    """``send_command`` then ``recv_reply`` of ``reply_size`` bytes."""
    state.send(data, sock=relayd.sock)
    got = yield Need(reply_size, 0, relayd.sock)
    return got.data


def _generic(state: ConsumerState, relayd: Relayd, data: bytes) -> Generator[Wait, Received, int]:
    raw = yield from _exchange(state, relayd, data, GENERIC_REPLY.size)
    code: int = _GENERIC_REPLY.parse(raw).ret_code
    return code


def _ok(code: int, what: str) -> None:
    if code != LTTNG_OK:
        raise RelaydError(f"relayd {what} replied error {code}")


def add_stream(
    state: ConsumerState,
    relayd: Relayd,
    *,
    channel_name: str,
    domain_name: str,
    pathname: str,
    tracefile_size: int,
    tracefile_count: int,
    chunk_id: int,
) -> Generator[Wait, Received, int]:
    """``relayd_add_stream``: RELAYD_ADD_STREAM, the 2.2 form up to 2.10, the 2.11
    form (``<domain>/<pathname>`` and the chunk id) after; returns the relay's stream
    id (``handle``)."""
    if relayd.minor < 2:
        raise RelaydError("relayd protocol 2.1 is not supported")
    if relayd.minor < 11:
        payload = ADD_STREAM_2_2.build(
            RelaydAddStream22(
                channel_name=channel_name,
                pathname=pathname,
                tracefile_size=tracefile_size,
                tracefile_count=tracefile_count,
            )
        )
    else:
        separator = "/" if pathname else ""
        # Names keep the bytes they came with, UTF-8 or not (c_bytes).
        path = c_bytes(f"{domain_name}{separator}{pathname}")
        if len(path) >= RELAYD_COMM_LTTNG_PATH_MAX:
            # snprintf into pathname[RELAYD_COMM_LTTNG_PATH_MAX] would truncate: C refuses.
            raise RelaydError(f"add stream: path of {len(path)} bytes exceeds the maximum")
        name = c_bytes(channel_name)
        names = name + b"\0" + path + b"\0"
        name_len = len(name) + 1
        payload = ADD_STREAM_2_11.build(
            RelaydAddStream211(
                channel_name_len=name_len,
                pathname_len=len(names) - name_len,
                tracefile_size=tracefile_size,
                tracefile_count=tracefile_count,
                trace_chunk_id=chunk_id,
                names=names,
            )
        )
    data = command(LttcommRelaydCommand.RELAYD_ADD_STREAM, payload)
    raw = yield from _exchange(state, relayd, data, STATUS_STREAM.size)
    reply = STATUS_STREAM.parse(raw)
    _ok(reply.ret_code, "add stream")
    handle: int = reply.handle
    return handle


def streams_sent(state: ConsumerState, relayd: Relayd) -> Generator[Wait, Received, None]:
    """``relayd_streams_sent``: RELAYD_STREAMS_SENT (from 2.4)."""
    if relayd.minor < 4:
        return
    data = command(LttcommRelaydCommand.RELAYD_STREAMS_SENT)
    _ok((yield from _generic(state, relayd, data)), "streams sent")


def metadata_command(stream_id: int, payload: bytes | memoryview, padding: int = 0) -> bytes:
    """``relayd_send_metadata`` then the write of ``lttng_consumer_on_read_subbuffer_mmap``
    (``write_relayd_metadata_id`` and the packet): RELAYD_SEND_METADATA whose
    ``data_size`` covers the ``lttcomm_relayd_metadata_payload`` header (relay stream id,
    padding size) and the metadata bytes, all on the control socket, no reply."""
    body = METADATA_PAYLOAD.build(
        RelaydMetadataPayload(stream_id=stream_id, padding_size=padding, payload=bytes(payload))
    )
    return command(LttcommRelaydCommand.RELAYD_SEND_METADATA, body)


def data_header(stream_id: int, net_seq_num: int, data_size: int, padding_size: int) -> bytes:
    """``write_relayd_stream_header``'s ``lttcomm_relayd_data_hdr`` for a data packet
    (``relayd_send_data_hdr``): written on the data socket, followed by ``data_size``
    bytes of packet content (the padding is not sent)."""
    return _DATA_HDR_FLAT.pack(0, stream_id, net_seq_num, data_size, padding_size)


def close_stream(
    state: ConsumerState, relayd: Relayd, stream_id: int, last_net_seq_num: int
) -> Generator[Wait, Received, None]:
    """``relayd_send_close_stream``: RELAYD_CLOSE_STREAM."""
    payload = CLOSE_STREAM.build(
        RelaydCloseStream(stream_id=stream_id, last_net_seq_num=last_net_seq_num)
    )
    data = command(LttcommRelaydCommand.RELAYD_CLOSE_STREAM, payload)
    _ok((yield from _generic(state, relayd, data)), "close stream")


C_INT_MIN_AS_U32 = 2**31
"""The first u32 that is negative once stored in a C ``int``."""


def _as_c_int(code: int, what: str) -> int:
    """The u32 ``ret_code`` as the ``int`` C stores it in (``ret = reply.ret_code``):
    a code of 2**31 or more is negative there, the function's failure return."""
    if code >= C_INT_MIN_AS_U32:
        raise RelaydError(f"relayd {what} replied {code}, a negative int")
    return code


def data_pending(
    state: ConsumerState, relayd: Relayd, stream_id: int, last_net_seq_num: int
) -> Generator[Wait, Received, bool]:
    """``relayd_data_pending``: RELAYD_DATA_PENDING; the reply's code is the return
    value (relayd.c:928-934 @ v2.13.9): 1 is pending, any other non-negative code is
    not (an error code is only logged), and a code C's ``int`` reads as negative is a
    failure (:class:`RelaydError`; ``consumer_data_pending`` cleans the relay up)."""
    payload = DATA_PENDING.build(
        RelaydDataPending(stream_id=stream_id, last_net_seq_num=last_net_seq_num)
    )
    data = command(LttcommRelaydCommand.RELAYD_DATA_PENDING, payload)
    code = yield from _generic(state, relayd, data)
    return _as_c_int(code, "data pending") == 1


def quiescent_control(
    state: ConsumerState, relayd: Relayd, metadata_stream_id: int
) -> Generator[Wait, Received, None]:
    """``relayd_quiescent_control``: RELAYD_QUIESCENT_CONTROL."""
    payload = QUIESCENT_CONTROL.build(RelaydQuiescentControl(stream_id=metadata_stream_id))
    data = command(LttcommRelaydCommand.RELAYD_QUIESCENT_CONTROL, payload)
    _ok((yield from _generic(state, relayd, data)), "quiescent control")


def begin_data_pending(
    state: ConsumerState, relayd: Relayd, relayd_session_id: int
) -> Generator[Wait, Received, None]:
    """``relayd_begin_data_pending``: RELAYD_BEGIN_DATA_PENDING."""
    payload = BEGIN_DATA_PENDING.build(RelaydBeginDataPending(session_id=relayd_session_id))
    data = command(LttcommRelaydCommand.RELAYD_BEGIN_DATA_PENDING, payload)
    _ok((yield from _generic(state, relayd, data)), "begin data pending")


def end_data_pending(
    state: ConsumerState, relayd: Relayd, relayd_session_id: int
) -> Generator[Wait, Received, bool]:
    """``relayd_end_data_pending``: RELAYD_END_DATA_PENDING; returns "data in flight"
    (relayd.c:1065-1072 @ v2.13.9: the code in an ``int``; negative fails, any other
    non-zero code is ``is_data_inflight``, which ``consumer_data_pending`` reads as
    pending)."""
    payload = END_DATA_PENDING.build(RelaydEndDataPending(session_id=relayd_session_id))
    data = command(LttcommRelaydCommand.RELAYD_END_DATA_PENDING, payload)
    code = yield from _generic(state, relayd, data)
    return _as_c_int(code, "end data pending") != 0


def index_payload(relayd: Relayd, stream_id: int, net_seq_num: int, index: PacketIndex) -> bytes:
    """The ``lttcomm_relayd_index`` of ``relayd_send_index``: the full 2.8+ form, or
    its first :data:`INDEX_1_0_LEN` bytes (index 1.0) for an older peer."""
    modern = relayd.minor >= 8
    full = _INDEX_FLAT.pack(
        stream_id,
        net_seq_num,
        index.packet_size,
        index.content_size,
        index.timestamp_begin,
        index.timestamp_end,
        index.events_discarded,
        index.stream_id,
        index.stream_instance_id if modern else 0,
        index.packet_seq_num if modern else 0,
    )
    return full if modern else full[:INDEX_1_0_LEN]


def send_index(
    state: ConsumerState, relayd: Relayd, stream_id: int, net_seq_num: int, index: PacketIndex
) -> Generator[Wait, Received, None]:
    """``relayd_send_index``: RELAYD_SEND_INDEX (from 2.4)."""
    yield from send_indexes(state, relayd, stream_id, [(net_seq_num, index)])


def send_indexes(
    state: ConsumerState,
    relayd: Relayd,
    stream_id: int,
    packets: Sequence[tuple[int, PacketIndex]],
) -> Generator[Wait, Received, None]:
    """``relayd_send_index`` for each ``(net_seq_num, index)`` of ``packets``, in order,
    pipelined: the RELAYD_SEND_INDEX commands in one write, then their replies, which
    the relay daemon sends in the same order (its control connection handles one
    command at a time). The bytes are those of as many ``relayd_send_index`` calls;
    the first failing reply fails the whole (C would have stopped at that packet)."""
    if relayd.minor < 4 or not packets:
        return
    data = b"".join(
        command(
            LttcommRelaydCommand.RELAYD_SEND_INDEX,
            index_payload(relayd, stream_id, net_seq_num, index),
        )
        for net_seq_num, index in packets
    )
    got = yield from _exchange(state, relayd, data, len(_OK_REPLY) * len(packets))
    if got == _OK_REPLY * len(packets):
        return  # all answered LTTNG_OK: one comparison for the batch
    for at in range(0, len(got), len(_OK_REPLY)):
        _ok(_GENERIC_REPLY.parse(got[at : at + len(_OK_REPLY)]).ret_code, "send index")


def reset_metadata(
    state: ConsumerState, relayd: Relayd, stream_id: int, version: int
) -> Generator[Wait, Received, None]:
    """``relayd_reset_metadata``: RELAYD_RESET_METADATA (from 2.8; an older peer
    cannot regenerate metadata)."""
    if relayd.minor < 8:
        raise RelaydError("metadata regeneration needs relayd protocol 2.8")
    payload = RESET_METADATA.build(RelaydResetMetadata(stream_id=stream_id, version=version))
    data = command(LttcommRelaydCommand.RELAYD_RESET_METADATA, payload)
    _ok((yield from _generic(state, relayd, data)), "reset metadata")


def rotate_streams(
    state: ConsumerState,
    relayd: Relayd,
    *,
    new_chunk_id: int | None,
    positions: Sequence[tuple[int, int]],
) -> Generator[Wait, Received, None]:
    """``relayd_rotate_streams``: RELAYD_ROTATE_STREAMS with (relay stream id,
    rotate-at sequence number) per stream (from 2.11)."""
    if not relayd.supports_chunks:
        return
    raw_positions = b"".join(
        STREAM_ROTATION_POSITION.build(
            RelaydStreamRotationPosition(stream_id=sid, rotate_at_seq_num=seq)
        )
        for sid, seq in positions
    )
    payload = ROTATE_STREAMS.build(
        RelaydRotateStreams(
            stream_count=len(positions),
            new_chunk_id=OptionalU64BeAligned(
                is_set=int(new_chunk_id is not None), value=new_chunk_id or 0
            ),
            rotation_positions=raw_positions,
        )
    )
    data = command(LttcommRelaydCommand.RELAYD_ROTATE_STREAMS, payload)
    _ok((yield from _generic(state, relayd, data)), "rotate streams")


def create_trace_chunk(
    state: ConsumerState,
    relayd: Relayd,
    *,
    chunk_id: int,
    creation_timestamp: int,
    override_name: str | None,
) -> Generator[Wait, Received, None]:
    """``relayd_create_trace_chunk``: RELAYD_CREATE_TRACE_CHUNK (from 2.11); the
    name is sent only when overridden."""
    if not relayd.supports_chunks:
        return
    name = c_bytes(override_name) + b"\0" if override_name else b""
    payload = CREATE_TRACE_CHUNK.build(
        RelaydCreateTraceChunk(
            chunk_id=chunk_id,
            creation_timestamp=creation_timestamp,
            override_name_length=len(name),
            override_name=name,
        )
    )
    data = command(LttcommRelaydCommand.RELAYD_CREATE_TRACE_CHUNK, payload)
    _ok((yield from _generic(state, relayd, data)), "create trace chunk")


def close_trace_chunk(
    state: ConsumerState,
    relayd: Relayd,
    *,
    chunk_id: int,
    close_timestamp: int,
    close_command: LttngTraceChunkCommandType | None,
) -> Generator[Wait, Received, str]:
    """``relayd_close_trace_chunk``: RELAYD_CLOSE_TRACE_CHUNK; returns the path of the
    closed chunk on the relay daemon's host (empty before 2.11)."""
    if not relayd.supports_chunks:
        return ""
    payload = CLOSE_TRACE_CHUNK.build(
        RelaydCloseTraceChunk(
            chunk_id=chunk_id,
            close_timestamp=close_timestamp,
            close_command=OptionalTraceChunkCommandBe(
                is_set=int(close_command is not None),
                value=close_command or LttngTraceChunkCommandType(0),
            ),
        )
    )
    data = command(LttcommRelaydCommand.RELAYD_CLOSE_TRACE_CHUNK, payload)
    head = yield from _exchange(state, relayd, data, 8)
    code = int.from_bytes(head[:4], "big")
    path_length = int.from_bytes(head[4:8], "big")
    if path_length >= 4096 or path_length == 0:
        raise RelaydError(f"relayd close trace chunk: path length {path_length}")
    got = yield Need(path_length, 0, relayd.sock)
    reply = CLOSE_TRACE_CHUNK_REPLY.parse(head + got.data)
    if reply.path[-1:] != b"\0":
        raise RelaydError("relayd close trace chunk: path not NUL-terminated")
    _ok(code, "close trace chunk")
    # A C string: up to its first NUL, the bytes kept as they came (c_text).
    return c_text(bytes(reply.path).split(b"\0", 1)[0])


def trace_chunk_exists(
    state: ConsumerState, relayd: Relayd, chunk_id: int
) -> Generator[Wait, Received, bool]:
    """``relayd_trace_chunk_exists``: RELAYD_TRACE_CHUNK_EXISTS (before 2.11 the chunk
    never exists)."""
    if not relayd.supports_chunks:
        return False
    payload = TRACE_CHUNK_EXISTS.build(RelaydTraceChunkExists(chunk_id=chunk_id))
    data = command(LttcommRelaydCommand.RELAYD_TRACE_CHUNK_EXISTS, payload)
    raw = yield from _exchange(state, relayd, data, TRACE_CHUNK_EXISTS_REPLY.size)
    reply = TRACE_CHUNK_EXISTS_REPLY.parse(raw)
    _ok(reply.generic.ret_code, "trace chunk exists")
    return bool(reply.trace_chunk_exists)
