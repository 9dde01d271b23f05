"""Typed ids of the consumer's registries (``typing.NewType`` over int) so keys cannot be swapped."""
from typing import NewType
ChannelKey = NewType("ChannelKey", int)
SessionId = NewType("SessionId", int)
RelaydId = NewType("RelaydId", int)
ChunkId = NewType("ChunkId", int)
StreamKey = NewType("StreamKey", int)
