"""The consumer's data path on one stream: take the ready sub-buffers, write them, put them back.

Mirrors what lttng-tools v2.13.9 does for one readable UST stream:
consumer.c ``lttng_consumer_read_subbuffer()`` with the UST
``read_subbuffer_ops`` of ust-consumer.c — ``get_next_subbuffer()``
(``lttng_ust_ctl_get_next_subbuf()`` then ``get_next_subbuffer_common()``:
``extract_common_subbuffer_info()`` and a view of the padded bytes), the write
of consumer.c ``lttng_consumer_on_read_subbuffer_mmap()``, ``put_next_subbuffer()``
(``lttng_ust_ctl_put_next_subbuf()``) — and ``extract_data_subbuffer_info()`` for
the packet index (:func:`packet_info`). Two things differ, on purpose:

* **Batches.** The C consumer takes one sub-buffer per call. :func:`drain` takes
  every consecutive ready one at once
  (:meth:`~ustref.ring.reader.StreamReader.get_next_subbufs`), hands them to
  the sink in one call (so a sink can write them with one ``os.writev``),
  and puts them back with one move of ``consumed``.
* **No sleep.** ``lttng_ust_ctl_get_next_subbuf()`` retries 10 times when the next
  sub-buffer is reserved but not yet committed, sleeping 10 ms before each of the
  last 6 (ring_buffer_frontend.c 1526-1529 at lttng-ust v2.13.5). :func:`drain`
  returns :attr:`~ustref.ring.reader.Status.AGAIN` at once — *not ready, poll
  again*: the writer's commit delivers the sub-buffer and wakes the stream's
  wait fd (``lib_ring_buffer_check_deliver_slow()`` → ``lib_ring_buffer_wakeup()``).

What stays with the consumer daemon: reading the wake-up byte of the stream's
wait fd (``consumer_stream_ust_on_wake_up()``), rotation, pushing the metadata
cache into the metadata stream (``commit_one_metadata_packet()``), the
``on_sleep`` hooks, relayd output.

API::

    Sink = Callable[[Sequence[Subbuffer]], int]
    drain(reader, sink, *, budget=None, batch=IOV_MAX) -> DrainResult
    FdSink(fd)                       # one os.writev of the padded sub-buffers per batch
    packet_info(reader, subbuf) -> PacketInfo   # the index fields of a data packet

A sink receives the sub-buffers of one batch in stream order, writes them
all (or raises) and returns the bytes it wrote. The views are valid during
the call only: the sub-buffers are put back, and their views released, when
it returns. A consumer that writes one packet at a time with an index entry
does, for instance::

    def sink(batch: Sequence[Subbuffer]) -> int:
        written = 0
        for subbuf in batch:
            info = packet_info(reader, subbuf)
            written += output.write_packet([subbuf.view], index_entry(info, subbuf))
        return written

and a consumer without index writes the batch at once with :class:`FdSink`.
"""

from __future__ import annotations

import contextlib
import errno
import operator
import struct
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ustref.errors import LayoutError
from ustref.ring import packet
from ustref.ring.reader import Status, StreamReader, Subbuffer
from ustref.ring.shm import IOV_MAX, shrunk_under_writev, write_views

__all__ = [
    "DrainResult",
    "FdSink",
    "PacketInfo",
    "Sink",
    "Status",
    "Subbuffer",
    "drain",
    "packet_info",
]

#: Writes one batch of sub-buffers (in stream order) and returns the bytes written.
Sink = Callable[[Sequence[Subbuffer]], int]


class DrainResult(NamedTuple):
    """What one :func:`drain` call did, and what to do next.

    ``status`` is :attr:`Status.OK` when the budget ran out (sub-buffers may
    still be ready: call again, after serving the other streams),
    :attr:`Status.AGAIN` when none is ready now (poll the wait fd), and
    :attr:`Status.NODATA` when the stream is finalized and empty (hang up).
    """

    status: Status
    subbuffers: int
    bytes_written: int


class FdSink:
    """Writes each batch to ``fd`` with ``os.writev`` of the padded sub-buffers, as
    ``lttng_consumer_on_read_subbuffer_mmap()`` writes each to a local trace file
    (padding included, no index)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, batch: Sequence[Subbuffer]) -> int:
        return write_views(self.fd, [subbuf.view for subbuf in batch])


def drain(
    reader: StreamReader, sink: Sink, *, budget: int | None = None, batch: int = IOV_MAX
) -> DrainResult:
    """Take, write and put back the ready sub-buffers of ``reader``, ``batch`` at a time,
    at most ``budget`` of them (default: one buffer's worth, ``num_subbuf``, so that a
    writer producing at full speed cannot keep one stream's drain going forever).

    Mirrors ``lttng_consumer_read_subbuffer()`` (consumer.c @ v2.13.9) from
    ``get_next_subbuffer`` to ``put_next_subbuffer``, by batches. As there
    (``error_put_subbuf``), the sub-buffers are put back even when the sink
    raises, and the error propagates. ``EFAULT`` from the sink's writes (the
    stream file shrank under the reader) becomes a
    :class:`~ustref.errors.LayoutError` naming the file; so does a ``SIGBUS``
    absorbed while the sink read the views.
    """
    left = reader.geometry.num_subbuf if budget is None else budget
    taken = written = 0
    while left > 0:
        status, subbufs = reader.get_next_subbufs(min(batch, left))
        if status is not Status.OK:
            return DrainResult(status, taken, written)
        try:
            written += _consume(reader, sink, subbufs)
        except BaseException:
            # error_put_subbuf; if the file shrank, the put fails too: the sink's
            # error says more
            with contextlib.suppress(LayoutError):
                reader.put_next_subbufs()
            _release(subbufs)
            raise
        reader.put_next_subbufs()
        _release(subbufs)
        taken += len(subbufs)
        left -= len(subbufs)
    return DrainResult(Status.OK, taken, written)


def _release(subbufs: list[Subbuffer]) -> None:
    """Release the views of sub-buffers put back, so that a sink using one later fails
    (a view still exported by the sink stays as it is)."""
    for subbuf in subbufs:
        try:
            subbuf.view.release()
        except BufferError:
            continue


def _consume(reader: StreamReader, sink: Sink, subbufs: list[Subbuffer]) -> int:
    try:
        written = sink(subbufs)
    except OSError as exc:
        if exc.errno == errno.EFAULT:
            raise shrunk_under_writev(reader.mapping.source) from exc
        raise
    reader.mapping.check()
    return written


class PacketInfo(NamedTuple):
    """The data-packet part of ``struct stream_subbuffer.info.data`` (consumer.h @ v2.13.9)
    as ``extract_data_subbuffer_info()`` (ust-consumer.c) fills it: what the consumer
    writes into the packet's ``struct ctf_packet_index`` entry. Sizes are in bits, as
    in the packet context."""

    packet_size: int
    content_size: int
    timestamp_begin: int
    timestamp_end: int
    events_discarded: int
    sequence_number: int
    stream_id: int
    stream_instance_id: int


def _context_struct() -> tuple[struct.Struct, int, Callable[[tuple[int, ...]], tuple[int, ...]]]:
    """One little-endian ``struct`` reading the six ``u64`` fields of the packet context
    (``struct packet_header.ctx``, template.h) in offset order, its offset, and what
    picks the first six :class:`PacketInfo` fields, in their order, from the values it
    unpacks."""
    fields = sorted(
        (
            (packet.DATA_PACKET_SIZE, "packet_size"),
            (packet.DATA_CONTENT_SIZE, "content_size"),
            (packet.DATA_TIMESTAMP_BEGIN, "timestamp_begin"),
            (packet.DATA_TIMESTAMP_END, "timestamp_end"),
            (packet.DATA_EVENTS_DISCARDED, "events_discarded"),
            (packet.DATA_SEQ_NUM, "sequence_number"),
        )
    )
    fmt, at = "<", fields[0][0]
    for offset, _name in fields:
        fmt += f"{offset - at}xQ" if offset > at else "Q"
        at = offset + 8
    names = [name for _offset, name in fields]
    order = [names.index(name) for name in PacketInfo._fields[: len(names)]]
    return struct.Struct(fmt), fields[0][0], operator.itemgetter(*order)


_CONTEXT, _CONTEXT_OFFSET, _CONTEXT_PICK = _context_struct()


def packet_infos(reader: StreamReader, subbufs: Sequence[Subbuffer]) -> list[PacketInfo]:
    """``extract_data_subbuffer_info()`` for each of ``subbufs``: its packet context
    (read from its view, as the ``lttng_ust_ctl_get_*()`` getters read the held
    sub-buffer's header), the channel's stream class id and the stream's CPU; those
    two are the stream's, read once for the batch."""
    ids: tuple[int, int] | None = None
    new = tuple.__new__  # PacketInfo(...) minus its Python-level __new__
    infos = []
    for subbuf in subbufs:
        view = subbuf.view
        if len(view) < _CONTEXT_OFFSET + _CONTEXT.size:
            packet.require_data(reader.kind, "packet_info", reader.mapping.source)
            raise LayoutError(
                f"a {len(view)}-byte sub-buffer cannot hold a packet context",
                source=reader.mapping.source,
            )
        if ids is None:
            # get_stream_id raises for the metadata client
            ids = (reader.get_stream_id(), reader.get_instance_id())
        infos.append(
            new(PacketInfo, _CONTEXT_PICK(_CONTEXT.unpack_from(view, _CONTEXT_OFFSET)) + ids)
        )
    reader.mapping.check()
    return infos


def packet_info(reader: StreamReader, subbuf: Subbuffer) -> PacketInfo:
    """:func:`packet_infos` of one sub-buffer."""
    return packet_infos(reader, (subbuf,))[0]
