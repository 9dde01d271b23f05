"""Tests of ustref.output."""

from __future__ import annotations

from ustref.output.index import PacketIndex
from ustref.ring.drain import PacketInfo


def info_of(entry: PacketIndex) -> PacketInfo:
    """The sub-buffer ``info.data`` that ``PacketIndex.populate`` turns into ``entry``
    (at ``entry.offset``)."""
    return PacketInfo(
        packet_size=entry.packet_size,
        content_size=entry.content_size,
        timestamp_begin=entry.timestamp_begin,
        timestamp_end=entry.timestamp_end,
        events_discarded=entry.events_discarded,
        sequence_number=entry.packet_seq_num,
        stream_id=entry.stream_id,
        stream_instance_id=entry.stream_instance_id,
    )
