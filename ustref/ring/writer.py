"""Consumer-side writes into a ring buffer, in pure Python.

The consumer daemon writes into buffers it created in two cases: the metadata it gets
from the session daemon (``lttng_ust_ctl_write_one_packet_to_channel()``, one packet at
most per call) and ``lttng_ust_ctl_clear_buffer()``. Mirrors, lttng-ust v2.13.5:

* ``lttng_ust_ctl_write_one_packet_to_channel()`` and
  ``lttng_ust_ctl_write_metadata_to_channel()`` (src/lib/lttng-ust-ctl/ustctl.c);
* the metadata client's ``lttng_packet_avail_size()``, ``lttng_event_reserve()``,
  ``lttng_event_write()``, ``lttng_event_commit()``
  (src/common/ringbuffer-clients/metadata-template.h): no record header, byte alignment,
  clock 0;
* ``lib_ring_buffer_reserve()`` / ``lib_ring_buffer_try_reserve()`` (frontend_api.h),
  ``lib_ring_buffer_reserve_slow()`` / ``_try_reserve_slow()`` and the
  ``switch_old_end``/``switch_new_start``/``switch_new_end`` steps
  (ring_buffer_frontend.c), ``lib_ring_buffer_commit()`` (frontend_api.h);
* ``lttng_ust_ctl_clear_buffer()`` is the reader's
  (:meth:`~ustref.ring.reader.StreamReader.clear_buffer`): data streams are cleared too.

The writer is a :class:`~ustref.ring.reader.StreamReader` (same mapping, tables and
delivery steps: ``_check_deliver``, ``_push_reader`` …) that can also reserve and commit.
A full buffer is reported at once (``-ENOBUFS`` in C, :class:`BufferFull` here): the
metadata channel's blocking timeout is 0 in lttng-tools, so the library does not wait
either.
"""

from __future__ import annotations

from dataclasses import dataclass

from ustref.errors import LocalProtocolError, UstrefError
from ustref.ids import U64_MAX
from ustref.ring import layout, packet
from ustref.ring.reader import (
    _COLD_CC_SB,
    _COLD_STRIDE,
    _OFF_CONSUMED,
    _OFF_OFFSET,
    _OFF_RECORDS_LOST_BIG,
    _OFF_RECORDS_LOST_FULL,
    _OFF_RECORDS_LOST_WRAP,
    _PAGES_DATA_SIZE,
    StreamReader,
)
from ustref.ring.shm import ShmMapping

_OFF_RECORD_DISABLED = layout.RingBuffer.record_disabled.offset


class BufferFull(UstrefError):
    """No room: ``-ENOBUFS`` (discard mode, the reader is a whole buffer behind)."""


class WrapAround(UstrefError):
    """``-EIO``: the next sub-buffer is not fully committed yet."""


class RecordTooBig(UstrefError):
    """``-ENOSPC``: the record cannot fit in a sub-buffer."""


class RecordDisabled(UstrefError):
    """``-EAGAIN``: recording is disabled on this buffer."""


@dataclass(slots=True)
class Reservation:
    """The parts of ``struct lttng_ust_ring_buffer_ctx`` a commit needs."""

    buf_offset: int
    slot_size: int
    tsc: int
    #: records lost, sampled when the reservation switched sub-buffers (else 0)
    lost: int = 0


class MetadataWriter(StreamReader):
    """Writes metadata into the global buffer of a metadata channel like the
    ``relay-metadata-mmap`` client does in the consumer (``lttng_ust_ctl_write_*``)."""

    @classmethod
    def attach(
        cls, shm_fd: int, *, wakeup_fd: int | None = None, source: str = ""
    ) -> MetadataWriter:
        """Map the metadata stream ``shm_fd`` (duplicated) and write to ``wakeup_fd`` when a
        write delivers a packet to a reader that waits (``lib_ring_buffer_wakeup``)."""
        mapping = ShmMapping(shm_fd, source=source or f"metadata shm fd {shm_fd}")
        try:
            writer = cls(mapping, wakeup_fd=wakeup_fd)
        except BaseException:
            mapping.close()
            raise
        writer._require_metadata()
        return writer

    def _require_metadata(self) -> None:
        if self.kind is not packet.ClientKind.METADATA:
            raise LocalProtocolError(
                f"{self.mapping.source}: metadata can only be written to a metadata channel"
            )

    def packet_avail_size(self) -> int:
        """``lttng_packet_avail_size()``: room left in the current packet.

        At a sub-buffer boundary the C code subtracts ``sizeof(struct
        metadata_packet_header)`` (40, with the struct's tail padding), not the 37-byte
        header the packet really has: such a packet ends 3 bytes short and is padded.
        """
        geo = self.geometry
        off = geo.subbuf_offset(self.mapping.load_ulong(_OFF_OFFSET))
        room = geo.subbuf_size - off
        return room if off else room - layout.c_sizeof(layout.MetadataPacketHeader)

    def write_one_packet(self, data: bytes) -> int:
        """``lttng_ust_ctl_write_one_packet_to_channel()``: writes at most what fits in the
        current packet and returns how many bytes it wrote."""
        self._require_metadata()
        length = min(self.packet_avail_size(), len(data))
        res = self.reserve(length)
        self.mapping.write_bytes(self._data_offset(res.buf_offset), data[:length])
        self.commit(res)
        return length

    def write_metadata(self, data: bytes) -> None:
        """``lttng_ust_ctl_write_metadata_to_channel()`` without its wait: packet after packet
        until all of ``data`` is written (raises :class:`BufferFull` when the reader is a
        whole buffer behind; the bytes before stay written)."""
        pos = 0
        while pos < len(data):
            pos += self.write_one_packet(data[pos:])

    def _data_offset(self, buf_offset: int) -> int:
        """Where byte ``buf_offset`` of the ring lives in the object (``lib_ring_buffer_write``
        through the write-side sub-buffer table)."""
        geo = self.geometry
        idx = geo.subbuf_index(buf_offset)
        return self.tables.data[self._wsb_bindex(idx)] + geo.subbuf_offset(buf_offset)

    # -- reserve ------------------------------------------------------------------------

    def reserve(self, data_size: int) -> Reservation:
        """``lib_ring_buffer_reserve()`` for a record of ``data_size`` bytes, byte aligned,
        without record header (the metadata client's ``record_header_size()`` is 0)."""
        m, geo = self.mapping, self.geometry
        if m.read_i32(_OFF_RECORD_DISABLED):
            raise RecordDisabled(f"{m.source}: record disabled")
        tsc = self._clock_read()
        begin = m.load_ulong(_OFF_OFFSET)
        end = begin + data_size
        if (
            geo.subbuf_offset(begin)
            and geo.subbuf_offset(begin) + data_size <= geo.subbuf_size
            and geo.subbuf_offset(end)
            and m.cas_ulong(_OFF_OFFSET, begin, end) == begin
        ):
            self._push_reader(end - 1)
            self._clear_noref_writer(geo.subbuf_index(end - 1))
            return Reservation(begin, data_size, tsc)
        return self._reserve_slow(data_size)

    def _reserve_slow(self, data_size: int) -> Reservation:
        """``lib_ring_buffer_reserve_slow()`` with ``lib_ring_buffer_try_reserve_slow()``."""
        m, geo = self.mapping, self.geometry
        header = self.identity.header_size
        while True:
            begin = old = m.load_ulong(_OFF_OFFSET)
            tsc = self._clock_read()
            switch_old_end = switch_new_start = False
            if not geo.subbuf_offset(begin):
                switch_new_start = True
            elif geo.subbuf_offset(begin) + data_size > geo.subbuf_size:
                switch_old_end = switch_new_start = True
            if switch_new_start:
                if switch_old_end:
                    begin = geo.subbuf_align(begin)
                begin += header
                sb_index = geo.subbuf_index(begin)
                commit_count = m.load_ulong(
                    self.tables.commit_cold + sb_index * _COLD_STRIDE + _COLD_CC_SB
                )
                if old != m.load_ulong(_OFF_OFFSET):
                    continue
                diff = (geo.buf_trunc(begin) >> geo.num_subbuf_order) - (
                    commit_count & geo.commit_count_mask
                )
                if diff & U64_MAX:
                    self._lost(_OFF_RECORDS_LOST_WRAP)
                    raise WrapAround(f"{m.source}: sub-buffer not committed (wrap-around)")
                consumed = m.load_ulong(_OFF_CONSUMED)
                if (
                    not geo.overwrite
                    and (geo.subbuf_trunc(begin) - geo.subbuf_trunc(consumed)) & U64_MAX
                    >= geo.buf_size
                ):
                    self._lost(_OFF_RECORDS_LOST_FULL)
                    raise BufferFull(f"{m.source}: buffer full")
                if geo.subbuf_offset(begin) + data_size > geo.subbuf_size:
                    self._lost(_OFF_RECORDS_LOST_BIG)
                    raise RecordTooBig(f"{m.source}: {data_size}-byte record exceeds a sub-buffer")
            end = begin + data_size
            switch_new_end = not geo.subbuf_offset(end)
            if m.cas_ulong(_OFF_OFFSET, old, end) == old:
                break
        lost = self._records_lost() if (switch_new_end or switch_old_end) else 0
        self._push_reader(end - 1)
        self._clear_noref_writer(geo.subbuf_index(end - 1))
        if switch_old_end:
            self._clear_noref_writer(geo.subbuf_index(old - 1))
            self._switch_old_end(old, tsc, lost)
        if switch_new_start:
            idx = geo.subbuf_index(begin)
            self._buffer_begin(idx, tsc)
            cc = self._hot_add(idx, header)
            self._check_deliver(begin, cc, idx, tsc, lost)
            self._write_commit_counter(begin + header, cc, idx)
        if switch_new_end:
            self._set_end(end - 1, tsc)
        return Reservation(begin, data_size, tsc, lost)

    def _lost(self, offset: int) -> None:
        self._atomic_add(offset, 1)

    def _records_lost(self) -> int:
        m = self.mapping
        return (
            m.load_ulong(_OFF_RECORDS_LOST_FULL)
            + m.load_ulong(_OFF_RECORDS_LOST_WRAP)
            + m.load_ulong(_OFF_RECORDS_LOST_BIG)
        ) & U64_MAX

    def _set_end(self, last: int, tsc: int) -> int:
        """``subbuffer_set_data_size()`` and ``*ts_end = tsc`` for the sub-buffer of byte
        ``last``; returns its index."""
        geo, m = self.geometry, self.mapping
        idx = geo.subbuf_index(last)
        data_size = geo.subbuf_offset(last) + 1
        m.write_u64(self.tables.pages[self._wsb_bindex(idx)] + _PAGES_DATA_SIZE, data_size)
        m.write_u64(self.tables.ts_end + idx * 8, tsc)
        return idx

    def _switch_old_end(self, old: int, tsc: int, lost: int) -> None:
        """``lib_ring_buffer_switch_old_end()``: pad and deliver the previous sub-buffer."""
        geo = self.geometry
        idx = self._set_end(old - 1, tsc)
        padding = geo.subbuf_size - (geo.subbuf_offset(old - 1) + 1)
        cc = self._hot_add(idx, padding)
        self._check_deliver(old - 1, cc, idx, tsc, lost)
        self._write_commit_counter(old + padding, cc, idx)

    # -- commit -------------------------------------------------------------------------

    def commit(self, res: Reservation) -> None:
        """``lib_ring_buffer_commit()`` (the metadata client counts no records)."""
        end = res.buf_offset + res.slot_size
        idx = self.geometry.subbuf_index(end - 1)
        cc = self._hot_add(idx, res.slot_size)
        self._check_deliver(end - 1, cc, idx, res.tsc, res.lost)
        self._write_commit_counter(end, cc, idx)
