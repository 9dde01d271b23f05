"""One direction of one socket as a byte stream with its fd carriers.

The session daemon and the consumer talk over ``SOCK_STREAM`` Unix sockets:
message boundaries are not syscall boundaries. A :class:`ByteStream` gathers
the bytes of one (socket, direction) pair in order and remembers at which
byte each batch of ``SCM_RIGHTS`` descriptors arrived — on Linux the
descriptors travel with the first byte of the ``sendmsg`` that carried them,
which for lttcomm is always a 1-byte dummy payload (``lttcomm_send_fds_unix_sock``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class ByteStream:
    """Bytes fed so far, a read position, and ``{absolute byte: fd count}``."""

    data: bytearray = dataclasses.field(default_factory=bytearray)
    start: int = 0
    """Absolute stream offset of ``data[0]`` (consumed bytes are dropped)."""
    fds_at: dict[int, int] = dataclasses.field(default_factory=dict)
    closed: bool = False

    @property
    def offset(self) -> int:
        """Absolute offset of the next unread byte."""
        return self.start

    def feed(self, chunk: bytes, fd_count: int = 0) -> None:
        """Append one syscall's bytes; its ``fd_count`` fds ride on its first byte."""
        if fd_count:
            at = self.start + len(self.data)
            self.fds_at[at] = self.fds_at.get(at, 0) + fd_count
        self.data += chunk

    def available(self) -> int:
        return len(self.data)

    def peek(self, count: int) -> bytes:
        return bytes(self.data[:count])

    def take(self, count: int) -> tuple[bytes, int, int]:
        """Consume ``count`` bytes: (bytes, their start offset, fds riding on them)."""
        chunk = bytes(self.data[:count])
        begin = self.start
        del self.data[:count]
        self.start += count
        fds = 0
        for at in [a for a in self.fds_at if begin <= a < self.start]:
            fds += self.fds_at.pop(at)
        return chunk, begin, fds

    def fds_within(self, count: int) -> int:
        """How many fds ride on the next ``count`` bytes (without consuming)."""
        end = self.start + count
        return sum(n for at, n in self.fds_at.items() if self.start <= at < end)
