"""CTF packet header and context of the lttng-ust v2.13.5 ring-buffer clients.

Mirrors what ``client_buffer_begin()``/``client_buffer_end()`` write at the
start of every sub-buffer: ``struct packet_header``
(src/common/ringbuffer-clients/template.h, data channels) and
``struct metadata_packet_header``
(src/common/ringbuffer-clients/metadata-template.h, metadata channel), and the
getters of ``struct lttng_ust_client_lib_ring_buffer_client_cb``
(``client_timestamp_begin()`` …, template.h) that read them back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ustref.errors import LocalProtocolError
from ustref.ids import U64_MAX
from ustref.ring import layout
from ustref.ring.shm import ShmMapping


class ClientKind(enum.Enum):
    """Which ring-buffer client wrote a stream (``enum lttng_client_types``, clients.h)."""

    DATA = "data"
    METADATA = "metadata"


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """What a client's ``buffer_begin`` copies from the channel into every packet.

    ``lttng_chan->priv->uuid`` and ``lttng_chan->priv->id`` (the CTF stream
    class id) live in the app's private channel data, not in a stream's shm;
    the reader learns them from a packet header already in the buffer.
    """

    kind: ClientKind
    uuid: bytes
    stream_id: int

    @property
    def header_size(self) -> int:
        """``client_packet_header_size()``: 84 for data, 37 for metadata."""
        if self.kind is ClientKind.DATA:
            return layout.DATA_SUBBUF_HEADER_SIZE
        return layout.METADATA_SUBBUF_HEADER_SIZE


_CTX = layout.field_offset(layout.PacketHeader, "ctx")

DATA_TIMESTAMP_BEGIN = layout.field_offset(layout.PacketHeader, "ctx.timestamp_begin")
DATA_TIMESTAMP_END = layout.field_offset(layout.PacketHeader, "ctx.timestamp_end")
DATA_CONTENT_SIZE = layout.field_offset(layout.PacketHeader, "ctx.content_size")
DATA_PACKET_SIZE = layout.field_offset(layout.PacketHeader, "ctx.packet_size")
DATA_SEQ_NUM = layout.field_offset(layout.PacketHeader, "ctx.packet_seq_num")
DATA_EVENTS_DISCARDED = layout.field_offset(layout.PacketHeader, "ctx.events_discarded")
DATA_CPU_ID = layout.field_offset(layout.PacketHeader, "ctx.cpu_id")
META_CONTENT_SIZE = layout.MetadataPacketHeader.content_size.offset
META_PACKET_SIZE = layout.MetadataPacketHeader.packet_size.offset


def identify(mapping: ShmMapping, packet_offset: int) -> ChannelIdentity | None:
    """The client and channel identity from the packet header at ``packet_offset``, if any."""
    magic = mapping.read_u32(packet_offset + layout.PacketHeader.magic.offset)
    if magic == layout.CTF_MAGIC_NUMBER:
        uuid = mapping.read_bytes(packet_offset + layout.PacketHeader.uuid.offset, layout.UUID_LEN)
        stream_id = mapping.read_u32(packet_offset + layout.PacketHeader.stream_id.offset)
        return ChannelIdentity(ClientKind.DATA, uuid, stream_id)
    if magic == layout.TSDL_MAGIC_NUMBER:
        uuid = mapping.read_bytes(
            packet_offset + layout.MetadataPacketHeader.uuid.offset, layout.UUID_LEN
        )
        return ChannelIdentity(ClientKind.METADATA, uuid, 0)
    return None


def write_data_begin(
    mapping: ShmMapping,
    packet_offset: int,
    identity: ChannelIdentity,
    *,
    tsc: int,
    cpu: int,
    seq_num: int,
) -> None:
    """``client_buffer_begin()`` of template.h: start a data packet header."""
    mapping.write_u32(packet_offset + layout.PacketHeader.magic.offset, layout.CTF_MAGIC_NUMBER)
    mapping.write_bytes(packet_offset + layout.PacketHeader.uuid.offset, identity.uuid)
    mapping.write_u32(packet_offset + layout.PacketHeader.stream_id.offset, identity.stream_id)
    mapping.write_u64(packet_offset + layout.PacketHeader.stream_instance_id.offset, cpu)
    mapping.write_u64(packet_offset + DATA_TIMESTAMP_BEGIN, tsc)
    mapping.write_u64(packet_offset + DATA_TIMESTAMP_END, 0)
    mapping.write_u64(packet_offset + DATA_CONTENT_SIZE, U64_MAX)
    mapping.write_u64(packet_offset + DATA_PACKET_SIZE, U64_MAX)
    mapping.write_u64(packet_offset + DATA_SEQ_NUM, seq_num)
    mapping.write_u64(packet_offset + DATA_EVENTS_DISCARDED, 0)
    mapping.write_u32(packet_offset + DATA_CPU_ID, cpu)


def write_metadata_begin(
    mapping: ShmMapping, packet_offset: int, identity: ChannelIdentity
) -> None:
    """``client_buffer_begin()`` of metadata-template.h: start a metadata packet header."""
    mapping.write_u32(
        packet_offset + layout.MetadataPacketHeader.magic.offset, layout.TSDL_MAGIC_NUMBER
    )
    mapping.write_bytes(packet_offset + layout.MetadataPacketHeader.uuid.offset, identity.uuid)
    mapping.write_u32(packet_offset + layout.MetadataPacketHeader.checksum.offset, 0)
    mapping.write_u32(packet_offset + META_CONTENT_SIZE, 0xFFFF_FFFF)
    mapping.write_u32(packet_offset + META_PACKET_SIZE, 0xFFFF_FFFF)
    for name, value in (
        ("compression_scheme", 0),
        ("encryption_scheme", 0),
        ("checksum_scheme", 0),
        ("major", layout.CTF_SPEC_MAJOR),
        ("minor", layout.CTF_SPEC_MINOR),
    ):
        mapping.write_u8(packet_offset + getattr(layout.MetadataPacketHeader, name).offset, value)


def write_end(
    mapping: ShmMapping,
    packet_offset: int,
    kind: ClientKind,
    *,
    tsc: int,
    data_size: int,
    page_size: int,
    records_lost: int,
) -> None:
    """``client_buffer_end()`` of either client: close a packet header."""
    padded = (data_size + page_size - 1) & ~(page_size - 1)
    if kind is ClientKind.DATA:
        mapping.write_u64(packet_offset + DATA_TIMESTAMP_END, tsc)
        mapping.write_u64(packet_offset + DATA_CONTENT_SIZE, data_size * 8)
        mapping.write_u64(packet_offset + DATA_PACKET_SIZE, padded * 8)
        mapping.write_u64(packet_offset + DATA_EVENTS_DISCARDED, records_lost)
    else:
        mapping.write_u32(packet_offset + META_CONTENT_SIZE, data_size * 8)
        mapping.write_u32(packet_offset + META_PACKET_SIZE, padded * 8)


def require_data(kind: ClientKind, what: str, source: str) -> None:
    """The metadata client has no packet getters (``-ENOSYS`` in liblttng-ust-ctl)."""
    if kind is not ClientKind.DATA:
        raise LocalProtocolError(f"{source}: {what}: the metadata client has no such getter")
