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
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from ustref.capture.format import CaptureRecord, load_capture
from ustref.protocol.abi import DEFAULT_ABI, Abi
from ustref.protocol.conversation.steps import Direction
from ustref.specgen.wireshark import (
    ABI_IDS,
    PSEUDO_HEADER_SIZE,
    PSEUDO_MAGIC,
    PSEUDO_VERSION,
    SOCKET_IDS,
)

__all__ = ["LINKTYPE_USER0", "export_pcapng", "pcapng_bytes", "pseudo_header"]

LINKTYPE_USER0 = 147
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


def pcapng_bytes(records: Iterable[CaptureRecord], abi: Abi, realtime_offset_ns: int = 0) -> bytes:
    """A whole pcapng file: one section, one interface, one packet per record."""
    out = [
        _block(_SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(0, b"")),
        _block(
            _IDB,
            struct.pack("<HHI", LINKTYPE_USER0, 0, 0)
            + _option(_IF_TSRESOL, bytes([9]))
            + _option(2, b"ustref capture")
            + _option(0, b""),
        ),
    ]
    for record in records:
        data = pseudo_header(record, abi) + record.data
        stamp = max(record.time_ns + realtime_offset_ns, 0)
        body = struct.pack(
            "<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data)
        ) + _pad4(data)
        body += _option(_OPT_COMMENT, _comment(record).encode()) + _option(0, b"")
        out.append(_block(_EPB, body))
    return b"".join(out)


def export_pcapng(capture: str | Path, out: str | Path, abi: Abi = DEFAULT_ABI) -> int:
    """Write ``capture`` (file or raw directory) as pcapng to ``out``; return the packet count."""
    loaded = load_capture(capture)
    offset = loaded.header.realtime_offset_ns if loaded.header is not None else 0
    Path(out).write_bytes(pcapng_bytes(loaded.records, abi, offset))
    return len(loaded.records)
