"""Typed ids of the consumer's registries (``NewType`` over int) so keys cannot be swapped."""

from typing import NewType

ChannelKey = NewType("ChannelKey", int)
"""``lttng_consumer_channel.key`` (``uint64_t``), the session daemon's channel key."""
SessionId = NewType("SessionId", int)
"""``session_id`` of the consumer messages (``uint64_t``), the tracing session's id."""
RelaydId = NewType("RelaydId", int)
"""``net_seq_index`` / ``relayd_id`` (``uint64_t``): which relay daemon a stream goes to."""
ChunkId = NewType("ChunkId", int)
"""``lttng_trace_chunk`` id (``chunk_id``, ``uint64_t``)."""
StreamKey = NewType("StreamKey", int)
"""``lttng_consumer_stream.key`` (``uint64_t``), the consumer's stream key."""
