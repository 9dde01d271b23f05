"""The crash-ABI record checks, field by field, on a record the library wrote.

``read_crash_record`` is the pure reader's first line of defence against a
stream file that is not what lttng-ust 2.13.5 writes: every field it checks is
corrupted here in turn, and the error must name the field, the file and the
offset of the bad value. Limits are probed on both sides (a sub-buffer count of
1 is a power of two; a table may end exactly at ``mmap_length``).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterator

import pytest

from ustref.errors import LayoutError
from ustref.ring import layout
from ustref.ring.crash import Geometry, read_crash_record
from ustref.ring.libustctl import OracleChannel
from ustref.ring.shm import ShmMapping

BASE = layout.RingBuffer.crash_abi.offset
OFFSETS_AT = BASE + layout.CrashAbi.offset.offset


def at(dotted: str) -> tuple[int, int]:
    """(absolute offset, size) of crash-ABI member ``dotted``."""
    offset = BASE + layout.field_offset(layout.CrashAbi, dotted)
    cls: object = layout.CrashAbi
    for part in dotted.split("."):
        cls = dict(cls._fields_)[part]  # type: ignore[attr-defined]
    return offset, ctypes.sizeof(cls)  # type: ignore[arg-type]


class Stream:
    """A private copy of a library-made stream file, to corrupt at will."""

    def __init__(self, image: bytes) -> None:
        self.fd = os.memfd_create("crash-record")
        os.write(self.fd, image)

    def get(self, dotted: str) -> int:
        offset, size = at(dotted)
        return int.from_bytes(os.pread(self.fd, size, offset), "little")

    def set(self, dotted: str, value: int) -> None:
        offset, size = at(dotted)
        os.pwrite(self.fd, (value % (1 << (8 * size))).to_bytes(size, "little"), offset)

    def read(self) -> object:
        with ShmMapping(self.fd, source="corrupted", writable=False) as mapping:
            return read_crash_record(mapping)

    def rejects(self, *words: str, offset: int | None) -> LayoutError:
        with pytest.raises(LayoutError) as caught:
            self.read()
        error = caught.value
        for word in words:
            assert word in error.reason, (word, error.reason)
        assert error.source == "corrupted"
        assert error.offset == offset
        return error


@pytest.fixture(params=[False, True], ids=["discard", "overwrite"])
def stream(
    request: pytest.FixtureRequest, oracle_channel: Callable[..., OracleChannel]
) -> Iterator[Stream]:
    channel = oracle_channel(overwrite=request.param, subbuf_size=4096, num_subbuf=4)
    made = channel.create_stream(0)
    image = os.pread(made.shm_fd, os.fstat(made.shm_fd).st_size, 0)
    copy = Stream(image)
    yield copy
    os.close(copy.fd)


def test_the_library_record_is_accepted(stream: Stream) -> None:
    record = stream.read()
    assert record.word_size == 8  # type: ignore[attr-defined]
    assert record.geometry.num_subbuf == 4  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("endian", "endian"),
        ("layout_type", "layout_type"),
        ("major", "major"),
        ("minor", "minor"),
        ("word_size", "word_size"),
    ],
)
def test_header_fields_are_checked_at_their_offset(stream: Stream, field: str, name: str) -> None:
    stream.set(field, stream.get(field) + 1)
    error = stream.rejects(f"crash ABI {name} is", "lttng-ust 2.13.5", offset=at(field)[0] - BASE)
    assert str(stream.get(field)) in error.reason


@pytest.mark.parametrize(
    "field",
    [
        "offset.prod_offset",
        "offset.consumed_offset",
        "offset.commit_hot_seq",
        "offset.buf_wsb_id",
        "offset.sb_array_shmp_offset",
        "offset.sb_backend_p_offset",
        "length.prod_offset",
        "length.consumed_offset",
        "length.commit_hot_seq",
        "length.buf_wsb_id",
        "stride.commit_hot_array",
        "stride.buf_wsb_array",
        "stride.sb_array",
    ],
)
def test_layout_fields_are_checked_against_the_mirrors(stream: Stream, field: str) -> None:
    stream.set(field, stream.get(field) + 8)
    stream.rejects(f"crash ABI {field} is", offset=layout.CrashAbi.offset.offset)


def test_magic(stream: Stream) -> None:
    stream.set("magic", 0)
    error = stream.rejects("crash-ABI magic", offset=None)
    assert error.reason == "no lttng-ust crash-ABI magic: not a ring-buffer stream"


def test_truncated_files(stream: Stream) -> None:
    length = stream.get("mmap_length")
    stream.set("mmap_length", length + 1)
    stream.rejects(f"announces {length + 1} bytes", f"the file has {length}", offset=None)
    os.ftruncate(stream.fd, layout.CRASH_DUMP_ABI_LEN - 1)
    stream.rejects("truncated", f"{layout.CRASH_DUMP_ABI_LEN - 1} bytes", offset=None)


def test_a_file_of_exactly_the_record_length_is_read_up_to_mmap_length(stream: Stream) -> None:
    os.ftruncate(stream.fd, layout.CRASH_DUMP_ABI_LEN)
    # not "shorter than the record": the announced length is what is missing
    stream.rejects("announces", offset=None)


def test_mode(stream: Stream) -> None:
    stream.set("mode", 2)
    stream.rejects("crash ABI mode 2 is neither", offset=layout.CrashAbi.mode.offset)


@pytest.mark.parametrize("size", [0, 2048, 4096 + 512, 3 * 4096])
def test_subbuf_size(stream: Stream, size: int) -> None:
    stream.set("subbuf_size", size)
    stream.rejects(f"sub-buffer size {size} is not", offset=layout.CrashAbi.subbuf_size.offset)


@pytest.mark.parametrize("count", [0, 3, 5])
def test_num_subbuf_not_a_power_of_two(stream: Stream, count: int) -> None:
    stream.set("num_subbuf", count)
    stream.rejects(f"sub-buffer count {count} is not", offset=layout.CrashAbi.num_subbuf.offset)


def test_one_sub_buffer_is_a_power_of_two_but_not_enough_to_overwrite(stream: Stream) -> None:
    overwrite = stream.get("mode") == layout.RING_BUFFER_OVERWRITE
    stream.set("num_subbuf", 1)
    stream.set("buf_size", stream.get("subbuf_size"))
    if overwrite:
        stream.rejects("sub-buffer count 1", offset=layout.CrashAbi.num_subbuf.offset)
    else:
        record = stream.read()
        assert record.geometry.num_subbuf == 1  # type: ignore[attr-defined]


def test_buf_size(stream: Stream) -> None:
    stream.set("buf_size", stream.get("buf_size") * 2)
    stream.rejects("is not 4 x 4096", offset=layout.CrashAbi.buf_size.offset)


@pytest.mark.parametrize("table", ["commit_hot_array", "buf_wsb_array", "sb_array"])
def test_tables_must_lie_inside_the_object(stream: Stream, table: str) -> None:
    overwrite = stream.get("mode") == layout.RING_BUFFER_OVERWRITE
    count = 4 + (overwrite and table == "sb_array")
    stride = stream.get(f"stride.{table}")
    length = stream.get("mmap_length")
    # ending exactly at mmap_length is inside
    stream.set(f"offset.{table}", length - stride * count)
    stream.read()
    # one byte further is not
    stream.set(f"offset.{table}", length - stride * count + 1)
    stream.rejects(
        f"crash ABI offset.{table}",
        f"{count} x {stride} bytes",
        f"outside the {length}-byte object",
        offset=layout.CrashAbi.offset.offset,
    )
    # nor is a table inside the ring-buffer struct itself
    stream.set(f"offset.{table}", layout.c_sizeof(layout.RingBuffer) - 1)
    stream.rejects(f"crash ABI offset.{table}", offset=layout.CrashAbi.offset.offset)


def test_geometry_helpers() -> None:
    """frontend_internal.h's offset helpers on offsets that are not aligned."""
    geo = Geometry(
        buf_size=4 * 4096, subbuf_size=4096, num_subbuf=4, mode=layout.RING_BUFFER_DISCARD
    )
    offset = 5 * 4096 + 3
    assert geo.buf_offset(offset) == 4096 + 3
    assert geo.buf_trunc(offset) == 4 * 4096
    assert geo.buf_trunc_val(offset) == 1
    assert geo.subbuf_offset(offset) == 3
    assert geo.subbuf_trunc(offset) == 5 * 4096
    assert geo.subbuf_align(offset) == 6 * 4096
    assert geo.subbuf_index(offset) == 1
    assert (geo.subbuf_size_order, geo.num_subbuf_order, geo.buf_size_order) == (12, 2, 14)
    assert geo.commit_count_mask == (1 << 62) - 1
    assert not geo.overwrite and geo.num_subbuf_alloc == 4
    over = Geometry(
        buf_size=2 * 8192, subbuf_size=8192, num_subbuf=2, mode=layout.RING_BUFFER_OVERWRITE
    )
    assert over.overwrite and over.extra_reader_sb and over.num_subbuf_alloc == 3
