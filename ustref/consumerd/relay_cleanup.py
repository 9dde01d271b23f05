"""A relay daemon connection that failed: the consumer forgets it and its streams.

Mirrors ``lttng_consumer_cleanup_relayd`` (consumer.c), called by the C consumer on
an I/O error or a failing reply on the control or data socket of a relay daemon
connection (RELAYD_ADD_STREAM, RELAYD_STREAMS_SENT, RELAYD_SEND_INDEX, the metadata
and data writes, RELAYD_CLOSE_STREAM, the per-stream queries of DATA_PENDING,
RELAYD_END_DATA_PENDING, RELAYD_ROTATE_STREAMS; not the trace chunk commands nor
RELAYD_BEGIN_DATA_PENDING, whose failures are only answered):

1. ``consumer_destroy_relayd``: the pair leaves the relayd table and its sockets
   close, whatever its reference count (its control socket's exchange slot goes
   too: what waits on it fails);
2. ``update_endpoint_status_by_netidx``: every stream sending to it becomes
   inactive (:attr:`~ustref.consumerd.relay_stream.RelayOutput.inactive`): nothing
   more is sent for it, not even RELAYD_CLOSE_STREAM (``consumer_stream_close``
   finds no relay daemon);
3. the data and metadata threads, woken through their pipes, delete their inactive
   streams (``validate_endpoint_status_data_stream``,
   ``validate_endpoint_status_metadata_stream``): :func:`reap_inactive_streams`,
   which the core runs when the entry point that met the failure returns (never
   inside a drain). A deleted stream is no longer consumed: the application goes on
   tracing and its ring buffer discards (or overwrites) once full, as with C. A
   data stream drops its channel reference (``unref_channel``); the metadata stream
   held its channel's only one, so that channel goes (``consumer_del_metadata_stream``).

The C consumer sends nothing to the session daemon at that point (no
``lttng_consumer_send_error``); the session daemon learns it from the replies of
later commands (GET_CHANNEL: RELAYD_FAIL, ROTATE_CHANNEL: ROTATION_FAIL,
CREATE/CLOSE_TRACE_CHUNK: their failure codes, DATA_PENDING: 0, ...).
"""

from __future__ import annotations

import logging

from ustref.consumerd import lifetime
from ustref.consumerd.exchange import RelaydSock
from ustref.consumerd.registry import ChannelType
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.state import ConsumerState
from ustref.ids import RelaydId

log = logging.getLogger("ustref.consumerd")


def cleanup_relayd(state: ConsumerState, net: RelaydId) -> None:
    """Mirrors ``lttng_consumer_cleanup_relayd``: forget the pair ``net`` and close
    its sockets, mark its streams inactive, fail what waits on its control socket.
    A pair already gone is left alone (a second failure of the same relay)."""
    pair = state.registry.relayds.pop(net, None)
    if pair is None:
        return
    log.error("relayd %d: connection failed; cleaning up its streams", net)
    pair.close()
    state.stalled_relayds.discard(net)
    for stream in state.registry.streams():
        output = stream.output
        if isinstance(output, RelayOutput) and output.relayd.sock.net_index == net:
            output.inactive = True
            state.inactive_streams = True
    state.close_relayd_slot(RelaydSock(net))


def reap_inactive_streams(state: ConsumerState) -> None:
    """Mirrors ``validate_endpoint_status_data_stream`` and
    ``validate_endpoint_status_metadata_stream``: delete each stream of the data and
    metadata threads whose relay daemon is gone (``consumer_del_stream``,
    ``consumer_del_metadata_stream``). Nothing to do (and nothing walked) unless a
    relay was cleaned up since the last call."""
    if not state.inactive_streams:
        return
    state.inactive_streams = False
    for stream in list(state.registry.streams()):
        output = stream.output
        if not (isinstance(output, RelayOutput) and output.inactive and output.in_thread):
            continue
        channel = stream.channel
        log.error("stream %s: its relay daemon is gone; the stream is deleted", stream.name)
        if channel.type is ChannelType.METADATA:
            # The metadata stream held its channel's only reference.
            lifetime.destroy_channel(state, channel)
        else:
            lifetime.close_stream(stream)
            lifetime.release_channel(state, channel)
