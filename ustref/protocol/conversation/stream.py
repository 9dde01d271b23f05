"""One direction of one socket as a byte stream with its fd carriers.

The session daemon and the consumer talk over ``SOCK_STREAM`` Unix sockets:
message boundaries are not syscall boundaries. A :class:`ByteStream` gathers
the bytes of one (socket, direction) pair in order and remembers at which
byte each batch of ``SCM_RIGHTS`` descriptors arrived. lttcomm always sends
descriptors on a 1-byte dummy payload of their own (``lttcomm_send_fds_unix_sock``),
and a Linux ``recvmsg`` on a stream socket stops right after the segment
that carries descriptors — but may glue segments queued before it to it. So
the descriptors of one ``recvmsg`` ride on its *last* byte.

A peer feeds the real descriptors; an observer of a recording only knows how
many there were, and feeds :data:`UNKNOWN_FD` placeholders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

UNKNOWN_FD = -1
"""A descriptor an observer knows of but does not hold."""


@dataclasses.dataclass
class ByteStream:
    """Bytes fed so far, a read position, and ``{absolute byte: descriptors}``."""

    data: bytearray = dataclasses.field(default_factory=bytearray)
    start: int = 0
    """Absolute stream offset of ``data[0]`` (consumed bytes are dropped)."""
    fds_at: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    closed: bool = False
    messages: int = 0
    """How many steps were decoded from this stream (the next one's index)."""

    @property
    def offset(self) -> int:
        """Absolute offset of the next unread byte."""
        return self.start

    def copy(self) -> ByteStream:
        return ByteStream(
            bytearray(self.data),
            self.start,
            {at: list(fds) for at, fds in self.fds_at.items()},
            self.closed,
            self.messages,
        )

    def feed(self, chunk: bytes, fds: Sequence[int] = ()) -> None:
        """Append one ``recvmsg``'s bytes; its ``fds`` ride on its last byte."""
        if fds:
            at = self.start + len(self.data) + max(len(chunk) - 1, 0)
            self.fds_at.setdefault(at, []).extend(fds)
        self.data += chunk

    def available(self) -> int:
        return len(self.data)

    def peek(self, count: int) -> bytes:
        return bytes(self.data[:count])

    def take(self, count: int) -> tuple[bytes, int, tuple[int, ...]]:
        """Consume ``count`` bytes: (bytes, their start offset, descriptors riding on them)."""
        chunk = bytes(self.data[:count])
        begin = self.start
        del self.data[:count]
        self.start += count
        fds: list[int] = []
        for at in sorted(a for a in self.fds_at if begin <= a < self.start):
            fds += self.fds_at.pop(at)
        return chunk, begin, tuple(fds)

    def fds_within(self, count: int) -> int:
        """How many fds ride on the next ``count`` bytes (without consuming)."""
        end = self.start + count
        return sum(len(fds) for at, fds in self.fds_at.items() if self.start <= at < end)
