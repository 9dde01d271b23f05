"""Decode the consumer ↔ relay daemon byte streams of a capture into messages (sans I/O).

The wrapper records each relay daemon connection the session daemon hands to
the consumer (``LTTNG_CONSUMER_ADD_RELAYD_SOCKET``) as two byte streams, one
per direction (:class:`~ustref.capture.format.RelaydRecord`). The session
daemon has already done ``RELAYD_VERSION``, ``RELAYD_GET_CONFIGURATION`` and
``RELAYD_CREATE_SESSION`` on the control socket before the hand-over
(``create_connect_relayd`` and ``consumer_send_relayd_socket``, sessiond
cmd.c/consumer.c @ v2.13.9), so the streams start with the consumer's first
command. :class:`RelaydDecoder` splits them with the grammars of
:mod:`ustref.protocol.relayd`:

* control, consumer → relay: a 24-byte ``lttcomm_relayd_hdr`` then ``data_size``
  bytes of payload, read with the struct the command takes (``send_command``,
  src/common/relayd/relayd.c);
* control, relay → consumer: the reply of the oldest command still unanswered,
  of the shape that command's C function reads with ``recv_reply``
  (:data:`REPLIES`); ``RELAYD_SEND_METADATA`` gets none;
* data, consumer → relay: a 32-byte ``lttcomm_relayd_data_hdr`` then
  ``data_size`` bytes of packet (``write_relayd_stream_header``, consumer.c; the
  padding is not sent); nothing ever comes back.

Each piece (header, payload, reply, data header, packet) is one
:class:`RelaydDecoded`, whose ``spec`` rebuilds ``raw`` from ``value`` (raw
pieces have no ``spec``). A stream that breaks these rules raises
:class:`~ustref.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ustref.capture.format import RelaydDirection, RelaydRecord, RelaydSocket
from ustref.errors import RemoteProtocolError
from ustref.protocol import relayd
from ustref.protocol.registry import StructSpec
from ustref.protocol.relayd import LttcommRelaydCommand as Cmd

__all__ = [
    "DEFAULT_MINOR",
    "REPLIES",
    "RelaydDecoded",
    "RelaydDecoder",
    "payload_spec",
    "reply_spec",
]

DEFAULT_MINOR = 13
"""``RELAYD_VERSION_COMM_MINOR`` of lttng-tools 2.13: the protocol minor a 2.13
session daemon agrees with a 2.13 relay daemon (the lower of the two minors)."""


@dataclasses.dataclass(frozen=True)
class RelaydDecoded:
    """One decoded piece of a relay daemon connection.

    ``step`` is ``header``, ``payload``, ``reply``, ``data.header`` or
    ``data.packet``; ``exchange`` the command it belongs to (``data`` on the
    data socket); ``offset`` the position of ``raw`` in its (connection,
    direction) byte stream.
    """

    socket: RelaydSocket
    direction: RelaydDirection
    connection: int
    net_index: int
    step: str
    exchange: str
    value: Any
    raw: bytes
    offset: int
    spec: StructSpec[Any] | None = None
    fds: int = 0

    @property
    def name(self) -> str:
        """The C name of the message, or the step's kind."""
        return self.spec.c_name if self.spec is not None else self.step


def payload_spec(cmd: Cmd, minor: int) -> StructSpec[Any] | None:
    """The struct the payload of ``cmd`` is at protocol ``2.minor`` (``None``: no payload
    or raw bytes), as relayd.c's sender of that command writes it."""
    if cmd is Cmd.RELAYD_ADD_STREAM:  # relayd_add_stream: _2_1, _2_2 or _2_11
        if minor >= 11:
            return relayd.ADD_STREAM_2_11
        return relayd.ADD_STREAM_2_2 if minor >= 2 else relayd.ADD_STREAM
    if cmd is Cmd.RELAYD_CREATE_SESSION:  # relayd_create_session: _2_4 or _2_11
        return relayd.CREATE_SESSION_2_11 if minor >= 11 else relayd.CREATE_SESSION_2_4
    if cmd is Cmd.RELAYD_SEND_INDEX:  # lttcomm_relayd_index_len: index 1.1 from 2.8
        return relayd.INDEX if minor >= 8 else relayd.INDEX_1_0
    return _PAYLOADS.get(cmd)


_PAYLOADS: Mapping[Cmd, StructSpec[Any]] = {
    Cmd.RELAYD_VERSION: relayd.VERSION,
    Cmd.RELAYD_SEND_METADATA: relayd.METADATA_PAYLOAD,
    Cmd.RELAYD_CLOSE_STREAM: relayd.CLOSE_STREAM,
    Cmd.RELAYD_DATA_PENDING: relayd.DATA_PENDING,
    Cmd.RELAYD_QUIESCENT_CONTROL: relayd.QUIESCENT_CONTROL,
    Cmd.RELAYD_BEGIN_DATA_PENDING: relayd.BEGIN_DATA_PENDING,
    Cmd.RELAYD_END_DATA_PENDING: relayd.END_DATA_PENDING,
    Cmd.RELAYD_RESET_METADATA: relayd.RESET_METADATA,
    Cmd.RELAYD_ROTATE_STREAMS: relayd.ROTATE_STREAMS,
    Cmd.RELAYD_CREATE_TRACE_CHUNK: relayd.CREATE_TRACE_CHUNK,
    Cmd.RELAYD_CLOSE_TRACE_CHUNK: relayd.CLOSE_TRACE_CHUNK,
    Cmd.RELAYD_TRACE_CHUNK_EXISTS: relayd.TRACE_CHUNK_EXISTS,
    Cmd.RELAYD_GET_CONFIGURATION: relayd.GET_CONFIGURATION,
}


def _fixed(spec: StructSpec[Any]) -> Callable[[bytes], int | None]:
    return lambda _head: spec.size


def _then_length(spec: StructSpec[Any], at: int) -> Callable[[bytes], int | None]:
    """A struct whose fixed part ends with a big-endian ``uint32_t`` length at ``at``
    of the flexible array that follows."""

    def length(head: bytes) -> int | None:
        if len(head) < spec.size:
            return None
        return spec.size + int.from_bytes(head[at : at + 4], "big")

    return length


REPLIES: Mapping[Cmd, tuple[StructSpec[Any], Callable[[bytes], int | None]] | None] = {
    # relayd_add_stream: recv_reply of a lttcomm_relayd_status_stream
    Cmd.RELAYD_ADD_STREAM: (relayd.STATUS_STREAM, _fixed(relayd.STATUS_STREAM)),
    # relayd_version_check
    Cmd.RELAYD_VERSION: (relayd.VERSION, _fixed(relayd.VERSION)),
    # relayd_send_metadata: no recv_reply
    Cmd.RELAYD_SEND_METADATA: None,
    # relayd_close_trace_chunk: the reply, then path_length bytes of path
    Cmd.RELAYD_CLOSE_TRACE_CHUNK: (
        relayd.CLOSE_TRACE_CHUNK_REPLY,
        _then_length(relayd.CLOSE_TRACE_CHUNK_REPLY, 4),
    ),
    # relayd_trace_chunk_exists
    Cmd.RELAYD_TRACE_CHUNK_EXISTS: (
        relayd.TRACE_CHUNK_EXISTS_REPLY,
        _fixed(relayd.TRACE_CHUNK_EXISTS_REPLY),
    ),
    # relayd_get_configuration: the fixed part (the optional payload is never sent)
    Cmd.RELAYD_GET_CONFIGURATION: (
        relayd.GET_CONFIGURATION_REPLY,
        _fixed(relayd.GET_CONFIGURATION_REPLY),
    ),
}
"""The reply of each command whose reply is not a ``lttcomm_relayd_generic_reply``
(``None``: no reply), and how long it is given its first bytes; every other
command's C function reads a generic reply (``recv_reply`` of 4 bytes)."""


def reply_spec(
    cmd: Cmd, minor: int
) -> tuple[StructSpec[Any], Callable[[bytes], int | None]] | None:
    """The reply ``cmd`` gets at protocol ``2.minor`` and its length function (``None``:
    no reply)."""
    if cmd is Cmd.RELAYD_CREATE_SESSION:  # relayd_create_session
        if minor >= 11:
            spec = relayd.CREATE_SESSION_REPLY_2_11
            return spec, _then_length(spec, relayd.STATUS_SESSION.size)
        return relayd.STATUS_SESSION, _fixed(relayd.STATUS_SESSION)
    if cmd in REPLIES:
        return REPLIES[cmd]
    return relayd.GENERIC_REPLY, _fixed(relayd.GENERIC_REPLY)


@dataclasses.dataclass
class _Stream:
    data: bytearray = dataclasses.field(default_factory=bytearray)
    start: int = 0
    closed: bool = False

    def take(self, count: int) -> tuple[bytes, int]:
        chunk = bytes(self.data[:count])
        offset = self.start
        del self.data[:count]
        self.start += count
        return chunk, offset


@dataclasses.dataclass
class _Connection:
    socket: RelaydSocket
    connection: int
    net_index: int
    minor: int
    out: _Stream = dataclasses.field(default_factory=_Stream)
    back: _Stream = dataclasses.field(default_factory=_Stream)
    header: Any = None
    """The command (or data) header whose payload is awaited."""
    awaiting: deque[Cmd] = dataclasses.field(default_factory=deque)
    """Commands sent and not yet answered, oldest first."""


def _parse(spec: StructSpec[Any], raw: bytes, where: str) -> Any:
    try:
        return spec.parse(raw)
    except RemoteProtocolError as exc:
        raise RemoteProtocolError(
            f"{where}: {exc.reason}",
            message=exc.message,
            field=exc.field,
            offset=exc.offset,
        ) from None


class RelaydDecoder:
    """Feed :class:`RelaydRecord` s in capture order; get :class:`RelaydDecoded` pieces.

    ``minors`` gives the protocol minor the session daemon agreed for each
    ``net_index`` (``u.relayd_sock.minor`` of the hand-over); unknown ones get
    :data:`DEFAULT_MINOR`. :meth:`set_minor` adds one later.
    """

    def __init__(self, minors: Mapping[int, int] | None = None) -> None:
        self._minors = dict(minors or {})
        self._connections: dict[tuple[RelaydSocket, int], _Connection] = {}

    def set_minor(self, net_index: int, minor: int) -> None:
        self._minors[net_index] = minor

    def observe(self, record: RelaydRecord) -> Iterator[RelaydDecoded]:
        """Decode what ``record`` completes."""
        key = (record.socket, record.connection)
        conn = self._connections.get(key)
        if conn is None:
            minor = self._minors.get(record.net_index, DEFAULT_MINOR)
            conn = _Connection(record.socket, record.connection, record.net_index, minor)
            self._connections[key] = conn
        to_relayd = record.direction is RelaydDirection.TO_RELAYD
        stream = conn.out if to_relayd else conn.back
        if record.is_eof:
            stream.closed = True
        stream.data += record.data
        if to_relayd:
            yield from self._outgoing(conn)
        elif conn.socket is RelaydSocket.DATA:
            if stream.data:
                raise RemoteProtocolError(
                    f"{len(stream.data)} bytes from the relay daemon on a data socket "
                    "(it never answers there)",
                    message=f"{conn.socket.value}#{conn.connection}",
                    offset=stream.start,
                )
        else:
            yield from self._replies(conn)

    def finish(self) -> None:
        """Check that no stream ended in the middle of a message."""
        for conn in self._connections.values():
            for stream, direction in (
                (conn.out, RelaydDirection.TO_RELAYD),
                (conn.back, RelaydDirection.TO_CONSUMERD),
            ):
                if stream.data:
                    raise RemoteProtocolError(
                        f"{len(stream.data)} bytes left undecoded at the end "
                        f"({direction.value}): a message cut short",
                        message=f"{conn.socket.value}#{conn.connection}",
                        offset=stream.start,
                    )

    def _piece(
        self,
        conn: _Connection,
        direction: RelaydDirection,
        *,
        step: str,
        exchange: str,
        spec: StructSpec[Any] | None,
        raw: bytes,
        offset: int,
    ) -> RelaydDecoded:
        where = f"{conn.socket.value}#{conn.connection} {exchange} {step} at byte {offset}"
        value: Any = raw if spec is None else _parse(spec, raw, where)
        return RelaydDecoded(
            socket=conn.socket,
            direction=direction,
            connection=conn.connection,
            net_index=conn.net_index,
            step=step,
            exchange=exchange,
            value=value,
            raw=raw,
            offset=offset,
            spec=spec,
        )

    def _outgoing(self, conn: _Connection) -> Iterator[RelaydDecoded]:
        stream = conn.out
        direction = RelaydDirection.TO_RELAYD
        control = conn.socket is RelaydSocket.CONTROL
        head = relayd.HDR if control else relayd.DATA_HDR
        while True:
            if conn.header is None:
                if len(stream.data) < head.size:
                    return
                raw, offset = stream.take(head.size)
                step = "header" if control else "data.header"
                exchange = "data"
                if control:
                    exchange = _command_name(raw)
                piece = self._piece(
                    conn, direction, step=step, exchange=exchange, spec=head, raw=raw, offset=offset
                )
                conn.header = piece.value
                yield piece
                if control:
                    cmd: Cmd = conn.header.cmd
                    if reply_spec(cmd, conn.minor) is not None:
                        conn.awaiting.append(cmd)
            size: int = conn.header.data_size
            if len(stream.data) < size:
                return
            raw, offset = stream.take(size)
            if control:
                cmd = conn.header.cmd
                spec = payload_spec(cmd, conn.minor)
                if size:
                    yield self._piece(
                        conn,
                        direction,
                        step="payload",
                        exchange=cmd.name,
                        spec=spec,
                        raw=raw,
                        offset=offset,
                    )
            else:
                yield self._piece(
                    conn,
                    direction,
                    step="data.packet",
                    exchange="data",
                    spec=None,
                    raw=raw,
                    offset=offset,
                )
            conn.header = None

    def _replies(self, conn: _Connection) -> Iterator[RelaydDecoded]:
        stream = conn.back
        while stream.data:
            if not conn.awaiting:
                raise RemoteProtocolError(
                    f"{len(stream.data)} bytes from the relay daemon with no command "
                    "awaiting a reply",
                    message=f"{conn.socket.value}#{conn.connection}",
                    offset=stream.start,
                )
            cmd = conn.awaiting[0]
            shape = reply_spec(cmd, conn.minor)
            assert shape is not None  # only commands with a reply are queued
            spec, length = shape
            needed = length(bytes(stream.data[: spec.size]))
            if needed is None or len(stream.data) < needed:
                return
            raw, offset = stream.take(needed)
            conn.awaiting.popleft()
            yield self._piece(
                conn,
                RelaydDirection.TO_CONSUMERD,
                step="reply",
                exchange=cmd.name,
                spec=spec,
                raw=raw,
                offset=offset,
            )


def _command_name(raw: bytes) -> str:
    """The command a control header names, for error messages before it is parsed."""
    value = int.from_bytes(raw[16:20], "big")
    try:
        return Cmd(value).name
    except ValueError:
        return f"command {value}"
