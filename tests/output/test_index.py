"""CTF index header and entries (ctf-index.h, index.c @ v2.13.9)."""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.output import info_of
from ustref.errors import LocalProtocolError, OutputError, RemoteProtocolError
from ustref.ids import U64_MAX
from ustref.output import index
from ustref.ring.drain import PacketInfo


def _entry(n: int) -> index.PacketIndex:
    return index.PacketIndex(
        offset=4096 * n,
        packet_size=4096 * 8,
        content_size=1000 * 8 + n,
        timestamp_begin=10**12 + n,
        timestamp_end=10**12 + 1000 + n,
        events_discarded=n // 2,
        stream_id=3,
        stream_instance_id=1,
        packet_seq_num=n,
    )


def test_header_is_big_endian_magic_version_and_entry_length() -> None:
    raw = index.file_header()
    assert len(raw) == 16 == index.FILE_HEADER.size
    assert struct.unpack(">IIII", raw) == (0xC1F1DCC1, 1, 1, 72)
    assert struct.unpack(">IIII", index.file_header(1, 0))[3] == 56


def test_entry_is_nine_big_endian_u64_in_c_order() -> None:
    entry = _entry(5)
    raw = entry.pack()
    assert len(raw) == 72 == index.PACKET_INDEX.size
    assert struct.unpack(">9Q", raw) == (
        entry.offset,
        entry.packet_size,
        entry.content_size,
        entry.timestamp_begin,
        entry.timestamp_end,
        entry.events_discarded,
        entry.stream_id,
        entry.stream_instance_id,
        entry.packet_seq_num,
    )
    assert entry.pack(56) == raw[:56]  # index 1.0 stops after stream_id


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, U64_MAX), min_size=10, max_size=10))
def test_struct_packing_builds_what_the_grammar_builds(values: list[int]) -> None:
    """PacketIndex.pack's struct fast path and the Construct grammar agree, with the
    offset given apart as the batched writer gives it."""
    entry = index.PacketIndex(
        offset=values[0],
        packet_size=values[1],
        content_size=values[2],
        timestamp_begin=values[3],
        timestamp_end=values[4],
        events_discarded=values[5],
        stream_id=values[6],
        stream_instance_id=values[7],
        packet_seq_num=values[8],
    )
    assert entry.pack() == index.PACKET_INDEX.build(entry)
    moved = dataclasses.replace(entry, offset=values[9])
    assert entry.pack(offset=values[9]) == index.PACKET_INDEX.build(moved)
    assert entry.pack(56, offset=values[9]) == index.PACKET_INDEX.build(moved)[:56]


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_out_of_range_entry_raises_the_grammars_typed_error(bad: int) -> None:
    with pytest.raises(LocalProtocolError, match="ctf_packet_index"):
        dataclasses.replace(_entry(1), timestamp_end=bad).pack()
    with pytest.raises(LocalProtocolError, match="offset"):
        _entry(1).pack(offset=bad)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(OutputError):
        index.packet_index_len(2, 0)


def test_index_file_writes_header_then_entries(tmp_path: Path) -> None:
    path = tmp_path / "chan_0.idx"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    index_file = index.IndexFile(fd, "chan_0.idx")
    entries = [_entry(n) for n in range(4)]
    for entry in entries:
        index_file.write(entry)
    index_file.close()
    index_file.close()  # idempotent
    data = path.read_bytes()
    assert data == index.file_header() + b"".join(e.pack() for e in entries)
    parsed = index.parse_index_file(data)
    assert parsed.entries == tuple(entries)
    assert parsed.header.packet_index_len == 72
    with pytest.raises(OutputError):
        index_file.write(entries[0])


def _info(n: int) -> PacketInfo:
    return info_of(_entry(n))


def test_an_entry_packed_from_the_subbuffer_info_is_the_populated_index() -> None:
    for n in (0, 1, 7):
        assert index.PacketIndex.populate(_info(n), 4096 * n) == _entry(n)
        assert index.pack_entry(_info(n), 4096 * n, 72) == _entry(n).pack()
        assert index.pack_entry(_info(n), 4096 * n, 56) == _entry(n).pack(56)


def test_an_info_value_out_of_range_is_a_typed_error() -> None:
    with pytest.raises(LocalProtocolError, match="timestamp_end"):
        index.pack_entry(_info(1)._replace(timestamp_end=1 << 64), 0, 72)


def test_write_entries_is_one_write_of_the_entries_at_their_offsets(tmp_path: Path) -> None:
    path = tmp_path / "chan_0.idx"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    index_file = index.IndexFile(fd, "chan_0.idx", major=1, minor=0)
    index_file.write_entries([])
    index_file.write_entries([(_info(n), 100 * n) for n in range(3)])
    index_file.close()
    entries = index.parse_index_file(path.read_bytes()).entries
    assert [e.offset for e in entries] == [0, 100, 200]
    assert [e.packet_seq_num for e in entries] == [0, 0, 0]  # cut by format 1.0
    assert [e.stream_id for e in entries] == [3, 3, 3]
    assert [e.timestamp_end for e in entries] == [_entry(n).timestamp_end for n in range(3)]


def test_parse_index_1_0_pads_missing_fields_with_zero() -> None:
    data = index.file_header(1, 0) + _entry(1).pack(56)
    (entry,) = index.parse_index_file(data).entries
    assert entry.stream_id == 3
    assert (entry.stream_instance_id, entry.packet_seq_num) == (0, 0)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * 8,  # truncated header
        struct.pack(">IIII", 0xDEADBEEF, 1, 1, 72),  # bad magic
        struct.pack(">IIII", 0xC1F1DCC1, 1, 1, 80),  # entries larger than the struct
        struct.pack(">IIII", 0xC1F1DCC1, 1, 1, 0),
        index.file_header() + b"\x00" * 71,  # truncated entry
    ],
)
def test_parse_rejects_malformed_files(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        index.parse_index_file(data)


def test_a_failed_header_write_closes_the_file(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "ro.idx", os.O_RDONLY | os.O_CREAT, 0o600)
    with pytest.raises(OutputError) as info:
        index.IndexFile(fd, "ro.idx")
    assert info.value.errno is not None
    with pytest.raises(OSError):
        os.fstat(fd)  # closed by IndexFile
