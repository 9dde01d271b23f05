"""``ustref capture export CAPTURE --pcapng OUT``: a capture as a pcapng file for Wireshark.

Each capture record becomes one packet of link type ``LINKTYPE_USER0`` (147),
which Wireshark hands to the Lua dissector that ``ustref spec wireshark``
generates (``spec/wireshark/ustref.lua``, registered in the ``wtap_encap``
table). A packet is a 12-byte pseudo-header followed by the record's bytes:

====== ==== ==========================================================
offset size field
====== ==== ==========================================================
0      4    magic ``USTR``
4      1    version (1)
5      1    ABI profile (0: v2.13.9, 1: 97535efaa)
6      1    socket (0: command, 1: metadata, 2: error, 3: channel-monitor)
7      1    direction (0: sessiond → consumerd, 1: consumerd → sessiond)
8      2    connection (little-endian)
10     2    descriptors that rode with the bytes (little-endian)
====== ==== ==========================================================

The packet comment names the socket, the direction and the descriptors
(with their kinds when the capture knows them). Packet times are the
record's ``CLOCK_MONOTONIC`` time placed on the wall clock with the header's
``realtime_offset_ns``.

The consumer ↔ relay daemon records (:class:`~ustref.capture.format.RelaydRecord`)
go on a second interface, ``LINKTYPE_RAW`` (101): each record becomes IPv4 TCP
segments (no checksums, at most :data:`MAX_SEGMENT` bytes each) of one TCP
connection per relay connection, with sequence numbers that follow the bytes,
so that Wireshark reassembles the streams and the generated dissector reads
them as ``lttcomm.relayd`` (control) and ``lttcomm.relayd.data``. The addresses
and ports are synthetic: the relay daemon is ``127.0.0.2`` on the dissector's
default ports (:data:`~ustref.specgen.wireshark.RELAYD_PORTS`: 5342 control,
5343 data), the consumer ``127.0.0.1`` on port ``40000 + 2 × connection``
(control) or ``+ 1`` (data); the real address is in the packet comment. An end
of stream becomes a FIN.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from ustref.capture.format import (
    AnyRecord,
    CaptureRecord,
    RelaydDirection,
    RelaydRecord,
    RelaydSocket,
    load_capture,
)
from ustref.protocol.abi import DEFAULT_ABI, Abi
from ustref.protocol.conversation.steps import Direction
from ustref.specgen.wireshark import (
    ABI_IDS,
    PSEUDO_HEADER_SIZE,
    PSEUDO_MAGIC,
    PSEUDO_VERSION,
    RELAYD_PORTS,
    SOCKET_IDS,
)

__all__ = [
    "LINKTYPE_RAW",
    "LINKTYPE_USER0",
    "MAX_SEGMENT",
    "export_pcapng",
    "pcapng_bytes",
    "pseudo_header",
    "relayd_ports",
]

LINKTYPE_USER0 = 147
LINKTYPE_RAW = 101
MAX_SEGMENT = 65000
"""The largest TCP payload of one exported segment (an IPv4 packet holds < 64 KiB)."""
_RELAYD_HOST = bytes([127, 0, 0, 2])
_CONSUMERD_HOST = bytes([127, 0, 0, 1])
_CLIENT_PORT_BASE = 40000
_TCP_PSH_ACK = 0x18
_TCP_FIN_ACK = 0x11
_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_EPB = 0x00000006
_OPT_COMMENT = 1
_IF_TSRESOL = 9


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def pseudo_header(record: CaptureRecord, abi: Abi) -> bytes:
    """The 12 bytes before each record's data (see the module docstring)."""
    header = struct.pack(
        "<4sBBBBHH",
        PSEUDO_MAGIC,
        PSEUDO_VERSION,
        ABI_IDS[abi],
        SOCKET_IDS[record.socket],
        0 if record.direction is Direction.TO_CONSUMERD else 1,
        record.connection & 0xFFFF,
        record.fd_count & 0xFFFF,
    )
    assert len(header) == PSEUDO_HEADER_SIZE
    return header


def _comment(record: CaptureRecord) -> str:
    text = f"{record.socket.value}#{record.connection} {record.direction.value}"
    if record.fd_count:
        kinds = f" ({', '.join(record.fd_kinds)})" if record.fd_kinds else ""
        text += f", {record.fd_count} fd(s){kinds}"
    if record.is_eof:
        text += ", end of stream"
    return text


def relayd_ports(record: RelaydRecord) -> tuple[int, int]:
    """(consumer port, relay daemon port) of a relay record's exported TCP connection."""
    data = record.socket is RelaydSocket.DATA
    return _CLIENT_PORT_BASE + 2 * record.connection + data, RELAYD_PORTS[data]


def _segment(record: RelaydRecord, seq: int, ack: int, payload: bytes, flags: int) -> bytes:
    """One IPv4 TCP segment (no options, checksums left 0) of ``record``'s connection."""
    client, server = relayd_ports(record)
    to_relayd = record.direction is RelaydDirection.TO_RELAYD
    src, dst = (client, server) if to_relayd else (server, client)
    hosts = (_CONSUMERD_HOST, _RELAYD_HOST) if to_relayd else (_RELAYD_HOST, _CONSUMERD_HOST)
    tcp = struct.pack(
        ">HHIIBBHHH", src, dst, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0
    )
    ip = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, *hosts
    )
    return ip + tcp + payload


class _TcpExport:
    """Sequence numbers of each exported relay connection, one per direction."""

    def __init__(self) -> None:
        self._next: dict[tuple[RelaydSocket, int, RelaydDirection], int] = {}

    def segments(self, record: RelaydRecord) -> list[bytes]:
        key = (record.socket, record.connection, record.direction)
        reverse = (
            RelaydDirection.TO_CONSUMERD
            if record.direction is RelaydDirection.TO_RELAYD
            else RelaydDirection.TO_RELAYD
        )
        back = (record.socket, record.connection, reverse)
        seq = self._next.get(key, 1)
        ack = self._next.get(back, 1)
        if record.is_eof:
            self._next[key] = seq + 1
            return [_segment(record, seq, ack, b"", _TCP_FIN_ACK)]
        out = []
        for at in range(0, len(record.data), MAX_SEGMENT):
            chunk = record.data[at : at + MAX_SEGMENT]
            out.append(_segment(record, seq, ack, chunk, _TCP_PSH_ACK))
            seq += len(chunk)
        self._next[key] = seq
        return out


def _relayd_comment(record: RelaydRecord) -> str:
    text = (
        f"{record.socket.value}#{record.connection} {record.direction.value}, "
        f"relay daemon {record.peer}, net index {record.net_index}"
    )
    return text + (", end of stream" if record.is_eof else "")


def _packet(interface: int, stamp: int, data: bytes, comment: str) -> bytes:
    body = struct.pack(
        "<IIIII", interface, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data)
    ) + _pad4(data)
    body += _option(_OPT_COMMENT, comment.encode()) + _option(0, b"")
    return _block(_EPB, body)


def _interface(linktype: int, name: bytes) -> bytes:
    return _block(
        _IDB,
        struct.pack("<HHI", linktype, 0, 0)
        + _option(_IF_TSRESOL, bytes([9]))
        + _option(2, name)
        + _option(0, b""),
    )


def pcapng_bytes(records: Iterable[AnyRecord], abi: Abi, realtime_offset_ns: int = 0) -> bytes:
    """A whole pcapng file: one section; interface 0 (``LINKTYPE_USER0``) with one packet
    per session daemon ↔ consumer record, interface 1 (``LINKTYPE_RAW``) with the TCP
    segments of the consumer ↔ relay daemon records."""
    return b"".join(_blocks(records, abi, realtime_offset_ns))


_HEADER_BLOCKS = 3


def _blocks(records: Iterable[AnyRecord], abi: Abi, realtime_offset_ns: int) -> list[bytes]:
    """The section header, the two interfaces, then the packets."""
    out = [
        _block(_SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(0, b"")),
        _interface(LINKTYPE_USER0, b"ustref capture"),
        _interface(LINKTYPE_RAW, b"ustref capture: relay daemon connections"),
    ]
    tcp = _TcpExport()
    for record in records:
        stamp = max(record.time_ns + realtime_offset_ns, 0)
        if isinstance(record, RelaydRecord):
            comment = _relayd_comment(record)
            out += [_packet(1, stamp, segment, comment) for segment in tcp.segments(record)]
        else:
            data = pseudo_header(record, abi) + record.data
            out.append(_packet(0, stamp, data, _comment(record)))
    return out


def export_pcapng(capture: str | Path, out: str | Path, abi: Abi = DEFAULT_ABI) -> int:
    """Write ``capture`` (file or raw directory) as pcapng to ``out``; return the packet
    count (relay daemon records may take several TCP segments each)."""
    loaded = load_capture(capture)
    offset = loaded.header.realtime_offset_ns if loaded.header is not None else 0
    blocks = _blocks(loaded.in_order(), abi, offset)
    Path(out).write_bytes(b"".join(blocks))
    return len(blocks) - _HEADER_BLOCKS
