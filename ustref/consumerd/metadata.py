"""The consumer's metadata cache.

Mirrors src/common/consumer/consumer-metadata-cache.c @ v2.13.9 (``struct
consumer_metadata_cache``, ``consumer_metadata_cache_write``): the session daemon
pushes metadata at an offset with a version; a new version (``lttng regenerate
metadata``) resets the cache, and the metadata stream then starts over.
"""

from __future__ import annotations

from ustref.errors import RemoteProtocolError


class MetadataCache:
    """Mirrors ``struct consumer_metadata_cache``: ``contents`` and ``version``."""

    def __init__(self) -> None:
        self.contents = bytearray()
        self.version = 0

    @property
    def size(self) -> int:
        return len(self.contents)

    def write(self, offset: int, data: bytes, version: int) -> bool:
        """``consumer_metadata_cache_write()``: store ``data`` at ``offset``.

        Returns whether the version changed (the cache was reset first, as
        ``metadata_cache_reset`` does). A write that would leave a hole raises
        :class:`RemoteProtocolError`.
        """
        changed = version != self.version
        if changed:
            self.contents.clear()
            self.version = version
        if offset > len(self.contents):
            raise RemoteProtocolError(
                f"metadata pushed at offset {offset} beyond the cache size {len(self.contents)}",
                message="PUSH_METADATA",
            )
        end = offset + len(data)
        self.contents[offset:end] = data
        return changed


class MetadataBucket:
    """Mirrors ``struct metadata_bucket`` (src/common/consumer/metadata-bucket.c @
    v2.13.9): the metadata sub-buffers of a live session's metadata stream gathered
    until one is *coherent*, then sent to the relay daemon as one unit, so that a
    live viewer never reads a metadata file cut in the middle of a declaration
    (``consumer_stream_enable_metadata_bucketization``)."""

    def __init__(self) -> None:
        self.content = bytearray()
        self.buffer_count = 0

    def reset(self) -> None:
        """``metadata_bucket_reset``: drop what was gathered (a new metadata version)."""
        self.content.clear()
        self.buffer_count = 0

    def fill(self, view: memoryview, subbuf_size: int, coherent: bool) -> tuple[bytes, int] | None:
        """``metadata_bucket_fill``: add one sub-buffer (``view`` holds its padded
        bytes). An incoherent one is kept, padding included; a coherent one ends the
        unit: returns the bytes to send and the padding left off at their end (the
        last sub-buffer's only; the relay daemon reconstructs it), and empties the
        bucket. ``None`` while the unit is incomplete."""
        if not coherent or self.buffer_count:
            self.content += view
        self.buffer_count += 1
        if not coherent:
            return None
        flushed = bytes(self.content) if self.content else bytes(view)
        self.reset()
        return flushed, len(view) - subbuf_size
