"""The shm references of a stream, checked before the pure reader trusts them.

``StreamReader`` resolves every ``DECLARE_SHMP`` reference of the ring buffer
(``shmp_index``/``shmp`` of src/common/ringbuffer/shm.h @ lttng-ust v2.13.5: an
object index and an offset) and refuses a stream file whose references point
to another shm object, out of the object, or disagree with the crash-ABI
record. Each reference of a library-made stream is corrupted in turn; the error
must name it, the file and where it lies.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator

import pytest

from ustref.errors import LayoutError
from ustref.ring import layout
from ustref.ring.libustctl import OracleChannel
from ustref.ring.reader import StreamReader
from ustref.ring.shm import ShmMapping

BACKEND = layout.RingBuffer.backend.offset
SIZES = {
    "commit_hot": layout.c_sizeof(layout.CommitCountersHot),
    "commit_cold": layout.c_sizeof(layout.CommitCountersCold),
    "ts_end": 8,
    "backend.buf_wsb": layout.c_sizeof(layout.BackendSubbuffer),
    "backend.buf_cnt": layout.c_sizeof(layout.BackendCounts),
    "backend.array": layout.c_sizeof(layout.ShmRef),
}
FIELDS = {
    "commit_hot": layout.RingBuffer.commit_hot.offset,
    "commit_cold": layout.RingBuffer.commit_cold.offset,
    "ts_end": layout.RingBuffer.ts_end.offset,
    "backend.buf_wsb": BACKEND + layout.Backend.buf_wsb.offset,
    "backend.buf_cnt": BACKEND + layout.Backend.buf_cnt.offset,
    "backend.array": BACKEND + layout.Backend.array.offset,
    "backend.memory_map": BACKEND + layout.Backend.memory_map.offset,
}


class Image:
    def __init__(self, data: bytes) -> None:
        self.fd = os.memfd_create("stream-tables")
        os.write(self.fd, data)
        self.size = len(data)

    def i64(self, offset: int) -> int:
        value: int = struct.unpack("<q", os.pread(self.fd, 8, offset))[0]
        return value

    def put(self, offset: int, value: int) -> None:
        os.pwrite(self.fd, struct.pack("<q", value), offset)

    def open(self) -> StreamReader:
        return StreamReader(ShmMapping(self.fd, source="tables", writable=False))

    def rejects(self, *words: str, offset: int | None) -> None:
        with pytest.raises(LayoutError) as caught:
            self.open()
        for word in words:
            assert word in caught.value.reason, (word, caught.value.reason)
        assert caught.value.source == "tables"
        assert caught.value.offset == offset


@pytest.fixture(params=[False, True], ids=["discard", "overwrite"])
def image(
    request: pytest.FixtureRequest, oracle_channel: Callable[..., OracleChannel]
) -> Iterator[Image]:
    channel = oracle_channel(overwrite=request.param, subbuf_size=4096, num_subbuf=4)
    stream = channel.create_stream(0)
    made = Image(os.pread(stream.shm_fd, os.fstat(stream.shm_fd).st_size, 0))
    yield made
    os.close(made.fd)


def test_library_stream_resolves(image: Image) -> None:
    reader = image.open()
    assert reader.tables.object_index == image.i64(layout.RingBuffer.self.offset)
    assert len(reader.tables.pages) == reader.geometry.num_subbuf_alloc
    reader.close()


@pytest.mark.parametrize(("index", "offset"), [(0, 0), (1, 8)])
def test_self_reference(image: Image, index: int, offset: int) -> None:
    image.put(layout.RingBuffer.self.offset, index)
    image.put(layout.RingBuffer.self.offset + 8, offset)
    image.rejects(
        f"buffer self reference is ({index}, {offset}), expected (>=1, 0)",
        offset=layout.RingBuffer.self.offset,
    )


@pytest.mark.parametrize("name", FIELDS)
def test_reference_to_another_object(image: Image, name: str) -> None:
    me = image.i64(layout.RingBuffer.self.offset)
    image.put(FIELDS[name], me + 1)
    image.rejects(
        f"{name} refers to shm object {me + 1}, the stream is object {me}",
        offset=FIELDS[name],
    )


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("where", ["negative", "past the end"])
def test_reference_out_of_the_object(image: Image, name: str, where: str) -> None:
    image.put(FIELDS[name] + 8, -8 if where == "negative" else image.size)
    image.rejects(f"{name} table (", f"exceeds the {image.size}-byte object", offset=FIELDS[name])


@pytest.mark.parametrize("name", ["commit_cold", "ts_end", "backend.buf_cnt"])
def test_a_table_may_end_exactly_at_the_end_of_the_object(image: Image, name: str) -> None:
    count = 4
    image.put(FIELDS[name] + 8, image.size - SIZES[name] * count)
    image.open().close()
    # One word past the end: aligned, so the bounds check (not the alignment check) speaks.
    image.put(FIELDS[name] + 8, image.size - SIZES[name] * count + 8)
    image.rejects(f"{name} table ({count} x {SIZES[name]} bytes at", offset=FIELDS[name])


@pytest.mark.parametrize(
    ("table", "name"),
    [
        ("commit_hot_array", "commit_hot"),
        ("buf_wsb_array", "backend.buf_wsb"),
        ("sb_array", "backend.array"),
    ],
)
def test_tables_must_be_where_the_crash_record_says(image: Image, table: str, name: str) -> None:
    mine = image.i64(FIELDS[name] + 8)
    image.put(FIELDS[name] + 8, mine + 8)
    image.rejects(
        f"crash ABI offset.{table} is {mine:#x}, the buffer's reference is {mine + 8:#x}",
        offset=None,
    )


def test_backend_pages_references(image: Image) -> None:
    array = image.i64(FIELDS["backend.array"] + 8)
    last = image.open().geometry.num_subbuf_alloc - 1
    entry = array + last * layout.c_sizeof(layout.ShmRef)
    page = image.i64(entry + 8)
    me = image.i64(layout.RingBuffer.self.offset)
    image.put(entry, me + 2)
    image.rejects(f"backend.array[{last}].shmp refers to shm object {me + 2}", offset=entry)
    image.put(entry, me)
    p_ref = page + layout.BackendPages.p.offset
    image.put(p_ref, me + 3)
    image.rejects(f"backend pages[{last}].p refers to shm object {me + 3}", offset=p_ref)
    image.put(p_ref, me)
    mmap_at = page + layout.BackendPages.mmap_offset.offset
    mmap_offset = image.i64(mmap_at)
    p = image.i64(p_ref + 8)
    image.put(mmap_at, mmap_offset + 4096)
    image.rejects(
        f"backend pages[{last}]: mmap_offset {mmap_offset + 4096:#x} and p {p:#x} disagree",
        offset=page,
    )
