"""Channel and stream lifetimes: deletion, references, rotation, hang-ups.

Mirrors, at lttng-tools v2.13.9, ``consumer_del_stream`` and
``consumer_del_metadata_stream`` (with ``consumer_stream_destroy``),
``consumer_del_channel`` (with ``lttng_ustconsumer_del_channel``/``_free_channel``),
``unref_channel`` with the channel thread's own reference (in
``consumer_thread_channel_poll``), ``lttng_consumer_rotate_stream`` and the hang-up paths of
``consumer_thread_channel_poll`` / ``consumer_thread_data_poll`` (consumer.c). Every function takes
the :class:`~ustref.consumerd.state.ConsumerState`; system effects (removing the ``--shm-path``
files) are queued as actions.
"""

from __future__ import annotations

import logging

from ustref.consumerd import streams
from ustref.consumerd.exchange import RemoveShmFiles
from ustref.consumerd.registry import Channel, ChannelType, Stream, close_fd
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.state import ConsumerState
from ustref.errors import UstrefError

log = logging.getLogger("ustref.consumerd")


def close_stream(stream: Stream) -> None:
    """``consumer_del_stream()``: close the output, destroy the ust-ctl stream (and
    with it the reader), forget it."""
    streams.close_output(stream)
    stream.trace_chunk = None
    stream.reader = None
    if stream.metadata_poll_pipe is not None:
        for fd in stream.metadata_poll_pipe:
            close_fd(fd)
        stream.metadata_poll_pipe = None
    try:
        stream.ust.destroy()
    except UstrefError as exc:
        log.error("stream %s: destroy: %s", stream.name, exc)
    if stream in stream.channel.streams:
        stream.channel.streams.remove(stream)


def destroy_channel(state: ConsumerState, channel: Channel) -> None:
    """``consumer_del_channel()``: streams, then the ust-ctl channel and its shm fds;
    the ``--shm-path`` files go by a :class:`~ustref.consumerd.exchange.RemoveShmFiles`
    action."""
    for stream in list(channel.streams):
        close_stream(stream)
    try:
        channel.ust.destroy()
    except UstrefError as exc:
        log.error("channel %d: destroy: %s", channel.key, exc)
    nr = len(channel.stream_fds)
    for fd in channel.stream_fds:
        close_fd(fd)
    channel.stream_fds = []
    if channel.shm_path or channel.root_shm_path:
        state.act(RemoveShmFiles(nr, channel.shm_path, channel.root_shm_path))
    state.registry.channels.pop(channel.key, None)
    state.memory_freed()


def release_channel(state: ConsumerState, channel: Channel) -> None:
    """Mirrors ``unref_channel`` and the channel thread's own reference (in
    ``consumer_thread_channel_poll``): a channel whose wait fd hung up is
    deleted (``consumer_del_channel``) once its last stream is gone — a dead
    per-PID app's buffers, pipes and shared memory are freed with it."""
    if channel.hung_up and not channel.streams and channel.key in state.registry.channels:
        destroy_channel(state, channel)


def channel_hangup(state: ConsumerState, channel: Channel) -> None:
    """The channel's wait fd hung up (``consumer_thread_channel_poll``): close the
    wake-up end of its streams (``consumer_close_channel_streams``) so that their
    wait fds hang up in turn when the application's ends close.

    A channel without ``monitor`` owns its streams (no thread reads them) and
    holds a single reference, the channel thread's: it is deleted at once, with
    its streams and its ``--shm-path`` files (``consumer_allocate_channel``,
    ``consumer_thread_channel_poll``)."""
    channel.wait_fd = -1
    channel.hung_up = True
    if not channel.monitor:
        destroy_channel(state, channel)
        return
    for stream in channel.streams:
        try:
            stream.ust.close_wakeup_fd()
        except UstrefError as exc:
            log.error("stream %s: %s", stream.name, exc)
    release_channel(state, channel)


def stream_hangup(state: ConsumerState, stream: Stream) -> None:
    """A stream's wait fd hung up (the app died; ``consumer_thread_data_poll``):
    ``lttng_ustconsumer_on_stream_hangup`` (flush once), drain to the end,
    ``consumer_del_stream``, and the channel reference it held."""
    try:
        streams.on_hangup(stream)
    except UstrefError as exc:
        log.error("stream %s: hang-up flush: %s", stream.name, exc)
    state.drain(stream, closing=True)
    close_stream(stream)
    release_channel(state, stream.channel)


def rotate_stream(state: ConsumerState, stream: Stream) -> None:
    """Mirrors ``lttng_consumer_rotate_stream``: the stream moves to
    its channel's current chunk; when that is still the stream's own chunk, the
    rotation has no next chunk and the stream belongs to none until one comes. A
    metadata stream entering a chunk re-dumps the whole cache there
    (``consumer_metadata_stream_dump``)."""
    new = stream.channel.trace_chunk
    if new is stream.trace_chunk:
        new = None
    if isinstance(stream.output, RelayOutput):
        # net_seq_idx set: the relay daemon rotates the stream (RELAYD_ROTATE_STREAMS).
        stream.trace_chunk = new
        if new is not None and stream.channel.type is ChannelType.METADATA:
            stream.ust_metadata_pushed = 0
            state.drain(stream)
        return
    if stream.output is not None:
        stream.output.switch_chunk(new)
        if new is None:
            streams.close_output(stream)
    stream.trace_chunk = new
    if new is not None and stream.output is None and stream.reader is not None:
        streams.open_output(stream)
    if new is not None and stream.channel.type is ChannelType.METADATA:
        stream.ust_metadata_pushed = 0
        state.drain(stream)
