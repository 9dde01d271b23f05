"""The consumer's local writers: trace chunks, stream files with tracefile rotation, CTF indexes.

Mirrors what lttng-tools v2.13.9 does with files on the consumer side
(src/common/trace-chunk.c, consumer/consumer-stream.c, consumer/consumer.c,
utils.c, index/index.c). Naming and rotation rules are pure functions in
:mod:`ustref.output.naming`; :mod:`ustref.output.runas` is the thin layer of
file operations with credentials. The on-disk layout is described in
``spec/consumer-output.md``.
"""

from __future__ import annotations

from ustref.output.chunk import ChunkMode, ChunkRegistry, CloseCommand, Credentials, TraceChunk
from ustref.output.index import IndexFile, PacketIndex, PacketIndexFileHeader, parse_index_file
from ustref.output.stream import StreamOutput

__all__ = [
    "ChunkMode",
    "ChunkRegistry",
    "CloseCommand",
    "Credentials",
    "IndexFile",
    "PacketIndex",
    "PacketIndexFileHeader",
    "StreamOutput",
    "TraceChunk",
    "parse_index_file",
]
