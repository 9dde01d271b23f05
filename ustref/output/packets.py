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
from dataclasses import dataclass
from typing import TypeVar

from ustref.errors import RemoteProtocolError
from ustref.output.index import PacketIndex
from ustref.ring import layout as L

#: ``offsetof(struct packet_header, ctx.header_end)``: 84 bytes.
_DATA_HEADER = L.field_offset(L.PacketHeader, "ctx.header_end")
#: ``offsetof(struct metadata_packet_header, header_end)``: 37 bytes.
_META_HEADER = L.field_offset(L.MetadataPacketHeader, "header_end")

_H = TypeVar("_H", L.PacketHeader, L.MetadataPacketHeader)


def _header(cls: type[_H], data: bytes, offset: int, used: int) -> _H:
    """The header at ``offset`` (``used`` bytes of it are real; ctypes' tail padding is zero)."""
    raw = data[offset : offset + used]
    return cls.from_buffer_copy(raw + bytes(ctypes.sizeof(cls) - len(raw)))


@dataclass(frozen=True)
class Packet:
    """One packet of a stream file: its bytes (padding included) and index entry
    (``None`` for metadata packets, which are never indexed)."""

    offset: int
    data: bytes
    index: PacketIndex | None


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


def split_data_file(data: bytes) -> list[Packet]:
    """The packets of a data stream file, each with the index entry C writes for it."""
    packets: list[Packet] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _DATA_HEADER:
            raise RemoteProtocolError(
                "truncated packet header", message="packet_header", offset=offset
            )
        header = _header(L.PacketHeader, data, offset, _DATA_HEADER)
        if header.magic != L.CTF_MAGIC_NUMBER:
            raise RemoteProtocolError(
                f"bad magic {header.magic:#x}",
                message="packet_header",
                field="magic",
                offset=offset,
            )
        ctx = header.ctx
        size = _packet_size(ctx.packet_size, offset, len(data) - offset, "packet_header")
        index = PacketIndex(
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
        packets.append(Packet(offset, data[offset : offset + size], index))
        offset += size
    return packets


def split_metadata_file(data: bytes) -> list[Packet]:
    """The packets of a metadata stream file."""
    packets: list[Packet] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _META_HEADER:
            raise RemoteProtocolError(
                "truncated metadata packet header", message="metadata_packet_header", offset=offset
            )
        header = _header(L.MetadataPacketHeader, data, offset, _META_HEADER)
        if header.magic != L.TSDL_MAGIC_NUMBER:
            raise RemoteProtocolError(
                f"bad magic {header.magic:#x}",
                message="metadata_packet_header",
                field="magic",
                offset=offset,
            )
        size = _packet_size(
            header.packet_size, offset, len(data) - offset, "metadata_packet_header"
        )
        packets.append(Packet(offset, data[offset : offset + size], None))
        offset += size
    return packets
