"""Draining a stream into its output: the consumer's data and metadata read paths.

Mirrors, at lttng-tools v2.13.9, ``lttng_consumer_read_subbuffer`` (consumer.c),
``consumer_stream_consume_mmap`` / ``consumer_stream_send_index``
(consumer-stream.c), the UST sub-buffer helpers of ust-consumer.c
(``get_next_subbuffer``, ``extract_data_subbuffer_info``, ``put_next_subbuffer``,
``commit_one_metadata_packet``, ``lttng_ustconsumer_on_stream_hangup``) and
``update_stream_stats`` (consumer.c). Sub-buffers are read with ustref's pure
reader (:class:`ustref.ring.reader.StreamReader`); flushes and metadata writes go
through the consumer's ust-ctl backend (:mod:`ustref.consumerd.ustctl_backend`).
"""

from __future__ import annotations

import logging

from ustref.consumerd.registry import ChannelType, Stream
from ustref.errors import UstrefError
from ustref.output.index import PacketIndex
from ustref.output.stream import StreamOutput
from ustref.ring.reader import Status

log = logging.getLogger("ustref.consumerd")

_U64_ALL_ONES = 2**64 - 1


def open_output(stream: Stream, *, with_index: bool = True) -> None:
    """``consumer_stream_create_output_files()``: open the stream's file in its chunk."""
    channel = stream.channel
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
    """``consumer_stream_close_output()``."""
    if stream.output is not None:
        stream.output.close()
        stream.output = None


def flush(stream: Stream, *, producer_active: bool) -> None:
    """``lttng_ustconsumer_flush_buffer()`` (``lttng_ust_ctl_flush_buffer``)."""
    stream.ust.flush(producer_active)


def open_packet(stream: Stream) -> bool:
    """``consumer_stream_open_packet()`` (consumer-stream.c 510-583): flush an empty
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
    """``update_stream_stats()`` (consumer.c): channel discarded-event and lost-packet
    counts from the packet's cumulative counters."""
    channel = stream.channel
    if discarded < stream.last_discarded_events:
        # The producer's counter wrapped; C adds 1ULL << (CAA_BITS_PER_LONG - 1)
        # (consumer-stream.c update_stream_stats), kept as is for the same counts.
        channel.discarded_events += (1 << 63) - stream.last_discarded_events + discarded
    else:
        channel.discarded_events += discarded - stream.last_discarded_events
    stream.last_discarded_events = discarded
    last = stream.last_sequence_number
    if last is not None and sequence_number > last + 1:
        channel.lost_packets += sequence_number - last - 1
    stream.last_sequence_number = sequence_number


def _consume_held(stream: Stream) -> None:
    """Write the held sub-buffer (padded, as ``consumer_stream_consume_mmap`` writes
    locally) and, for data streams, its CTF index entry; then put it back."""
    reader = stream.reader
    assert reader is not None
    padded = reader.get_padded_subbuf_size()
    index: PacketIndex | None = None
    if stream.channel.type is ChannelType.DATA:
        discarded = reader.get_events_discarded()
        sequence_number = reader.get_sequence_number()
        index = PacketIndex(
            offset=0,
            packet_size=reader.get_packet_size(),
            content_size=reader.get_content_size(),
            timestamp_begin=reader.get_timestamp_begin(),
            timestamp_end=reader.get_timestamp_end(),
            events_discarded=discarded,
            stream_id=reader.get_stream_id(),
            stream_instance_id=reader.get_instance_id(),
            packet_seq_num=sequence_number,
        )
        _update_stats(stream, discarded, sequence_number)
    data = reader.read_subbuf(padded)
    try:
        if stream.output is not None:
            stream.output.write_packet([data], index)
        stream.consumed_bytes += padded
    finally:
        reader.put_next_subbuf()
    if (
        index is not None
        and not stream.opened_packet_in_current_trace_chunk
        and stream.trace_chunk is not None
    ):
        # post_consume_open_new_packet() (consumer-stream.c 593-640): a rotation's
        # open-packet attempt found the buffer full; consuming made room.
        open_packet(stream)


def drain(stream: Stream) -> Status:
    """Consume every ready sub-buffer of ``stream`` (``lttng_consumer_read_subbuffer``
    in a loop); for metadata, refill the ring from the cache as
    ``get_next_subbuffer_metadata`` does. Returns the last reader status:
    ``NODATA`` once the stream is finalized and empty."""
    reader = stream.reader
    if reader is None:
        return Status.NODATA
    metadata = stream.channel.type is ChannelType.METADATA
    while True:
        status = reader.get_next_subbuf()
        if status is Status.OK:
            _consume_held(stream)
            continue
        if metadata and status is Status.AGAIN and commit_one_metadata_packet(stream) > 0:
            continue
        return status


def commit_one_metadata_packet(stream: Stream) -> int:
    """``commit_one_metadata_packet()``: copy one packet's worth of cached metadata
    into the metadata ring buffer and switch the packet. Returns bytes written."""
    cache = stream.channel.metadata_cache
    if cache is None:
        return 0
    if cache.size == stream.ust_metadata_pushed:
        if stream.metadata_version == cache.version:
            return 0
        # metadata_stream_reset_cache_consumed_position()
        stream.ust_metadata_pushed = 0
        stream.metadata_version = cache.version
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


def on_hangup(stream: Stream) -> None:
    """``lttng_ustconsumer_on_stream_hangup()``: flush once, then drain to the end."""
    if not stream.quiescent:
        flush(stream, producer_active=False)
        stream.quiescent = True
    stream.hangup_flush_done = True


def usage(stream: Stream) -> tuple[int, int]:
    """(buffer usage in bytes, total consumed): what ``sample_channel_positions``
    (consumer-timer.c) takes from one stream for the monitor timer."""
    reader = stream.reader
    if reader is None:
        return 0, stream.consumed_bytes
    reader.snapshot_sample_positions()
    produced = reader.snapshot_get_produced()
    consumed = reader.snapshot_get_consumed()
    return (produced - consumed) & _U64_ALL_ONES, stream.consumed_bytes


def consume_start_pos(consumed: int, produced: int, nb_packets: int, max_sb_size: int) -> int:
    """``consumer_get_consume_start_pos()`` (consumer.c): where a snapshot limited
    to ``nb_packets`` per stream starts (0: everything still in the buffer)."""
    if not nb_packets:
        return consumed
    start = produced - (produced & (max_sb_size - 1))
    start = (start - max_sb_size * nb_packets) & _U64_ALL_ONES
    if (start - consumed) & (1 << 63):
        return consumed
    return start


def snapshot_stream(stream: Stream, nb_packets: int) -> None:
    """The per-stream body of ``snapshot_channel()`` (ust-consumer.c 1076-1255): flush,
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
            pos = (pos + max_sb) & _U64_ALL_ONES
            stream.channel.lost_packets += 1
            continue
        try:
            padded = reader.get_padded_subbuf_size()
            if stream.output is not None:
                stream.output.write_packet([reader.read_subbuf(padded)], None)
        finally:
            reader.put_subbuf()
        pos = (pos + max_sb) & _U64_ALL_ONES
