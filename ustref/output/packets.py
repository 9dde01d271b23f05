"""Split a CTF stream file written by a consumer back into its packets.

A local stream file is the consumer's padded sub-buffers one after the other;
each begins with the lttng-ust 2.13.5 client's packet header
(``struct packet_header`` for data, ``struct metadata_packet_header`` for
metadata, :mod:`ustref.ring.layout`) whose ``packet_size`` (bits) is the padded
size the consumer wrote. For a data packet, the index entry the consumer
writes is what ust-consumer.c ``extract_data_subbuffer_info`` @ v2.13.9 reads
through the ust-ctl getters, i.e. header fields; this module rebuilds it (with
``offset`` = the packet's offset in the file). Used to check ustref's writers
against files written by the C consumer, and to rebuild a lost index.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ustref.errors import RemoteProtocolError
from ustref.output.index import PacketIndex
from ustref.ring import layout


@dataclass(frozen=True)
class Packet:
    """One packet of a stream file: its bytes (padding included) and index entry
    (``None`` for metadata packets, which are never indexed)."""

    offset: int
    data: bytes
    index: PacketIndex | None


_H = TypeVar("_H", layout.PacketHeader, layout.MetadataPacketHeader)


@dataclass(frozen=True)
class _Kind(Generic[_H]):
    """What tells one client's packets apart: header struct, its used size, magic."""

    header: type[_H]
    c_name: str
    used: int
    magic: int
    packet_bits: Callable[[_H], int]
    index: Callable[[_H, int], PacketIndex | None]


def _data_index(header: layout.PacketHeader, offset: int) -> PacketIndex:
    """The entry ``ctf_packet_index_populate`` (consumer-stream.c) makes of the getters' values."""
    ctx = header.ctx
    return PacketIndex(
        offset=offset,
        packet_size=ctx.packet_size,
        content_size=ctx.content_size,
        timestamp_begin=ctx.timestamp_begin,
        timestamp_end=ctx.timestamp_end,
        events_discarded=ctx.events_discarded,
        stream_id=header.stream_id,
        stream_instance_id=header.stream_instance_id,
        packet_seq_num=ctx.packet_seq_num,
    )


_DATA: _Kind[layout.PacketHeader] = _Kind(
    layout.PacketHeader,
    "packet_header",
    layout.field_offset(layout.PacketHeader, "ctx.header_end"),  # 84 bytes
    layout.CTF_MAGIC_NUMBER,
    lambda header: int(header.ctx.packet_size),
    _data_index,
)
_METADATA: _Kind[layout.MetadataPacketHeader] = _Kind(
    layout.MetadataPacketHeader,
    "metadata_packet_header",
    layout.field_offset(layout.MetadataPacketHeader, "header_end"),  # 37 bytes
    layout.TSDL_MAGIC_NUMBER,
    lambda header: int(header.packet_size),
    lambda _header, _offset: None,
)


def _packet_size(bits: int, offset: int, remaining: int, what: str) -> int:
    if bits == 0 or bits % 8:
        raise RemoteProtocolError(
            f"packet_size {bits} bits is not a positive whole number of bytes",
            message=what,
            field="packet_size",
            offset=offset,
        )
    size = bits // 8
    if size > remaining:
        raise RemoteProtocolError(
            f"packet of {size} bytes but {remaining} left in the file",
            message=what,
            field="packet_size",
            offset=offset,
        )
    return size


def _split(data: bytes, kind: _Kind[_H]) -> list[Packet]:
    packets: list[Packet] = []
    offset = 0
    while offset < len(data):
        raw = data[offset : offset + kind.used]
        if len(raw) < kind.used:
            raise RemoteProtocolError("truncated header", message=kind.c_name, offset=offset)
        # ctypes' sizeof includes tail padding past header_end: zero-fill it.
        header = kind.header.from_buffer_copy(raw + bytes(ctypes.sizeof(kind.header) - kind.used))
        if header.magic != kind.magic:
            raise RemoteProtocolError(
                f"bad magic {header.magic:#x}", message=kind.c_name, field="magic", offset=offset
            )
        size = _packet_size(kind.packet_bits(header), offset, len(data) - offset, kind.c_name)
        packets.append(Packet(offset, data[offset : offset + size], kind.index(header, offset)))
        offset += size
    return packets


def split_data_file(data: bytes) -> list[Packet]:
    """The packets of a data stream file, each with the index entry C writes for it."""
    return _split(data, _DATA)


def split_metadata_file(data: bytes) -> list[Packet]:
    """The packets of a metadata stream file."""
    return _split(data, _METADATA)
