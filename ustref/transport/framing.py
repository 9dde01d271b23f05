"""lttcomm framing on Unix stream sockets: bytes, and descriptors on their 1-byte carrier.

The session daemon, the consumer daemon and liblttng-ust-ctl talk over
``AF_UNIX``/``SOCK_STREAM`` sockets. Messages are sent whole
(``lttcomm_send_unix_sock``, src/common/unix.c @ v2.13.9, loops until every
byte is out) and read whole (``lttcomm_recv_unix_sock``, ``MSG_WAITALL``).
Descriptors travel as ``SCM_RIGHTS`` on a separate ``sendmsg`` whose payload
is one dummy byte ``\\0`` (``lttcomm_send_fds_unix_sock``; at most
``LTTCOMM_MAX_SEND_FDS`` of them); the receiver reads that byte with the
descriptors (``lttcomm_recv_fds_unix_sock``).

Every failure leaves as :class:`~ustref.errors.TransportError` (never a bare
:class:`OSError`); end of stream in the middle of a message as well.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
from collections.abc import Iterable, Sequence

from ustref.errors import TransportError
from ustref.protocol.constants import (
    FD_CARRIER,
    LTTCOMM_MAX_SEND_FDS,
    LTTNG_SESSIOND_COMM_MAX_LISTEN,
)

__all__ = [
    "FD_CARRIER",
    "Received",
    "close_fds",
    "connect",
    "hand_over",
    "listen",
    "recv_exact",
    "recv_fds",
    "recv_some",
    "send_all",
    "send_fds",
    "split_for_fds",
]


def _error(operation: str, sock: socket.socket | None, exc: OSError) -> TransportError:
    name = ""
    if sock is not None:
        with contextlib.suppress(OSError):
            name = str(sock.getsockname() or sock.getpeername() or "")
    return TransportError(operation, exc.strerror or str(exc), path=name, errno=exc.errno)


def listen(path: str, backlog: int = LTTNG_SESSIOND_COMM_MAX_LISTEN) -> socket.socket:
    """A listening Unix socket at ``path`` (a stale file there is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise TransportError(
            "listen", exc.strerror or str(exc), path=path, errno=exc.errno
        ) from None
    return sock


def connect(path: str) -> socket.socket:
    """A Unix stream socket connected to ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise TransportError("connect", reason, path=path, errno=exc.errno) from None
    return sock


def send_all(sock: socket.socket, data: bytes, fds: Sequence[int] = ()) -> None:
    """Send every byte of ``data``; ``fds`` (if any) ride on the first ``sendmsg``.

    For lttcomm, descriptors go alone on :data:`FD_CARRIER` (see :func:`send_fds`);
    a relay that forwards a ``recvmsg`` as it came passes its bytes and fds here.
    """
    view = memoryview(data)
    try:
        if fds:
            sent = socket.send_fds(sock, [view], list(fds))
        elif view:
            sent = sock.send(view)
        else:
            return
        while sent < len(view):
            view = view[sent:]
            sent = sock.send(view)
    except OSError as exc:
        raise _error("send", sock, exc) from None


def send_fds(sock: socket.socket, fds: Sequence[int]) -> None:
    """``lttcomm_send_fds_unix_sock``: ``fds`` as ``SCM_RIGHTS`` on one dummy byte."""
    if not 0 < len(fds) <= LTTCOMM_MAX_SEND_FDS:
        raise TransportError("send", f"{len(fds)} fds (1…{LTTCOMM_MAX_SEND_FDS} per message)")
    send_all(sock, FD_CARRIER, fds)


def hand_over(sock: socket.socket, messages: Iterable[tuple[bytes, Sequence[int]]]) -> None:
    """Send each ``(bytes, fds)`` in order (:func:`send_all`) and close every message's
    descriptors, sent or not: they were the messages' own copies (the ust-ctl hand-over
    of :mod:`ustref.consumerd.ring_backend`). Stops at the first failure."""
    pending = list(messages)
    try:
        for data, fds in pending:
            send_all(sock, data, fds)
    finally:
        close_fds([fd for _data, fds in pending for fd in fds])


@dataclasses.dataclass(frozen=True)
class Received:
    """One ``recvmsg``: its bytes, the descriptors that came with them, and whether
    the kernel truncated the control data (descriptors were lost)."""

    data: bytes
    fds: tuple[int, ...]
    truncated: bool = False

    @property
    def eof(self) -> bool:
        """The peer hung up (nothing came, not even descriptors)."""
        return not self.data and not self.fds


def recv_some(
    sock: socket.socket, size: int = 1 << 17, max_fds: int = LTTCOMM_MAX_SEND_FDS
) -> Received:
    """One ``recvmsg`` of at most ``size`` bytes and ``max_fds`` descriptors.

    A reset connection reads as end of stream; the caller owns the descriptors.
    """
    try:
        data, fds, flags, _addr = socket.recv_fds(sock, size, max_fds)
    except ConnectionResetError:
        return Received(b"", ())
    except OSError as exc:
        raise _error("recv", sock, exc) from None
    return Received(data, tuple(fds), bool(flags & socket.MSG_CTRUNC))


def recv_exact(sock: socket.socket, count: int) -> bytes:
    """``lttcomm_recv_unix_sock``: exactly ``count`` bytes (no descriptors may come).

    End of stream first, descriptors on the way or the socket's timeout raise
    :class:`~ustref.errors.TransportError`.
    """
    data = bytearray()
    while len(data) < count:
        got = recv_some(sock, count - len(data), 1)
        if got.fds:
            close_fds(got.fds)
            raise TransportError("recv", f"unexpected descriptor(s) after {len(data)} bytes")
        if got.eof:
            raise TransportError("recv", f"end of stream after {len(data)} of {count} bytes")
        data += got.data
    return bytes(data)


def recv_fds(sock: socket.socket, count: int) -> tuple[int, ...]:
    """``lttcomm_recv_fds_unix_sock``: the dummy byte with exactly ``count`` descriptors."""
    got = recv_some(sock, 1, count)
    if got.data != FD_CARRIER or len(got.fds) != count or got.truncated:
        close_fds(got.fds)
        raise TransportError(
            "recv",
            f"expected {FD_CARRIER!r} with {count} fd(s), got {got.data!r} with {len(got.fds)}",
        )
    return got.fds


def close_fds(fds: Sequence[int]) -> None:
    """Close descriptors we own, ignoring those already closed."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def split_for_fds(data: bytes, fds: Sequence[int]) -> list[tuple[bytes, list[int]]]:
    """How a relay forwards one ``recvmsg``: as is, or split before its last byte when
    it brought descriptors with more than one byte.

    The kernel glues queued bytes to the fd carrier that follows them into one
    ``recvmsg``; forwarded glued, the descriptors would ride on the earlier
    message's first byte and the receiver (reading that message without
    ``SCM_RIGHTS``) would lose them. Split, each piece arrives as it was sent.
    """
    if fds and len(data) > 1:
        return [(data[:-1], []), (data[-1:], list(fds))]
    return [(data, list(fds))]
