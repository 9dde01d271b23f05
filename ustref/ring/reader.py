"""Pure-Python consumer side of one lttng-ust v2.13.5 ring-buffer stream.

:class:`StreamReader` mirrors, on a stream's shm object alone, the reader
functions of src/common/ringbuffer/ring_buffer_frontend.c @ v2.13.5
(``lib_ring_buffer_open_read``, ``_snapshot``, ``_snapshot_sample_positions``,
``_get_subbuf``, ``_put_subbuf``, ``_move_consumer``, ``_switch_slow``), the
inline helpers of frontend.h, frontend_internal.h and backend_internal.h
(``lib_ring_buffer_get_next_subbuf``, ``update_read_sb_index`` …) and the
``lttng_ust_ctl_*`` stream getters of src/lib/lttng-ust-ctl/ustctl.c that
lttng-tools' consumer calls. The shared state it changes (``consumed``, the
reader sub-buffer id, the snapshot positions, ``get_subbuf``) is the same the
C library changes, at the same offsets, so the two can take turns on a
stream.

Status codes follow the C functions: :attr:`Status.OK`, :attr:`Status.AGAIN`
(``-EAGAIN``: no sub-buffer ready yet) and :attr:`Status.NODATA`
(``-ENODATA``: finalized and drained).

Retry policy: when ``lib_ring_buffer_get_subbuf()`` meets a sub-buffer that is
reserved but not yet committed, or loses the id exchange to a writer, it
retries up to ``LTTNG_UST_RING_BUFFER_GET_RETRY`` (10) times and sleeps
``LTTNG_UST_RING_BUFFER_RETRY_DELAY_MS`` (10 ms) before each of the last 6
(``nr_retry-- > 0`` then ``nr_retry <= 10 >> 1``: 5, 4, … 0). This
reader retries as often but does not sleep unless ``retry_delay_s`` is set:
a consumer loop that gets :attr:`Status.AGAIN` goes back to ``poll()``.

Fast path: positions, counters and sub-buffer ids are read and the reader's
own words written by indexing the mapping's typed view
(:attr:`~ustref.ring.shm.ShmMapping.words`, one aligned 8-byte load or store
each, see :mod:`ustref.ring.shm` for why that is what the C code does on
x86-64); only the read-modify-write operations (moving ``consumed``,
exchanging ids, adding to ``records_read``) call libatomic.
:meth:`StreamReader.get_next_subbufs` takes every consecutive ready
sub-buffer at once, as views of the mapping, and
:meth:`StreamReader.put_next_subbufs` gives them back with one move of
``consumed``: the batch counterpart of ``get_next_subbuf``/``put_next_subbuf``
that :mod:`ustref.ring.drain` builds the consumer's data path on.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import time
from dataclasses import dataclass
from typing import NamedTuple

from ustref.errors import LayoutError, LocalProtocolError, UstrefError
from ustref.ids import U64_MAX
from ustref.ring import layout, packet
from ustref.ring.crash import CrashRecord, Geometry, read_crash_record
from ustref.ring.shm import PAGE_SIZE, PLAIN_WORD_ACCESS_IS_ATOMIC, ShmMapping, write_views

GET_RETRY = 10  # LTTNG_UST_RING_BUFFER_GET_RETRY
_SIGN = 1 << 63
_U32 = 0xFFFF_FFFF
_PAGE_MASK = ~(PAGE_SIZE - 1)


class Status(enum.IntEnum):
    """Return codes of the reader functions (negated errno, as in C)."""

    OK = 0
    AGAIN = -errno.EAGAIN
    NODATA = -errno.ENODATA


def _negative(value: int) -> bool:
    """``(long) value < 0`` for a 64-bit unsigned difference."""
    return bool((value & U64_MAX) & _SIGN)


def page_align(value: int) -> int:
    """``LTTNG_UST_PAGE_ALIGN()``."""
    return (value + PAGE_SIZE - 1) & _PAGE_MASK


# offsets within struct lttng_ust_ring_buffer (from the ctypes mirror)
_OFF_OFFSET = layout.RingBuffer.offset.offset
_OFF_CONSUMED = layout.RingBuffer.consumed.offset
_OFF_LAST_TSC = layout.RingBuffer.last_tsc.offset
_OFF_FINALIZED = layout.RingBuffer.finalized.offset
_OFF_ACTIVE_READERS = layout.RingBuffer.active_readers.offset
_OFF_GET_SUBBUF_CONSUMED = layout.RingBuffer.get_subbuf_consumed.offset
_OFF_PROD_SNAPSHOT = layout.RingBuffer.prod_snapshot.offset
_OFF_CONS_SNAPSHOT = layout.RingBuffer.cons_snapshot.offset
_OFF_GET_SUBBUF = layout.RingBuffer.get_subbuf.offset
_OFF_RECORDS_LOST_FULL = layout.RingBuffer.records_lost_full.offset
_OFF_RECORDS_LOST_WRAP = layout.RingBuffer.records_lost_wrap.offset
_OFF_RECORDS_LOST_BIG = layout.RingBuffer.records_lost_big.offset
_OFF_BACKEND = layout.RingBuffer.backend.offset
_OFF_RSB_ID = _OFF_BACKEND + layout.field_offset(layout.Backend, "buf_rsb.id")
_OFF_RECORDS_READ = _OFF_BACKEND + layout.Backend.records_read.offset
_OFF_CPU = _OFF_BACKEND + layout.Backend.cpu.offset
_HOT_STRIDE = layout.c_sizeof(layout.CommitCountersHot)
_HOT_CC = layout.CommitCountersHot.cc.offset
_HOT_SEQ = layout.CommitCountersHot.seq.offset
_COLD_STRIDE = layout.c_sizeof(layout.CommitCountersCold)
_COLD_CC_SB = layout.CommitCountersCold.cc_sb.offset
_PAGES_SIZE = layout.c_sizeof(layout.BackendPages)
_PAGES_MMAP_OFFSET = layout.BackendPages.mmap_offset.offset
_PAGES_RECORDS_UNREAD = layout.BackendPages.records_unread.offset
_PAGES_DATA_SIZE = layout.BackendPages.data_size.offset
_PAGES_P = layout.BackendPages.p.offset
_WSB_STRIDE = layout.c_sizeof(layout.BackendSubbuffer)
_CNT_STRIDE = layout.c_sizeof(layout.BackendCounts)
_REF_SIZE = layout.c_sizeof(layout.ShmRef)


def _word(offset: int) -> int:
    """Index in :attr:`ShmMapping.words` of the aligned word at byte ``offset``."""
    if offset & 7:
        raise LayoutError(f"word at {offset:#x} is not 8-byte aligned")
    return offset >> 3


# the same, as indices of ShmMapping.words (the int-sized finalized is the low
# half of its word: little-endian)
_W_OFFSET = _word(_OFF_OFFSET)
_W_CONSUMED = _word(_OFF_CONSUMED)
_W_FINALIZED = _word(_OFF_FINALIZED)
_W_GET_SUBBUF_CONSUMED = _word(_OFF_GET_SUBBUF_CONSUMED)
_W_PROD_SNAPSHOT = _word(_OFF_PROD_SNAPSHOT)
_W_CONS_SNAPSHOT = _word(_OFF_CONS_SNAPSHOT)
_W_RSB_ID = _word(_OFF_RSB_ID)


class Subbuffer(NamedTuple):
    """One sub-buffer taken for reading: what the C consumer's ``struct stream_subbuffer``
    holds after ``get_next_subbuffer_common()`` (consumer.h, ust-consumer.c @ v2.13.9):
    ``info.data.subbuf_size``, ``padded_subbuf_size`` and ``buffer.buffer``, the view
    of the padded bytes in the mapping.

    The view is only valid until the sub-buffer is put back: the writer may
    then reuse the memory (:mod:`ustref.ring.drain` releases it).
    """

    #: the consumed position it was taken at (``buf->get_subbuf_consumed``)
    position: int
    #: ``lttng_ust_ctl_get_subbuf_size()``: bytes of packet data
    subbuf_size: int
    #: ``lttng_ust_ctl_get_padded_subbuf_size()``: data size rounded up to a page
    padded_subbuf_size: int
    #: the ``padded_subbuf_size`` bytes, a slice of :attr:`ShmMapping.octets`
    view: memoryview


@dataclass(frozen=True, slots=True)
class StreamTables:
    """Where the per-stream tables live in the shm object (resolved ``DECLARE_SHMP`` refs).

    Resolved once, bounds-checked like ``_shmp_offset()`` (shm.h @ v2.13.5).
    """

    object_index: int
    commit_hot: int
    commit_cold: int
    ts_end: int
    buf_wsb: int
    buf_cnt: int
    array: int
    memory_map: int
    #: per backend-pages index: offset of its ``struct lttng_ust_ring_buffer_backend_pages``
    pages: tuple[int, ...]
    #: per backend-pages index: offset of its sub-buffer bytes (``pages->p``)
    data: tuple[int, ...]


def _resolve_tables(mapping: ShmMapping, geo: Geometry, crash: CrashRecord) -> StreamTables:
    src = mapping.source
    size = mapping.size
    self_index = mapping.read_i64(layout.RingBuffer.self.offset)
    self_offset = mapping.read_i64(layout.RingBuffer.self.offset + 8)
    if self_offset != 0 or self_index < 1:
        raise LayoutError(
            f"buffer self reference is ({self_index}, {self_offset}), expected (>=1, 0)",
            source=src,
            offset=layout.RingBuffer.self.offset,
        )

    def ref(field_offset: int, name: str, elem_size: int, count: int) -> int:
        index = mapping.read_i64(field_offset)
        offset = mapping.read_i64(field_offset + 8)
        if index != self_index:
            raise LayoutError(
                f"{name} refers to shm object {index}, the stream is object {self_index}",
                source=src,
                offset=field_offset,
            )
        if offset & 7:
            raise LayoutError(
                f"{name} table at {offset:#x} is not 8-byte aligned",
                source=src,
                offset=field_offset,
            )
        if offset < 0 or offset + elem_size * count > size:
            raise LayoutError(
                f"{name} table ({count} x {elem_size} bytes at {offset:#x}) "
                f"exceeds the {size}-byte object",
                source=src,
                offset=field_offset,
            )
        return offset

    n = geo.num_subbuf
    n_alloc = geo.num_subbuf_alloc
    backend = _OFF_BACKEND
    commit_hot = ref(layout.RingBuffer.commit_hot.offset, "commit_hot", _HOT_STRIDE, n)
    commit_cold = ref(layout.RingBuffer.commit_cold.offset, "commit_cold", _COLD_STRIDE, n)
    ts_end = ref(layout.RingBuffer.ts_end.offset, "ts_end", 8, n)
    buf_wsb = ref(backend + layout.Backend.buf_wsb.offset, "backend.buf_wsb", _WSB_STRIDE, n)
    buf_cnt = ref(backend + layout.Backend.buf_cnt.offset, "backend.buf_cnt", _CNT_STRIDE, n)
    array = ref(backend + layout.Backend.array.offset, "backend.array", _REF_SIZE, n_alloc)
    memory_map = ref(
        backend + layout.Backend.memory_map.offset, "backend.memory_map", geo.subbuf_size, n_alloc
    )
    for what, mine, announced in (
        ("commit_hot_array", commit_hot, crash.commit_hot_array),
        ("buf_wsb_array", buf_wsb, crash.buf_wsb_array),
        ("sb_array", array, crash.sb_array),
    ):
        if mine != announced:
            raise LayoutError(
                f"crash ABI offset.{what} is {announced:#x}, the buffer's reference is {mine:#x}",
                source=src,
            )
    pages: list[int] = []
    data: list[int] = []
    for i in range(n_alloc):
        page = ref(array + i * _REF_SIZE, f"backend.array[{i}].shmp", _PAGES_SIZE, 1)
        p = ref(page + _PAGES_P, f"backend pages[{i}].p", geo.subbuf_size, 1)
        mmap_offset = mapping.read_u64(page + _PAGES_MMAP_OFFSET)
        if memory_map + mmap_offset != p:
            raise LayoutError(
                f"backend pages[{i}]: mmap_offset {mmap_offset:#x} and p {p:#x} disagree",
                source=src,
                offset=page,
            )
        pages.append(page)
        data.append(p)
    return StreamTables(
        object_index=self_index,
        commit_hot=commit_hot,
        commit_cold=commit_cold,
        ts_end=ts_end,
        buf_wsb=buf_wsb,
        buf_cnt=buf_cnt,
        array=array,
        memory_map=memory_map,
        pages=tuple(pages),
        data=tuple(data),
    )


class StreamReader:
    """Reads one stream of a UST channel the way lttng-tools' consumer does through
    liblttng-ust-ctl, in pure Python (mirrors ``struct lttng_ust_ctl_consumer_stream``
    and its functions, src/lib/lttng-ust-ctl/ustctl.c @ v2.13.5).

    ``identity`` gives the channel's uuid and stream class id (the consumer gets
    them with the channel); without it they are read from a packet header in
    the buffer. ``wakeup_fd``, when given, is written to after a flush
    delivers a sub-buffer, like ``lib_ring_buffer_wakeup()``.
    """

    def __init__(
        self,
        mapping: ShmMapping,
        *,
        identity: packet.ChannelIdentity | None = None,
        wakeup_fd: int | None = None,
        retry_delay_s: float = 0.0,
    ) -> None:
        self.mapping = mapping
        self.crash = read_crash_record(mapping)
        self.geometry = self.crash.geometry
        self.tables = _resolve_tables(mapping, self.geometry, self.crash)
        self.identity = identity or self._discover_identity()
        self.kind = self.identity.kind
        self.wakeup_fd = wakeup_fd
        self.retry_delay_s = retry_delay_s
        self._reading = False
        if not PLAIN_WORD_ACCESS_IS_ATOMIC:
            raise UstrefError(
                "the live reader relies on x86-64's untorn, ordered 8-byte loads and stores"
            )
        self._words = mapping.words
        self._octets = mapping.octets
        geo, tables = self.geometry, self.tables
        # word indices of the per-sub-buffer (idx) and per-backend-pages (bindex) fields
        self._cc_sb = tuple(
            _word(tables.commit_cold + i * _COLD_STRIDE + _COLD_CC_SB)
            for i in range(geo.num_subbuf)
        )
        self._wsb = tuple(_word(tables.buf_wsb + i * _WSB_STRIDE) for i in range(geo.num_subbuf))
        self._data_size = tuple(_word(page + _PAGES_DATA_SIZE) for page in tables.pages)
        self._unread = tuple(_word(page + _PAGES_RECORDS_UNREAD) for page in tables.pages)
        self._mmap_offset = tuple(_word(page + _PAGES_MMAP_OFFSET) for page in tables.pages)
        #: backend indices of the sub-buffers taken by get_next_subbufs(), until put
        self._held: tuple[int, ...] = ()

    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: object) -> StreamReader:
        """Open the ``--shm-path`` stream file ``path`` read-write."""
        mapping = ShmMapping.open_path(path)
        try:
            return cls(mapping, **kwargs)  # type: ignore[arg-type]
        except BaseException:
            mapping.close()
            raise

    @classmethod
    def from_fd(cls, shm_fd: int, *, source: str = "", **kwargs: object) -> StreamReader:
        """Map the stream shm fd ``shm_fd`` (duplicated; the caller keeps its own)."""
        mapping = ShmMapping(shm_fd, source=source or f"shm fd {shm_fd}")
        try:
            return cls(mapping, **kwargs)  # type: ignore[arg-type]
        except BaseException:
            mapping.close()
            raise

    def close(self) -> None:
        if self._reading:
            self.release_read()
        self.mapping.close()

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _discover_identity(self) -> packet.ChannelIdentity:
        for offset in self.tables.data:
            found = packet.identify(self.mapping, offset)
            if found is not None:
                return found
        raise LayoutError(
            "no sub-buffer starts with a CTF or TSDL packet magic: cannot tell the client",
            source=self.mapping.source,
        )

    # -- reader reference (lib_ring_buffer_open_read / release_read) --------------

    def open_read(self) -> None:
        """``lib_ring_buffer_open_read()``: become the one reader (``-EBUSY`` otherwise)."""
        if self.mapping.cas_ulong(_OFF_ACTIVE_READERS, 0, 1) != 0:
            raise LocalProtocolError(
                f"{self.mapping.source}: stream already has an active reader (EBUSY)"
            )
        self._reading = True

    def release_read(self) -> None:
        """``lib_ring_buffer_release_read()``."""
        m = self.mapping
        while True:
            cur = m.load_ulong(_OFF_ACTIVE_READERS)
            if m.cas_ulong(_OFF_ACTIVE_READERS, cur, cur - 1) == cur:
                break
        self._reading = False

    # -- positions ---------------------------------------------------------------

    def snapshot(self) -> Status:
        """``lttng_ust_ctl_snapshot()`` → ``lib_ring_buffer_snapshot()``."""
        m, w, geo = self.mapping, self._words, self.geometry
        m.check()
        finalized = w[_W_FINALIZED] & _U32
        consumed_cur = w[_W_CONSUMED]
        write_offset = w[_W_OFFSET]
        if geo.subbuf_trunc(write_offset) == geo.subbuf_trunc(consumed_cur):
            status = Status.NODATA if finalized else Status.AGAIN
        else:
            w[_W_CONS_SNAPSHOT] = consumed_cur
            w[_W_PROD_SNAPSHOT] = geo.subbuf_trunc(write_offset)
            status = Status.OK
        m.check()
        return status

    def snapshot_sample_positions(self) -> Status:
        """``lttng_ust_ctl_snapshot_sample_positions()``."""
        m, w = self.mapping, self._words
        m.check()
        w[_W_CONS_SNAPSHOT] = w[_W_CONSUMED]
        w[_W_PROD_SNAPSHOT] = w[_W_OFFSET]
        m.check()
        return Status.OK

    def _load(self, word: int) -> int:
        """One word of the mapping, raising if the mapping is closed or poisoned."""
        self.mapping.check()
        value: int = self._words[word]
        self.mapping.check()
        return value

    def snapshot_get_consumed(self) -> int:
        """``lttng_ust_ctl_snapshot_get_consumed()``."""
        return self._load(_W_CONS_SNAPSHOT)

    def snapshot_get_produced(self) -> int:
        """``lttng_ust_ctl_snapshot_get_produced()``."""
        return self._load(_W_PROD_SNAPSHOT)

    def consumed_position(self) -> int:
        """``lib_ring_buffer_get_consumed()``: the shared consumed count."""
        return self._load(_W_CONSUMED)

    def produced_position(self) -> int:
        """``lib_ring_buffer_get_offset()``: the shared write offset."""
        return self._load(_W_OFFSET)

    # -- get / put -----------------------------------------------------------------

    def _update_read_sb_index(self, consumed_idx: int, consumed_count: int) -> bool:
        """``update_read_sb_index()`` (backend_internal.h): take the writer's sub-buffer."""
        w = self._words
        wsb = self._wsb[consumed_idx]
        if self.geometry.overwrite:
            old_id = w[wsb]
            if not old_id & layout.SB_ID_NOREF_MASK:
                return False
            expected_offset = (consumed_count << layout.SB_ID_OFFSET_SHIFT) & U64_MAX
            if (old_id & layout.SB_ID_OFFSET_MASK) != expected_offset:
                return False
            rsb = (w[_W_RSB_ID] & ~layout.SB_ID_OFFSET_MASK & U64_MAX) | expected_offset
            w[_W_RSB_ID] = rsb | layout.SB_ID_NOREF_MASK  # subbuffer_id_set_noref_offset()
            if self.mapping.cas_ulong(wsb << 3, old_id, w[_W_RSB_ID]) != old_id:
                return False
            w[_W_RSB_ID] = old_id
        else:
            w[_W_RSB_ID] = w[wsb]
        return True

    def _committed(self, commit_count: int, consumed: int) -> bool:
        geo = self.geometry
        return ((commit_count - geo.subbuf_size) & geo.commit_count_mask) == (
            geo.buf_trunc(consumed) >> geo.num_subbuf_order
        )

    def get_subbuf(self, consumed: int) -> Status:
        """``lttng_ust_ctl_get_subbuf()`` → ``lib_ring_buffer_get_subbuf()``."""
        m, w, geo = self.mapping, self._words, self.geometry
        m.check()
        consumed &= U64_MAX
        consumed_idx = geo.subbuf_index(consumed)
        cc_sb = self._cc_sb[consumed_idx]
        retries = GET_RETRY
        status = Status.AGAIN
        while True:
            finalized = w[_W_FINALIZED] & _U32
            consumed_cur = w[_W_CONSUMED]
            commit_count = w[cc_sb]
            write_offset = w[_W_OFFSET]
            if _negative(geo.subbuf_trunc(consumed) - geo.subbuf_trunc(consumed_cur)):
                break
            if self._committed(commit_count, consumed):
                if self._writer_head(write_offset, consumed):
                    break
                if self._update_read_sb_index(consumed_idx, geo.buf_trunc_val(consumed)):
                    w[_W_RSB_ID] = self._clear_noref(w[_W_RSB_ID])
                    w[_W_GET_SUBBUF_CONSUMED] = consumed
                    self._octets[_OFF_GET_SUBBUF] |= 1
                    status = Status.OK
                    break
            if retries <= 0:
                break
            retries -= 1
            if self.retry_delay_s and retries <= GET_RETRY >> 1:
                time.sleep(self.retry_delay_s)
        m.check()
        if status is Status.OK:
            return status
        return Status.NODATA if finalized else Status.AGAIN

    def _writer_head(self, write_offset: int, consumed: int) -> bool:
        geo = self.geometry
        return geo.subbuf_trunc(write_offset) == geo.subbuf_trunc(consumed)

    def _clear_noref(self, sb_id: int) -> int:
        if self.geometry.overwrite:
            return sb_id & ~layout.SB_ID_NOREF_MASK & U64_MAX
        return sb_id

    def _bindex(self, sb_id: int) -> int:
        """``subbuffer_id_get_index()``, checked against the backend pages."""
        index = sb_id & layout.SB_ID_INDEX_MASK if self.geometry.overwrite else sb_id
        if index >= self.geometry.num_subbuf_alloc:
            raise self._bad_id(sb_id, index)
        return index

    def _bad_id(self, sb_id: int, index: int) -> LayoutError:
        return LayoutError(
            f"sub-buffer id {sb_id:#x} has index {index}, "
            f"beyond the {self.geometry.num_subbuf_alloc} backend pages",
            source=self.mapping.source,
        )

    def held(self) -> bool:
        """Whether a sub-buffer is held for reading (``buf->get_subbuf``)."""
        self.mapping.check()
        return bool(self._octets[_OFF_GET_SUBBUF] & 1)

    def _single_put(self, what: str) -> None:
        if len(self._held) > 1:
            raise LocalProtocolError(
                f"{self.mapping.source}: {what} with {len(self._held)} sub-buffers "
                "taken by get_next_subbufs(): put them back with put_next_subbufs()"
            )
        self._held = ()

    def put_subbuf(self) -> None:
        """``lttng_ust_ctl_put_subbuf()`` → ``lib_ring_buffer_put_subbuf()``."""
        m, w, geo = self.mapping, self._words, self.geometry
        m.check()
        self._single_put("put_subbuf")
        flags = self._octets[_OFF_GET_SUBBUF]
        if not flags & 1:
            raise LocalProtocolError(f"{m.source}: put_subbuf without a held sub-buffer")
        consumed = w[_W_GET_SUBBUF_CONSUMED]
        self._octets[_OFF_GET_SUBBUF] = flags & ~1
        rsb = w[_W_RSB_ID]
        unread = self._unread[self._bindex(rsb)]
        self._atomic_add(_OFF_RECORDS_READ, w[unread])
        w[unread] = 0
        if geo.overwrite:
            w[_W_RSB_ID] = rsb | layout.SB_ID_NOREF_MASK
        self._update_read_sb_index(geo.subbuf_index(consumed), geo.buf_trunc_val(consumed))
        m.check()

    def _atomic_add(self, offset: int, value: int) -> None:
        """``uatomic_add()``: compare-and-swap until the sum is stored."""
        m = self.mapping
        cur = self._words[offset >> 3]
        while True:
            found = m.cas_ulong(offset, cur, cur + value)
            if found == cur:
                return
            cur = found

    def move_consumer(self, consumed_new: int) -> None:
        """``lib_ring_buffer_move_consumer()``: only ever push ``consumed`` forward."""
        m = self.mapping
        m.check()
        consumed = self._words[_W_CONSUMED]
        while _negative(consumed - consumed_new):
            found = m.cas_ulong(_OFF_CONSUMED, consumed, consumed_new)
            if found == consumed:
                break  # stored (C's loop makes one more cmpxchg, which fails)
            consumed = found

    def get_next_subbuf(self) -> Status:
        """``lttng_ust_ctl_get_next_subbuf()`` → ``lib_ring_buffer_get_next_subbuf()``."""
        status = self.snapshot()
        if status is not Status.OK:
            return status
        return self.get_subbuf(self._words[_W_CONS_SNAPSHOT])

    def put_next_subbuf(self) -> None:
        """``lttng_ust_ctl_put_next_subbuf()`` → ``lib_ring_buffer_put_next_subbuf()``."""
        self.put_subbuf()
        self.move_consumer(self.geometry.subbuf_align(self._words[_W_CONS_SNAPSHOT]))

    # -- batches of sub-buffers ---------------------------------------------------------

    def get_next_subbufs(self, limit: int) -> tuple[Status, list[Subbuffer]]:
        """Take up to ``limit`` consecutive ready sub-buffers at once, without copying.

        The batch counterpart of :meth:`get_next_subbuf`, with the checks of
        ``lib_ring_buffer_snapshot()`` and, for each sub-buffer from
        ``consumed`` on, of ``lib_ring_buffer_get_subbuf()``: fully committed
        for its lap (``commit_cold[idx].cc_sb``) and not the one the writer is
        in. It stops at the first that fails them and never retries or
        sleeps: a sub-buffer reserved but not yet committed ends the batch,
        and if it is the first one the answer is :attr:`Status.AGAIN` (or
        :attr:`Status.NODATA` once finalized) — poll again, the writer's
        commit wakes the stream.

        Discard mode only can hold several: the writer never enters a
        sub-buffer until ``consumed`` has moved past it
        (``lib_ring_buffer_try_reserve_slow()``), and ``consumed`` only moves in
        :meth:`put_next_subbufs`. In overwrite mode the reader holds a
        sub-buffer by exchanging it with its spare one (``buf_rsb``), so a
        batch is one :meth:`get_next_subbuf`.

        While a batch is held, the shared reader words (``cons_snapshot``,
        ``buf_rsb``, ``get_subbuf_consumed``, ``get_subbuf``) are those of
        holding its last sub-buffer; after :meth:`put_next_subbufs` the stream
        is in the state ``get_next_subbuf``/``put_next_subbuf`` repeated for
        each would leave.
        """
        self.mapping.check()
        if limit < 1:
            raise LocalProtocolError(f"get_next_subbufs(limit={limit}): take at least one")
        if self._held:
            raise LocalProtocolError(f"{self.mapping.source}: sub-buffers are already held")
        if self.geometry.overwrite:
            return self._get_one()
        m, w, o, geo = self.mapping, self._words, self._octets, self.geometry
        m.check()
        size = geo.subbuf_size
        trunc = ~(size - 1) & U64_MAX
        buf_mask = geo.buf_size - 1
        buf_trunc = ~buf_mask & U64_MAX
        order, num_order = geo.subbuf_size_order, geo.num_subbuf_order
        cc_mask = geo.commit_count_mask
        cc_sb, wsb, data_size, data = self._cc_sb, self._wsb, self._data_size, self.tables.data
        n_alloc = geo.num_subbuf_alloc
        new = tuple.__new__  # Subbuffer(...) minus its Python-level __new__: 0.3 µs each
        finalized = w[_W_FINALIZED] & _U32
        consumed = w[_W_CONSUMED]
        produced = w[_W_OFFSET] & trunc
        taken: list[Subbuffer] = []
        held: list[int] = []
        pos = consumed
        sb_id = 0
        left = limit
        while left and (pos & trunc) != produced:
            idx = (pos & buf_mask) >> order
            if ((w[cc_sb[idx]] - size) & cc_mask) != (pos & buf_trunc) >> num_order:
                break  # reserved, not committed yet
            sb_id = w[wsb[idx]]  # in discard mode, the id is the backend index
            if sb_id >= n_alloc:
                raise self._bad_id(sb_id, sb_id)
            data_bytes = w[data_size[sb_id]]
            padded = (data_bytes + PAGE_SIZE - 1) & _PAGE_MASK
            if padded > size:
                raise LayoutError(
                    f"sub-buffer {sb_id} announces {data_bytes} bytes of data, "
                    f"more than its {size}",
                    source=m.source,
                )
            start = data[sb_id]
            taken.append(new(Subbuffer, (pos, data_bytes, padded, o[start : start + padded])))
            held.append(sb_id)
            pos = (pos + size) & U64_MAX
            left -= 1
        if not taken:
            m.check()
            return (Status.NODATA if finalized else Status.AGAIN), taken
        last = taken[-1].position
        w[_W_CONS_SNAPSHOT] = last
        w[_W_PROD_SNAPSHOT] = produced
        w[_W_RSB_ID] = sb_id
        w[_W_GET_SUBBUF_CONSUMED] = last
        o[_OFF_GET_SUBBUF] |= 1
        self._held = tuple(held)
        m.check()
        return Status.OK, taken

    def _get_one(self) -> tuple[Status, list[Subbuffer]]:
        status = self.get_next_subbuf()
        if status is not Status.OK:
            return status, []
        bindex = self._bindex(self._words[_W_RSB_ID])
        self._held = (bindex,)
        size = self.get_subbuf_size()
        padded = page_align(size)
        start = self.tables.data[bindex]
        position = self._words[_W_GET_SUBBUF_CONSUMED]
        return status, [Subbuffer(position, size, padded, self._octets[start : start + padded])]

    def put_next_subbufs(self) -> None:
        """Give back the sub-buffers :meth:`get_next_subbufs` took: ``lib_ring_buffer_put_subbuf()``
        for each (``records_read += records_unread``, ``records_unread = 0``), one
        ``update_read_sb_index()`` and one ``lib_ring_buffer_move_consumer()`` past
        the last."""
        if not self._held:
            raise LocalProtocolError(f"{self.mapping.source}: put_next_subbufs without a batch")
        if self.geometry.overwrite:
            self._held = ()
            self.put_next_subbuf()
            return
        m, w, o, geo = self.mapping, self._words, self._octets, self.geometry
        m.check()
        o[_OFF_GET_SUBBUF] &= ~1
        unread_words = self._unread
        read = 0
        for bindex in self._held:
            word = unread_words[bindex]
            read += w[word]
            w[word] = 0
        self._held = ()
        if read & U64_MAX:
            self._atomic_add(_OFF_RECORDS_READ, read & U64_MAX)
        last = w[_W_GET_SUBBUF_CONSUMED]
        self._update_read_sb_index(geo.subbuf_index(last), geo.buf_trunc_val(last))
        self.move_consumer(geo.subbuf_align(last))
        m.check()

    # -- the held sub-buffer -----------------------------------------------------------

    def _read_bindex(self) -> int:
        self.mapping.check()
        return self._bindex(self._words[_W_RSB_ID])

    def get_subbuf_size(self) -> int:
        """``lttng_ust_ctl_get_subbuf_size()``: data size of the held sub-buffer."""
        return self._load(self._data_size[self._read_bindex()])

    def get_padded_subbuf_size(self) -> int:
        """``lttng_ust_ctl_get_padded_subbuf_size()``: data size rounded up to a page."""
        return page_align(self.get_subbuf_size())

    def get_mmap_read_offset(self) -> int:
        """``lttng_ust_ctl_get_mmap_read_offset()``: held sub-buffer from the mmap base."""
        return self._load(self._mmap_offset[self._read_bindex()])

    def get_mmap_len(self) -> int:
        """``lttng_ust_ctl_get_mmap_len()``."""
        geo = self.geometry
        return geo.buf_size + (geo.subbuf_size if geo.extra_reader_sb else 0)

    def get_max_subbuf_size(self) -> int:
        """``lttng_ust_ctl_get_max_subbuf_size()``."""
        return self.geometry.subbuf_size

    def subbuf_offset_in_object(self) -> int:
        """Offset of the held sub-buffer's bytes from the start of the shm object."""
        return self.tables.memory_map + self.get_mmap_read_offset()

    def _held_view(self, length: int | None) -> memoryview:
        size = self.get_padded_subbuf_size() if length is None else length
        if size > self.geometry.subbuf_size:
            raise LocalProtocolError(f"{size} bytes is more than a sub-buffer")
        start = self.subbuf_offset_in_object()
        return self._octets[start : start + size]

    def read_subbuf(self, length: int | None = None) -> bytes:
        """A copy of the held sub-buffer's first ``length`` bytes (default: its padded size)."""
        with self._held_view(length) as view:
            data = bytes(view)
        self.mapping.check()
        return data

    def write_subbuf(self, out_fd: int, length: int | None = None) -> int:
        """Write the held sub-buffer (default: padded size) to ``out_fd``, uncopied."""
        with self._held_view(length) as view:
            written = write_views(out_fd, [view], source=self.mapping.source)
        self.mapping.check()
        return written

    # -- packet getters (client callbacks of template.h) ---------------------------------

    def _header_u64(self, field_offset: int, what: str) -> int:
        packet.require_data(self.kind, what, self.mapping.source)
        return self._load(_word(self.tables.data[self._read_bindex()] + field_offset))

    def get_timestamp_begin(self) -> int:
        return self._header_u64(packet.DATA_TIMESTAMP_BEGIN, "timestamp_begin")

    def get_timestamp_end(self) -> int:
        return self._header_u64(packet.DATA_TIMESTAMP_END, "timestamp_end")

    def get_events_discarded(self) -> int:
        return self._header_u64(packet.DATA_EVENTS_DISCARDED, "events_discarded")

    def get_content_size(self) -> int:
        return self._header_u64(packet.DATA_CONTENT_SIZE, "content_size")

    def get_packet_size(self) -> int:
        return self._header_u64(packet.DATA_PACKET_SIZE, "packet_size")

    def get_sequence_number(self) -> int:
        return self._header_u64(packet.DATA_SEQ_NUM, "sequence_number")

    def get_stream_id(self) -> int:
        """``client_stream_id()``: the channel's CTF stream class id."""
        packet.require_data(self.kind, "stream_id", self.mapping.source)
        return self.identity.stream_id

    def get_instance_id(self) -> int:
        """``client_instance_id()``: ``buf->backend.cpu``."""
        packet.require_data(self.kind, "instance_id", self.mapping.source)
        return self.mapping.read_i32(_OFF_CPU) & U64_MAX

    def get_current_timestamp(self) -> int:
        """``client_current_timestamp()``: ``trace_clock_read64()`` (CLOCK_MONOTONIC)."""
        packet.require_data(self.kind, "current_timestamp", self.mapping.source)
        return self._clock_read()

    def _clock_read(self) -> int:
        if self.kind is packet.ClientKind.METADATA:
            return 0  # metadata client's lib_ring_buffer_clock_read()
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)

    # -- flush (lib_ring_buffer_switch_slow) -------------------------------------------------

    def flush_buffer(self, producer_active: bool) -> None:
        """``lttng_ust_ctl_flush_buffer()``: ``lib_ring_buffer_switch_slow()`` with
        ``SWITCH_ACTIVE`` (``producer_active``) or ``SWITCH_FLUSH``."""
        m, geo = self.mapping, self.geometry
        header_size = self.identity.header_size
        while True:
            begin = m.load_ulong(_OFF_OFFSET)
            old = begin
            switch_old_start = False
            off = geo.subbuf_offset(begin)
            tsc = self._clock_read()
            if producer_active and not off:
                return
            if not off:
                sb_index = geo.subbuf_index(begin)
                commit_count = m.load_ulong(
                    self.tables.commit_cold + sb_index * _COLD_STRIDE + _COLD_CC_SB
                )
                reserve_commit_diff = (geo.buf_trunc(begin) >> geo.num_subbuf_order) - (
                    commit_count & geo.commit_count_mask
                )
                if reserve_commit_diff & U64_MAX:
                    return
                if (
                    not geo.overwrite
                    and (geo.subbuf_trunc(begin) - geo.subbuf_trunc(m.load_ulong(_OFF_CONSUMED)))
                    & U64_MAX
                    >= geo.buf_size
                ):
                    return
                switch_old_start = True
            end = geo.subbuf_align(begin)
            lost = (
                m.load_ulong(_OFF_RECORDS_LOST_FULL)
                + m.load_ulong(_OFF_RECORDS_LOST_WRAP)
                + m.load_ulong(_OFF_RECORDS_LOST_BIG)
            ) & U64_MAX
            if m.cas_ulong(_OFF_OFFSET, old, end) == old:
                break
        if self.kind is packet.ClientKind.DATA:  # save_last_tsc(): tsc_bits is 27
            m.store_ulong(_OFF_LAST_TSC, tsc)
        self._push_reader(old)
        self._clear_noref_writer(geo.subbuf_index(old))
        if switch_old_start:
            old_idx = geo.subbuf_index(old)
            self._buffer_begin(old_idx, tsc)
            cc = self._hot_add(old_idx, header_size)
            self._check_deliver(old, cc, old_idx, tsc, lost)
            self._write_commit_counter(old + header_size, cc, old_idx)
            old += header_size
        # lib_ring_buffer_switch_old_end()
        old_idx = geo.subbuf_index(old - 1)
        data_size = geo.subbuf_offset(old - 1) + 1
        padding = geo.subbuf_size - data_size
        m.write_u64(self.tables.pages[self._wsb_bindex(old_idx)] + _PAGES_DATA_SIZE, data_size)
        m.write_u64(self.tables.ts_end + old_idx * 8, tsc)
        cc = self._hot_add(old_idx, padding)
        self._check_deliver(old - 1, cc, old_idx, tsc, lost)
        self._write_commit_counter(old + padding, cc, old_idx)

    def clear_buffer(self) -> None:
        """``lttng_ust_ctl_clear_buffer()``: switch the current packet out
        (``lib_ring_buffer_switch_slow(SWITCH_ACTIVE)``), then move the consumed position
        to the start of the current sub-buffer (``lib_ring_buffer_clear_reader()``,
        frontend_internal.h @ v2.13.5)."""
        self.flush_buffer(True)
        m, geo = self.mapping, self.geometry
        while True:
            offset = m.load_ulong(_OFF_OFFSET)
            consumed_old = m.load_ulong(_OFF_CONSUMED)
            if m.cas_ulong(_OFF_CONSUMED, consumed_old, geo.subbuf_trunc(offset)) == consumed_old:
                return

    def _wsb_bindex(self, idx: int) -> int:
        return self._bindex(self.mapping.load_ulong(self.tables.buf_wsb + idx * _WSB_STRIDE))

    def _hot_add(self, idx: int, value: int) -> int:
        off = self.tables.commit_hot + idx * _HOT_STRIDE + _HOT_CC
        self._atomic_add(off, value)
        return self.mapping.load_ulong(off)

    def _push_reader(self, offset: int) -> None:
        """``lib_ring_buffer_reserve_push_reader()``."""
        m, geo = self.mapping, self.geometry
        while True:
            consumed_old = m.load_ulong(_OFF_CONSUMED)
            if (geo.subbuf_trunc(offset) - geo.subbuf_trunc(consumed_old)) & U64_MAX < geo.buf_size:
                return
            consumed_new = geo.subbuf_align(consumed_old)
            if m.cas_ulong(_OFF_CONSUMED, consumed_old, consumed_new) == consumed_old:
                return

    def _clear_noref_writer(self, idx: int) -> None:
        """``lib_ring_buffer_clear_noref()``."""
        if not self.geometry.overwrite:
            return
        m = self.mapping
        wsb = self.tables.buf_wsb + idx * _WSB_STRIDE
        sb_id = m.load_ulong(wsb)
        while sb_id & layout.SB_ID_NOREF_MASK:
            found = m.cas_ulong(wsb, sb_id, sb_id & ~layout.SB_ID_NOREF_MASK & U64_MAX)
            if found == sb_id:
                return
            sb_id = found

    def _write_commit_counter(self, buf_offset: int, commit_count: int, idx: int) -> None:
        """``lib_ring_buffer_write_commit_counter()`` (OOPS consistency: ``cc_hot.seq``)."""
        geo = self.geometry
        if geo.subbuf_offset(buf_offset - commit_count):
            return
        seq_off = self.tables.commit_hot + idx * _HOT_STRIDE + _HOT_SEQ
        if _negative(self.mapping.load_ulong(seq_off) - commit_count):
            self.mapping.store_ulong(seq_off, commit_count)

    def _buffer_begin(self, idx: int, tsc: int) -> None:
        m = self.mapping
        packet_offset = self.tables.data[self._wsb_bindex(idx)]
        if self.kind is packet.ClientKind.DATA:
            cnt = m.read_u64(self.tables.buf_cnt + idx * _CNT_STRIDE)
            packet.write_data_begin(
                m,
                packet_offset,
                self.identity,
                tsc=tsc,
                cpu=m.read_i32(_OFF_CPU),
                seq_num=(self.geometry.num_subbuf * cnt + idx) & U64_MAX,
            )
        else:
            packet.write_metadata_begin(m, packet_offset, self.identity)

    def _check_deliver(self, offset: int, commit_count: int, idx: int, tsc: int, lost: int) -> None:
        """``lib_ring_buffer_check_deliver()`` and ``_check_deliver_slow()``."""
        m, geo = self.mapping, self.geometry
        old_commit_count = (commit_count - geo.subbuf_size) & U64_MAX
        if (geo.buf_trunc(offset) >> geo.num_subbuf_order) != (
            old_commit_count & geo.commit_count_mask
        ):
            return
        cc_sb = self.tables.commit_cold + idx * _COLD_STRIDE + _COLD_CC_SB
        if m.cas_ulong(cc_sb, old_commit_count, old_commit_count + 1) != old_commit_count:
            return
        ts_end = m.read_u64(self.tables.ts_end + idx * 8)
        bindex = self._wsb_bindex(idx)
        data_size = m.read_u64(self.tables.pages[bindex] + _PAGES_DATA_SIZE)
        packet.write_end(
            m,
            self.tables.data[bindex],
            self.kind,
            tsc=ts_end,
            data_size=data_size,
            page_size=PAGE_SIZE,
            records_lost=lost,
        )
        cnt_off = self.tables.buf_cnt + idx * _CNT_STRIDE
        m.write_u64(cnt_off, m.read_u64(cnt_off) + 1)
        if geo.overwrite:  # lib_ring_buffer_set_noref_offset()
            wsb = self.tables.buf_wsb + idx * _WSB_STRIDE
            sb_id = m.load_ulong(wsb)
            sb_id = (sb_id & ~layout.SB_ID_OFFSET_MASK & U64_MAX) | (
                (geo.buf_trunc_val(offset) << layout.SB_ID_OFFSET_SHIFT) & U64_MAX
            )
            m.store_ulong(wsb, sb_id | layout.SB_ID_NOREF_MASK)
        m.store_ulong(cc_sb, commit_count)
        # lib_ring_buffer_vmcore_check_deliver(): OOPS consistency
        m.store_ulong(self.tables.commit_hot + idx * _HOT_STRIDE + _HOT_SEQ, commit_count)
        if self.wakeup_fd is not None and m.load_ulong(_OFF_ACTIVE_READERS) and self.poll_deliver():
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(self.wakeup_fd, b"\0")

    def poll_deliver(self) -> bool:
        """``lib_ring_buffer_poll_deliver()``: is a sub-buffer ready to be read?"""
        m, geo = self.mapping, self.geometry
        consumed_old = m.load_ulong(_OFF_CONSUMED)
        idx = geo.subbuf_index(consumed_old)
        commit_count = m.load_ulong(self.tables.commit_cold + idx * _COLD_STRIDE + _COLD_CC_SB)
        write_offset = m.load_ulong(_OFF_OFFSET)
        if not self._committed(commit_count, consumed_old):
            return False
        return not self._writer_head(write_offset, consumed_old)
