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
