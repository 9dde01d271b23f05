"""Typed ids of the consumer's registries (``NewType`` over int) so keys cannot be swapped.

Also the one home of the all-ones ``uint64_t`` (:data:`U64_MAX`); this module
imports nothing of ustref, so anything may import it without a cycle.
"""

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

U64_MAX = 2**64 - 1
"""The all-ones ``uint64_t``: C's ``-1ULL`` / ``UINT64_MAX`` / ``0xFFFFFFFFFFFFFFFF``.

Both a sentinel on the wire ("no relay daemon", "no more streams", "unset" in
an index entry, a packet's size before it is closed) and the mask that wraps
Python integers to 64-bit unsigned arithmetic (``x & U64_MAX``). Every other
module names it through this constant; ``tests/test_u64_max.py`` fails on a
new literal copy.
"""
