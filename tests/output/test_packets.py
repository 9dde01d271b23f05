"""Splitting stream files into packets and rebuilding their index entries."""

from __future__ import annotations

import pytest

from ustref.errors import RemoteProtocolError
from ustref.output.packets import split_data_file, split_metadata_file
from ustref.ring import layout


def _data_packet(seq: int, size: int = 4096) -> bytes:
    header = layout.PacketHeader()
    header.magic = layout.CTF_MAGIC_NUMBER
    header.stream_id = 2
    header.stream_instance_id = 5
    header.ctx.timestamp_begin = 100 + seq
    header.ctx.timestamp_end = 200 + seq
    header.ctx.content_size = (size - 10) * 8
    header.ctx.packet_size = size * 8
    header.ctx.packet_seq_num = seq
    header.ctx.events_discarded = seq * 3
    raw = bytes(header)
    return raw + bytes([seq]) * (size - len(raw))


def _metadata_packet(size: int, fill: bytes = b" ") -> bytes:
    header = layout.MetadataPacketHeader()
    header.magic = layout.TSDL_MAGIC_NUMBER
    header.packet_size = size * 8
    header.content_size = size * 8
    raw = bytes(header)[:37]  # offsetof(header_end): ctypes adds tail padding
    return raw + fill * (size - len(raw))


def test_data_packets_and_their_index_entries() -> None:
    data = _data_packet(7) + _data_packet(8, 8192)
    first, second = split_data_file(data)
    assert (first.offset, second.offset) == (0, 4096)
    assert second.data == data[4096:]
    assert first.index is not None and second.index is not None
    assert second.index.offset == 4096
    assert (second.index.packet_size, second.index.content_size) == (8192 * 8, 8182 * 8)
    assert (second.index.timestamp_begin, second.index.timestamp_end) == (108, 208)
    assert (second.index.stream_id, second.index.stream_instance_id) == (2, 5)
    assert (second.index.packet_seq_num, second.index.events_discarded) == (8, 24)


def test_metadata_packets() -> None:
    data = _metadata_packet(4096) + _metadata_packet(100, b"x")
    packets = split_metadata_file(data)
    assert [(p.offset, len(p.data), p.index) for p in packets] == [
        (0, 4096, None),
        (4096, 100, None),
    ]


@pytest.mark.parametrize(
    "data",
    [
        _data_packet(1)[:20],  # truncated header
        b"\x00" * 4096,  # no magic
        _data_packet(1)[:4000],  # shorter than its packet_size
    ],
)
def test_malformed_data_files(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        split_data_file(data)


def test_malformed_metadata_files() -> None:
    with pytest.raises(RemoteProtocolError):
        split_metadata_file(_data_packet(1))
    bad = bytearray(_metadata_packet(64))
    offset = layout.MetadataPacketHeader.packet_size.offset
    bad[offset : offset + 4] = (0).to_bytes(4, "little")
    with pytest.raises(RemoteProtocolError):
        split_metadata_file(bytes(bad))
    smallest = _metadata_packet(37)  # a header alone is a whole packet
    assert [len(p.data) for p in split_metadata_file(smallest)] == [37]
    with pytest.raises(RemoteProtocolError):
        split_metadata_file(smallest[:36])
