"""The consumer's channels and streams, keyed by typed ids.

Mirrors ``struct lttng_consumer_channel`` and ``struct lttng_consumer_stream``
(src/common/consumer/consumer.h @ v2.13.9) and the hash tables of ``struct
lttng_consumer_global_data`` (``channel_ht``, ``stream_list_ht`` by session id);
trace chunks live in :class:`ustref.output.chunk.ChunkRegistry`.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from ustref.consumerd.metadata import MetadataBucket, MetadataCache
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import UstChannel, UstStream
from ustref.ids import ChannelKey, RelaydId, SessionId, StreamKey
from ustref.output import naming
from ustref.output.chunk import TraceChunk
from ustref.output.index import PacketIndex
from ustref.output.stream import StreamOutput
from ustref.ring.reader import StreamReader
from ustref.ring.timers import PeriodicTimer

T = TypeVar("T")


class ChannelType(enum.Enum):
    """``enum consumer_channel_type`` (consumer.h)."""

    METADATA = 0
    DATA = 1


@dataclass(frozen=True)
class RelayPacket:
    """One data packet for a relay daemon (``lttng_consumer_on_read_subbuffer_mmap``'s
    relay branch, then ``consumer_stream_send_index``): its sequence number on the
    connection, the ``lttcomm_relayd_data_hdr`` and content for the data socket, and
    its index for the control socket."""

    net_seq_num: int
    data: bytes
    index: PacketIndex


@dataclass(eq=False)
class Stream:
    """Mirrors ``struct lttng_consumer_stream`` (the UST part)."""

    key: StreamKey
    channel: Channel
    cpu: int
    ust: UstStream
    """``stream->ustream``: the ust-ctl stream (it holds the reader reference)."""
    wait_fd: int
    """What the consumer polls: the stream's wait pipe, or for metadata the
    consumer's own ``ust_metadata_poll_pipe`` read end."""
    reader: StreamReader | None = None
    output: StreamOutput | RelayOutput | None = None
    """The local stream file, or the relay daemon stream (``net_seq_idx`` set)."""
    trace_chunk: TraceChunk | None = None
    quiescent: bool = False
    opened_packet_in_current_trace_chunk: bool = True
    """``stream->opened_packet_in_current_trace_chunk``: a buffer is created with an
    open packet (consumer-stream.c ``consumer_stream_create``); a rotation clears it,
    and an open-packet attempt (after the rotation, or after a consumed packet) sets
    it again. A rotation's flush is active (no empty packet) while it is set."""
    last_discarded_events: int = 0
    last_sequence_number: int | None = None
    ust_metadata_pushed: int = 0
    metadata_version: int = 0
    metadata_poll_pipe: tuple[int, int] | None = None
    consumed_bytes: int = 0
    metadata_bucket: MetadataBucket | None = None
    """``stream->metadata_bucket``: a live session's metadata stream sends complete
    units only (created at its first sub-buffer)."""
    relay_packets: list[RelayPacket] = field(default_factory=list)
    """Packets of a data stream sent to a relay daemon, taken from the ring but not
    yet written: the core sends each with its index, in order, after the drain
    (:meth:`~ustref.consumerd.core.Core.drain`)."""
    relay_rotation_at: int | None = None
    """The packet sequence number at which the relay daemon was told to rotate this
    stream (RELAYD_ROTATE_STREAMS), until a packet at or past it is queued: the
    packets on either side of it never share an exchange (see
    :meth:`~ustref.consumerd.core.Core.drain`)."""
    relay_batches: int = 0
    """Exchanges of this stream's packets queued or running on its relay's slot."""
    relay_drain_wanted: bool = False
    """A wake-up found :data:`~ustref.consumerd.core.RELAY_BATCH_DEPTH` batches
    queued and left the sub-buffers in the ring: drain once one is answered."""
    waiting_on_metadata: int = 0
    """``stream->waiting_on_metadata``, counted: index exchanges of this stream
    still synchronising metadata; the live timer leaves the stream alone meanwhile."""
    missed_metadata_flush: bool = False
    """``stream->missed_metadata_flush``: the live timer fired while the stream waited
    on metadata; its beacon goes after the index."""
    closing_output: RelayOutput | None = None
    """A relay output closed while indexes still waited on metadata: its
    RELAYD_CLOSE_STREAM goes after them."""

    @property
    def name(self) -> str:
        """``stream->name``: ``<channel>_<cpu>``, or ``metadata``."""
        if self.channel.type is ChannelType.METADATA:
            return naming.METADATA_NAME
        return naming.data_stream_name(self.channel.name, self.cpu)


@dataclass(eq=False)
class Channel:
    """Mirrors ``struct lttng_consumer_channel`` (what ASK_CHANNEL_CREATION carries)."""

    key: ChannelKey
    session_id: SessionId
    pathname: str
    name: str
    type: ChannelType
    tracefile_size: int
    tracefile_count: int
    session_id_per_pid: int
    monitor: bool
    ust_app_uid: int
    monitor_timer_interval_us: int
    switch_timer_interval_us: int
    ust: UstChannel
    """``channel->uchan``: the ust-ctl channel."""
    stream_fds: list[int]
    trace_chunk: TraceChunk | None = None
    shm_path: str = ""
    """``channel->shm_path``: with ``lttng create --shm-path``, the prefix of the
    stream files (``<shm_path><cpu>``); empty for anonymous shm."""
    root_shm_path: str = ""
    """``channel->root_shm_path``: the session's shm directory, emptied at the end."""
    is_live: bool = False
    """``channel->is_live``: a live session's channel (metadata sent in complete
    units, each data packet's index after a metadata synchronisation)."""
    relayd_id: RelaydId | None = None
    """``channel->relayd_id``: the relay daemon connection its streams go to (``None``:
    a local trace)."""
    wait_fd: int = -1
    """``channel->wait_fd`` (``lttng_ust_ctl_channel_get_wait_fd``), polled once the
    channel is handed over: its hang-up means the app side is gone."""
    hung_up: bool = False
    """The channel's wait fd hung up (``consumer_thread_channel_poll`` released the
    channel thread's reference): the channel goes with its last stream."""
    streams: list[Stream] = field(default_factory=list)
    sent_to_sessiond: bool = False
    discarded_events: int = 0
    lost_packets: int = 0
    metadata_cache: MetadataCache | None = None
    monitor_timer: PeriodicTimer | None = None
    """``consumer_timer_monitor_start()``: data channels with a monitor interval."""
    live_timer: PeriodicTimer | None = None
    """``consumer_timer_live_start()``: data channels of a live session
    (``live_timer``, consumer-timer.c): flush each stream, or send a beacon index."""
    metadata_timer: PeriodicTimer | None = None
    """Metadata channels with a switch timer: ``metadata_switch_timer``
    (consumer-timer.c) asks the session daemon for new metadata at each firing."""

    @property
    def metadata_stream(self) -> Stream | None:
        if self.type is ChannelType.METADATA and self.streams:
            return self.streams[0]
        return None


@dataclass(eq=False)
class RelaydPair:
    """``struct consumer_relayd_sock_pair`` (consumer.h): the control and data
    sockets of one relay daemon connection, already handshaken by the session
    daemon, with the protocol version it agreed (``control_sock.major``/``minor``).
    ``refcount`` counts the streams sending to it; ``destroy_flag`` is
    ``consumer_flag_relayd_for_destroy``'s: the pair goes with its last stream."""

    sessiond_session_id: SessionId
    relayd_session_id: int = 0
    control_fd: int | None = None
    data_fd: int | None = None
    major: int = 2
    minor: int = 4
    refcount: int = 0
    destroy_flag: bool = False

    def close(self) -> None:
        close_fd(self.control_fd)
        close_fd(self.data_fd)
        self.control_fd = self.data_fd = None


class ChannelTable(dict[ChannelKey, Channel]):
    """``channel_ht``: a dict whose :attr:`version` changes whenever a channel comes
    or goes, so that the core's timer bookkeeping is rebuilt only then (reads are
    the plain dict's)."""

    version: int = 0

    def __setitem__(self, key: ChannelKey, value: Channel) -> None:
        self.version += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: ChannelKey) -> None:
        self.version += 1
        super().__delitem__(key)

    @overload
    def pop(self, key: ChannelKey, /) -> Channel: ...
    @overload
    def pop(self, key: ChannelKey, default: Channel | T, /) -> Channel | T: ...
    def pop(self, key: ChannelKey, *default: object) -> object:
        self.version += 1
        return super().pop(key, *default)

    def popitem(self) -> tuple[ChannelKey, Channel]:
        self.version += 1
        return super().popitem()

    def setdefault(self, key: ChannelKey, default: Channel, /) -> Channel:
        self.version += 1
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.version += 1
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self.version += 1
        super().clear()


class Registry:
    """The channel table, the relayd table and the stream key counter
    (``the_consumer_data``: ``channel_ht``, ``relayd_ht``)."""

    def __init__(self) -> None:
        self.channels = ChannelTable()
        self.relayds: dict[RelaydId, RelaydPair] = {}
        self._next_stream_key = 0

    def next_stream_key(self) -> StreamKey:
        """``consumer_get_key()`` mirrored for streams: keys from 0 upwards."""
        key = StreamKey(self._next_stream_key)
        self._next_stream_key += 1
        return key

    def find(self, key: ChannelKey) -> Channel | None:
        """``consumer_find_channel()``."""
        return self.channels.get(key)

    def of_session(self, session_id: SessionId) -> Iterator[Channel]:
        for channel in list(self.channels.values()):
            if channel.session_id == session_id:
                yield channel

    def streams(self) -> Iterator[Stream]:
        for channel in list(self.channels.values()):
            yield from channel.streams


def close_fd(fd: int | None) -> None:
    """Close ``fd`` if it is one; errors (already closed) are not the caller's concern."""
    if fd is None or fd < 0:
        return
    with contextlib.suppress(OSError):
        os.close(fd)
