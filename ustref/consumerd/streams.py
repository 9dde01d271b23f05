"""Draining a stream into its output: the consumer's data and metadata read paths.

Mirrors, at lttng-tools v2.13.9, ``lttng_consumer_read_subbuffer`` (consumer.c),
``consumer_stream_consume_mmap`` / ``consumer_stream_send_index``
(consumer-stream.c), the UST sub-buffer helpers of ust-consumer.c
(``get_next_subbuffer``, ``extract_data_subbuffer_info``, ``put_next_subbuffer``,
``commit_one_metadata_packet``, ``lttng_ustconsumer_on_stream_hangup``) and
``update_stream_stats`` (consumer.c). Sub-buffers are read with ustref's pure
reader (:class:`ustref.ring.reader.StreamReader`) and drained by batches through
:func:`ustref.ring.drain.drain` (one ``writev`` per batch, no sleep on a
sub-buffer not yet committed); flushes and metadata writes go through the
consumer's ust-ctl backend (:mod:`ustref.consumerd.ring_backend`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ustref._lazy import lazy_module
from ustref.consumerd.metadata import MetadataBucket
from ustref.consumerd.registry import ChannelType, RelayPacket, Stream
from ustref.consumerd.relay_stream import RelayOutput
from ustref.errors import UstrefError
from ustref.ids import U64_MAX
from ustref.output.index import PacketIndex
from ustref.output.stream import StreamOutput
from ustref.ring import drain as ring_drain
from ustref.ring.drain import PacketInfo, Sink, packet_infos
from ustref.ring.reader import Status, StreamReader, Subbuffer
from ustref.ring.shm import IOV_MAX

if TYPE_CHECKING:
    from ustref.consumerd import relayd as client
else:
    # The relay daemon client and its grammar: executed when a session streams.
    client = lazy_module("ustref.consumerd.relayd")

log = logging.getLogger("ustref.consumerd")


BATCH_BYTES = 256 << 10
"""At most this many bytes of sub-buffers per batch (at least one sub-buffer). A
batch saves, per sub-buffer, a system call and the Python work of a get/put
(about 6 µs of some 17 µs measured per sub-buffer here), which is what bounds
the events a consumer keeps when the writer outruns it (small sub-buffers);
but its sub-buffers go back to the writer only once all are written. Copying
256 KiB into a file costs some 60 µs, already far more than the work a batch
saves, so larger sub-buffers (1 MiB) go one by one, each given back as soon
as it is written (as the C consumer gives them back)."""


def open_output(stream: Stream, *, with_index: bool = True) -> None:
    """``consumer_stream_create_output_files()``: open the stream's file in its chunk."""
    channel = stream.channel
    if isinstance(stream.output, RelayOutput):
        return  # a relay daemon stream keeps its output across chunks
    if stream.trace_chunk is None:
        stream.output = None
        return
    stream.output = StreamOutput(
        chunk=stream.trace_chunk,
        channel_path=channel.pathname,
        name=stream.name,
        tracefile_size=channel.tracefile_size,
        tracefile_count=channel.tracefile_count,
        with_index=with_index and channel.type is ChannelType.DATA,
        metadata=channel.type is ChannelType.METADATA,
    )


def close_output(stream: Stream) -> None:
    """``consumer_stream_close_output()``. A live relay stream whose last indexes
    still wait on the metadata synchronisation closes after them (C closes a stream
    only once its data thread let go of it, its index sent)."""
    output, stream.output = stream.output, None
    if isinstance(output, RelayOutput) and stream.waiting_on_metadata:
        stream.closing_output = output
    elif output is not None:
        output.close()


def flush(stream: Stream, *, producer_active: bool) -> None:
    """``lttng_ustconsumer_flush_buffer()`` (``lttng_ust_ctl_flush_buffer``)."""
    stream.ust.flush(producer_active)


def open_packet(stream: Stream) -> bool:
    """``consumer_stream_open_packet()`` (consumer-stream.c): flush an empty
    packet (inactive flush) and say whether it opened one — ``False`` when the buffer
    had no space (``CONSUMER_STREAM_OPEN_PACKET_STATUS_NO_SPACE``). Either way the
    caller counts the stream as having an open packet in its chunk, as C does."""
    reader = stream.reader
    assert reader is not None
    reader.snapshot_sample_positions()
    before = reader.snapshot_get_produced()
    flush(stream, producer_active=False)
    reader.snapshot_sample_positions()
    opened = reader.snapshot_get_produced() != before
    stream.opened_packet_in_current_trace_chunk = True
    return opened


def _update_stats(stream: Stream, discarded: int, sequence_number: int) -> None:
    """``consumer_stream_update_stats()`` (consumer-stream.c): the channel's
    discarded-event and lost-packet counts from the packet's cumulative counters, in
    the C consumer's ``uint64_t`` arithmetic (sums wrap modulo 2**64).

    A packet's ``events_discarded`` can go *backwards* without any counter having
    wrapped: lttng-ust 2.13.5 writes it in ``client_buffer_end()`` (template.h
    400-426) from the records-lost values saved in the ring-buffer context of the
    writer that makes the sub-buffer's *last* commit (``lib_ring_buffer_check_deliver_slow()``,
    ring_buffer_frontend.c 2515-2536). Only a reservation that may switch sub-buffers
    saves those values (ring_buffer_frontend.c 2035-2041, 2318-2328); every other context starts
    zeroed (``lttng_event_reserve()``, template.h 702). When several writers share a
    buffer (per-UID) and the last to commit is one whose reservation switched
    nothing, the delivered header says 0. The C consumer then takes the wrap branch
    and adds ``1 << 63`` (CAA_BITS_PER_LONG - 1) to a ``uint64_t``; ustref adds the
    same modulo 2**64, so that both report the same count for the same packets
    (``lttng list`` prints C's sum: 9223372036859284088 in one 16-app run here)
    and the DISCARDED_EVENTS reply, a ``uint64_t``, can always be built."""
    channel = stream.channel
    last = stream.last_discarded_events
    # C: "Overflow has occurred. We assume only one wrap-around has occurred."
    added = (1 << 63) - last + discarded if discarded < last else discarded - last
    channel.discarded_events = (channel.discarded_events + added) & U64_MAX
    stream.last_discarded_events = discarded
    last_seq = stream.last_sequence_number
    if last_seq is not None and sequence_number > last_seq + 1:
        lost = sequence_number - last_seq - 1
        channel.lost_packets = (channel.lost_packets + lost) & U64_MAX
    stream.last_sequence_number = sequence_number


def _data_sink(stream: Stream, reader: StreamReader) -> Sink:
    """What ``lttng_consumer_read_subbuffer()`` does with each sub-buffer of a data
    stream between get and put, for a batch: ``extract_data_subbuffer_info()``
    (:func:`~ustref.ring.drain.packet_infos`), ``update_stream_stats()``, the
    local write of ``lttng_consumer_on_read_subbuffer_mmap()`` (padded) and
    ``consumer_stream_send_index()`` — the batch's packets in one ``writev``
    and their index entries in one write
    (:meth:`~ustref.output.stream.StreamOutput.write_packets`)."""

    def sink(batch: Sequence[Subbuffer]) -> int:
        infos = packet_infos(reader, batch)
        for info in infos:
            _update_stats(stream, info.events_discarded, info.sequence_number)
        padded = sum(subbuf.padded_subbuf_size for subbuf in batch)
        if isinstance(stream.output, RelayOutput):
            _relay_packets(stream, stream.output, batch, infos)
        elif stream.output is not None:
            stream.output.write_packets([subbuf.view for subbuf in batch], infos)
        stream.consumed_bytes += padded
        return padded

    return sink


def _relay_packets(
    stream: Stream, output: RelayOutput, batch: Sequence[Subbuffer], infos: Sequence[PacketInfo]
) -> None:
    """The relay branch of ``lttng_consumer_on_read_subbuffer_mmap`` for data packets:
    each packet's data header (its ``net_seq_num`` taken now) and content (padding
    left out), copied out of the ring, wait with their index for the core to send
    them (:meth:`~ustref.consumerd.core.Core.drain`): C's data thread writes a
    packet, then sends its index and waits for the relay's answer before the next
    packet; the core sends the packets drained together at once, their indexes
    pipelined (:meth:`~ustref.consumerd.core.Core.drain`)."""
    if output.closed:
        raise UstrefError(f"{output.name}: relay stream closed")
    for subbuf, info in zip(batch, infos, strict=True):
        size = subbuf.subbuf_size
        seq = output.next_net_seq_num
        output.next_net_seq_num += 1
        header = client.data_header(
            output.relay_stream_id, seq, size, subbuf.padded_subbuf_size - size
        )
        packet = header + subbuf.view[:size]
        stream.relay_packets.append(RelayPacket(seq, packet, PacketIndex.populate(info)))


def _metadata_sink(stream: Stream, reader: StreamReader) -> Sink:
    """The metadata stream's sub-buffers: written padded, no index, no statistics;
    those of a live session gathered into complete units (:func:`_bucket`)."""

    def sink(batch: Sequence[Subbuffer]) -> int:
        padded = sum(subbuf.padded_subbuf_size for subbuf in batch)
        if stream.channel.is_live and isinstance(stream.output, RelayOutput):
            _bucket(stream, reader, batch, stream.output)
        elif isinstance(stream.output, RelayOutput):
            stream.output.write_subbuffers(batch, metadata_version=stream.metadata_version)
        elif stream.output is not None:
            stream.output.write_packets([subbuf.view for subbuf in batch])
        stream.consumed_bytes += padded
        return padded

    return sink


def _bucket(
    stream: Stream, reader: StreamReader, batch: Sequence[Subbuffer], output: RelayOutput
) -> None:
    """``metadata_bucket_consume`` for each sub-buffer of ``batch``, with the
    coherence ``get_next_subbuffer_metadata`` (ust-consumer.c) decides: the metadata
    cache is all in the ring, and this sub-buffer is the only one the ring holds (the
    session daemon pushes coherent units at once). A complete unit goes to the relay
    as one metadata packet (``metadata_bucket_flush``)."""
    cache = stream.channel.metadata_cache
    cache_empty = cache is None or cache.size == stream.ust_metadata_pushed
    reader.snapshot_sample_positions()
    produced = reader.snapshot_get_produced()
    max_sb = reader.get_max_subbuf_size()
    if stream.metadata_bucket is None:
        stream.metadata_bucket = MetadataBucket()
    for subbuf in batch:
        buffer_empty = (subbuf.position + max_sb - produced) & U64_MAX == 0
        unit = stream.metadata_bucket.fill(
            subbuf.view, subbuf.subbuf_size, cache_empty and buffer_empty
        )
        if unit is not None:
            data, padding = unit
            whole = Subbuffer(subbuf.position, len(data) - padding, len(data), memoryview(data))
            output.write_subbuffers([whole], metadata_version=stream.metadata_version)


def drain(stream: Stream, *, once: bool = False) -> Status:
    """Consume every ready sub-buffer of ``stream`` (``lttng_consumer_read_subbuffer``
    in a loop) through :func:`ustref.ring.drain.drain`: consecutive ready
    sub-buffers are taken, written and put back by batches (of at most
    :data:`BATCH_BYTES`), and a sub-buffer
    reserved but not yet committed ends the drain at once (``AGAIN``: its commit
    wakes the stream) where ``lttng_ust_ctl_get_next_subbuf()`` would sleep. For
    metadata, refill the ring from the cache as ``get_next_subbuffer_metadata``
    does. Returns the last reader status: ``NODATA`` once the stream is
    finalized and empty.

    After a rotation whose open-packet attempt found the buffer full, one
    sub-buffer is consumed alone and a packet opened at once, as
    ``post_consume_open_new_packet()`` (consumer-stream.c) does after
    each consumed packet.

    ``once``: one batch (:data:`BATCH_BYTES`) of sub-buffers at most (``Status.OK``:
    more may be ready), as C's data thread reads a ready stream once per round of
    its poll loop; the caller comes back for the rest
    (:meth:`~ustref.consumerd.core.Core.drain`)."""
    reader = stream.reader
    if reader is None:
        return Status.NODATA
    metadata = stream.channel.type is ChannelType.METADATA
    sink = _metadata_sink(stream, reader) if metadata else _data_sink(stream, reader)
    batch = max(1, min(IOV_MAX, BATCH_BYTES // reader.geometry.subbuf_size))
    left = batch  # with ``once``: sub-buffers this call may still take
    while True:
        reopen = (
            not metadata
            and not stream.opened_packet_in_current_trace_chunk
            and stream.trace_chunk is not None
        )
        result = ring_drain.drain(reader, sink, batch=1 if reopen else batch)
        if reopen and result.subbuffers:
            open_packet(stream)
        left -= result.subbuffers
        if result.status is Status.OK:
            if once and left <= 0:
                return Status.OK
            continue
        if metadata and result.status is Status.AGAIN and commit_one_metadata_packet(stream) > 0:
            continue
        return result.status


def commit_one_metadata_packet(stream: Stream) -> int:
    """``commit_one_metadata_packet()``: copy one packet's worth of cached metadata
    into the metadata ring buffer and switch the packet. Returns bytes written."""
    cache = stream.channel.metadata_cache
    if cache is None:
        return 0
    if cache.size == stream.ust_metadata_pushed:
        if stream.metadata_version == cache.version:
            return 0
        # A regeneration the stream has not seen (a snapshot's new metadata stream
        # starts at version 0): it starts over, its file emptied first.
        set_metadata_version(stream, cache.version)
        if cache.size == 0:
            return 0
    written = stream.channel.ust.write_one_packet(
        bytes(cache.contents[stream.ust_metadata_pushed :])
    )
    if written <= 0:
        log.error("writing one metadata packet failed (%d)", written)
        return 0
    stream.ust_metadata_pushed += written
    flush(stream, producer_active=True)
    stream.quiescent = True
    return written


def set_metadata_version(stream: Stream, version: int) -> None:
    """``metadata_stream_reset_cache_consumed_position`` then
    ``consumer_stream_metadata_set_version``: the metadata stream starts over from the
    cache of ``version``; what its output holds is dropped before the next write
    (``reset_metadata_flag``: the local file is truncated, a relay daemon gets
    RELAYD_RESET_METADATA) and so is a live stream's incomplete unit."""
    stream.ust_metadata_pushed = 0
    stream.metadata_version = version
    if stream.metadata_bucket is not None:
        stream.metadata_bucket.reset()
    if isinstance(stream.output, RelayOutput):
        stream.output.reset_metadata_file(version)
    elif stream.output is not None:
        stream.output.reset_metadata_file()


def on_hangup(stream: Stream) -> None:
    """``lttng_ustconsumer_on_stream_hangup()``: flush once, then drain to the end."""
    if not stream.quiescent:
        flush(stream, producer_active=False)
        stream.quiescent = True


def usage(stream: Stream) -> tuple[int, int]:
    """(buffer usage in bytes, total consumed): what ``sample_channel_positions``
    (consumer-timer.c) takes from one stream for the monitor timer."""
    reader = stream.reader
    if reader is None:
        return 0, stream.consumed_bytes
    reader.snapshot_sample_positions()
    produced = reader.snapshot_get_produced()
    consumed = reader.snapshot_get_consumed()
    return (produced - consumed) & U64_MAX, stream.consumed_bytes


def consume_start_pos(consumed: int, produced: int, nb_packets: int, max_sb_size: int) -> int:
    """``consumer_get_consume_start_pos()`` (consumer.c): where a snapshot limited
    to ``nb_packets`` per stream starts (0: everything still in the buffer)."""
    if not nb_packets:
        return consumed
    start = produced - (produced & (max_sb_size - 1))
    start = (start - max_sb_size * nb_packets) & U64_MAX
    if (start - consumed) & (1 << 63):
        return consumed
    return start


def snapshot_stream(stream: Stream, nb_packets: int) -> None:
    """The per-stream body of ``snapshot_channel()`` (ust-consumer.c): flush,
    sample the positions, copy the sub-buffers from the start position to the
    produced one into the stream's (index-less) output; an overwritten sub-buffer
    counts as a lost packet."""
    reader = stream.reader
    assert reader is not None
    if not stream.quiescent:
        flush(stream, producer_active=False)
    status = reader.snapshot()
    if status is not Status.OK:
        raise UstrefError(f"{stream.name}: lttng_ust_ctl_snapshot: {status.name}")
    produced = reader.snapshot_get_produced()
    max_sb = reader.get_max_subbuf_size()
    pos = consume_start_pos(reader.snapshot_get_consumed(), produced, nb_packets, max_sb)
    while (pos - produced) & (1 << 63):
        if reader.get_subbuf(pos) is not Status.OK:
            pos = (pos + max_sb) & U64_MAX
            stream.channel.lost_packets += 1
            continue
        try:
            padded = reader.get_padded_subbuf_size()
            if isinstance(stream.output, RelayOutput):
                size = reader.get_subbuf_size()
                view = memoryview(reader.read_subbuf(padded))
                stream.output.write_subbuffers([Subbuffer(pos, size, padded, view)])
            elif stream.output is not None:
                stream.output.write_packet([reader.read_subbuf(padded)], None)
        finally:
            reader.put_subbuf()
        pos = (pos + max_sb) & U64_MAX
