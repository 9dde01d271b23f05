"""The crash-ABI record at the start of every stream's shm object, and the geometry it gives.

Mirrors ``struct lttng_crash_abi`` as written by ``init_crash_abi()``
(src/common/ringbuffer/ring_buffer_frontend.c @ lttng-ust v2.13.5) and read
by ``get_crash_layout()`` (src/bin/lttng-crash/lttng-crash.c @ lttng-tools
v2.13.9). The record makes a stream file self-describing: buffer and
sub-buffer sizes, mode, and where the positions and tables live. The channel
object (which holds the same sizes in ``struct channel_backend``) is not part
of a stream file, so the pure reader takes its geometry from here, and checks
every offset the record announces against the ctypes mirrors of
:mod:`ustref.ring.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ustref.errors import LayoutError
from ustref.ids import U64_MAX
from ustref.ring import layout
from ustref.ring.shm import ShmMapping


def _order(value: int) -> int:
    """``get_count_order()`` of a power of two (backend_internal.h)."""
    return value.bit_length() - 1


def _is_pow2(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@dataclass(frozen=True)
class Geometry:
    """The ``struct channel_backend`` sizes a stream needs, and the offset helpers of
    src/common/ringbuffer/frontend_internal.h @ v2.13.5 (``buf_trunc``, ``subbuf_index``…).

    Derived values (orders, masks) are computed once, like the fields
    ``channel_backend_init()`` and ``channel_create()`` store."""

    buf_size: int
    subbuf_size: int
    num_subbuf: int
    mode: int

    @cached_property
    def subbuf_size_order(self) -> int:
        return _order(self.subbuf_size)

    @cached_property
    def num_subbuf_order(self) -> int:
        return _order(self.num_subbuf)

    @cached_property
    def buf_size_order(self) -> int:
        return _order(self.buf_size)

    @cached_property
    def overwrite(self) -> bool:
        return self.mode == layout.RING_BUFFER_OVERWRITE

    @cached_property
    def extra_reader_sb(self) -> bool:
        """``channel_backend.extra_reader_sb``: overwrite mode keeps a spare reader sub-buffer."""
        return self.overwrite

    @cached_property
    def num_subbuf_alloc(self) -> int:
        return self.num_subbuf + (1 if self.extra_reader_sb else 0)

    @cached_property
    def commit_count_mask(self) -> int:
        """``chan->commit_count_mask = ~0UL >> num_subbuf_order`` (channel_create())."""
        return U64_MAX >> self.num_subbuf_order

    def buf_trunc(self, offset: int) -> int:
        return offset & ~(self.buf_size - 1) & U64_MAX

    def buf_trunc_val(self, offset: int) -> int:
        return self.buf_trunc(offset) >> self.buf_size_order

    def buf_offset(self, offset: int) -> int:
        return offset & (self.buf_size - 1)

    def subbuf_offset(self, offset: int) -> int:
        return offset & (self.subbuf_size - 1)

    def subbuf_trunc(self, offset: int) -> int:
        return offset & ~(self.subbuf_size - 1) & U64_MAX

    def subbuf_align(self, offset: int) -> int:
        return (offset + self.subbuf_size) & ~(self.subbuf_size - 1) & U64_MAX

    def subbuf_index(self, offset: int) -> int:
        return self.buf_offset(offset) >> self.subbuf_size_order


@dataclass(frozen=True, slots=True)
class CrashRecord:
    """The decoded ``struct lttng_crash_abi`` of one stream file."""

    mmap_length: int
    word_size: int
    geometry: Geometry
    content_size_offset: int
    content_size_length: int
    packet_size_offset: int
    packet_size_length: int
    commit_hot_array: int
    buf_wsb_array: int
    sb_array: int


def _expect(mapping: ShmMapping, what: str, found: int, expected: int, offset: int) -> None:
    if found != expected:
        raise LayoutError(
            f"crash ABI {what} is {found}, lttng-ust 2.13.5 x86_64 has {expected}",
            source=mapping.source,
            offset=offset,
        )


def read_crash_record(mapping: ShmMapping) -> CrashRecord:
    """Decode and check the crash-ABI record at offset 0 of ``mapping``."""
    src = mapping.source
    base = layout.RingBuffer.crash_abi.offset
    if mapping.size < layout.CRASH_DUMP_ABI_LEN:
        raise LayoutError(
            f"truncated: {mapping.size} bytes, shorter than the "
            f"{layout.CRASH_DUMP_ABI_LEN}-byte crash-ABI record",
            source=src,
        )
    raw = mapping.read_bytes(base, layout.c_sizeof(layout.CrashAbi))
    abi = layout.CrashAbi.from_buffer_copy(raw)
    if bytes(abi.magic) != layout.CRASH_DUMP_ABI_MAGIC:
        raise LayoutError("no lttng-ust crash-ABI magic: not a ring-buffer stream", source=src)
    _expect(mapping, "endian", abi.endian, layout.CRASH_ENDIAN, layout.CrashAbi.endian.offset)
    layout_type_at = layout.CrashAbi.layout_type.offset
    _expect(mapping, "layout_type", abi.layout_type, layout.LTTNG_CRASH_TYPE_UST, layout_type_at)
    _expect(mapping, "major", abi.major, layout.CRASH_DUMP_ABI_MAJOR, layout.CrashAbi.major.offset)
    _expect(mapping, "minor", abi.minor, layout.CRASH_DUMP_ABI_MINOR, layout.CrashAbi.minor.offset)
    _expect(mapping, "word_size", abi.word_size, 8, layout.CrashAbi.word_size.offset)
    off = layout.CrashAbi.offset.offset
    checks = (
        ("offset.prod_offset", abi.offset.prod_offset, layout.RingBuffer.offset.offset),
        ("offset.consumed_offset", abi.offset.consumed_offset, layout.RingBuffer.consumed.offset),
        ("offset.commit_hot_seq", abi.offset.commit_hot_seq, layout.CommitCountersHot.seq.offset),
        ("offset.buf_wsb_id", abi.offset.buf_wsb_id, layout.BackendSubbuffer.id.offset),
        (
            "offset.sb_array_shmp_offset",
            abi.offset.sb_array_shmp_offset,
            layout.field_offset(layout.BackendPagesShmp, "shmp._ref.offset"),
        ),
        (
            "offset.sb_backend_p_offset",
            abi.offset.sb_backend_p_offset,
            layout.field_offset(layout.BackendPages, "p._ref.offset"),
        ),
        ("length.prod_offset", abi.length.prod_offset, 8),
        ("length.consumed_offset", abi.length.consumed_offset, 8),
        ("length.commit_hot_seq", abi.length.commit_hot_seq, 8),
        ("length.buf_wsb_id", abi.length.buf_wsb_id, 8),
        (
            "stride.commit_hot_array",
            abi.stride.commit_hot_array,
            layout.c_sizeof(layout.CommitCountersHot),
        ),
        (
            "stride.buf_wsb_array",
            abi.stride.buf_wsb_array,
            layout.c_sizeof(layout.BackendSubbuffer),
        ),
        ("stride.sb_array", abi.stride.sb_array, layout.c_sizeof(layout.BackendPagesShmp)),
    )
    for what, found, expected in checks:
        _expect(mapping, what, found, expected, off)
    if abi.mmap_length > mapping.size:
        raise LayoutError(
            f"truncated: the crash ABI announces {abi.mmap_length} bytes, "
            f"the file has {mapping.size}",
            source=src,
        )
    if abi.mode not in (layout.RING_BUFFER_OVERWRITE, layout.RING_BUFFER_DISCARD):
        raise LayoutError(f"crash ABI mode {abi.mode} is neither overwrite (0) nor discard (1)",
                          source=src, offset=layout.CrashAbi.mode.offset)  # fmt: skip
    if not _is_pow2(abi.subbuf_size) or abi.subbuf_size < 4096:
        raise LayoutError(
            f"sub-buffer size {abi.subbuf_size} is not a power of two of at least a page",
            source=src,
            offset=layout.CrashAbi.subbuf_size.offset,
        )
    if not _is_pow2(abi.num_subbuf) or (
        abi.mode == layout.RING_BUFFER_OVERWRITE and abi.num_subbuf < 2
    ):
        raise LayoutError(
            f"sub-buffer count {abi.num_subbuf} is not a power of two (at least 2 in overwrite)",
            source=src,
            offset=layout.CrashAbi.num_subbuf.offset,
        )
    if abi.buf_size != abi.subbuf_size * abi.num_subbuf:
        raise LayoutError(
            f"buffer size {abi.buf_size} is not {abi.num_subbuf} x {abi.subbuf_size}",
            source=src,
            offset=layout.CrashAbi.buf_size.offset,
        )
    for what, array, stride, count in (
        ("commit_hot_array", abi.offset.commit_hot_array, abi.stride.commit_hot_array,
         abi.num_subbuf),
        ("buf_wsb_array", abi.offset.buf_wsb_array, abi.stride.buf_wsb_array, abi.num_subbuf),
        ("sb_array", abi.offset.sb_array, abi.stride.sb_array,
         abi.num_subbuf + (abi.mode == layout.RING_BUFFER_OVERWRITE)),
    ):  # fmt: skip
        if array + stride * count > abi.mmap_length or array < layout.c_sizeof(layout.RingBuffer):
            raise LayoutError(
                f"crash ABI offset.{what} ({array:#x}, {count} x {stride} bytes) "
                f"lies outside the {abi.mmap_length}-byte object",
                source=src,
                offset=off,
            )
    geometry = Geometry(abi.buf_size, abi.subbuf_size, abi.num_subbuf, abi.mode)
    return CrashRecord(
        mmap_length=abi.mmap_length,
        word_size=abi.word_size,
        geometry=geometry,
        content_size_offset=abi.offset.content_size,
        content_size_length=abi.length.content_size,
        packet_size_offset=abi.offset.packet_size,
        packet_size_length=abi.length.packet_size,
        commit_hot_array=abi.offset.commit_hot_array,
        buf_wsb_array=abi.offset.buf_wsb_array,
        sb_array=abi.offset.sb_array,
    )
