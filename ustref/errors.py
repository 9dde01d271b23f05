"""The one exception hierarchy of ustref.

Two families, as in h11: :class:`LocalProtocolError` when *we* (the caller of
ustref's API) asked for something impossible, :class:`RemoteProtocolError` when
a peer (a daemon, a capture file, a fuzzer) handed us bytes that break the
protocol. :class:`LayoutError` is the shared-memory counterpart of the latter:
the ring-buffer files do not have the shape lttng-ust 2.13.5 gives them.

No ``construct``, ``struct`` or ``ctypes`` exception ever leaves ustref: each
decoder converts them at its boundary into one of these.
"""

from __future__ import annotations


class UstrefError(Exception):
    """Base of every error ustref raises on purpose."""


class LocalProtocolError(UstrefError):
    """The API was misused: a value that cannot be encoded, a call out of order.

    A conversation machine that refuses what *we* were about to send names the
    ``socket`` and the ``step`` it expected instead (both empty elsewhere).
    """

    def __init__(self, reason: str, *, socket: str = "", step: str = "") -> None:
        self.reason = reason
        self.socket = socket
        self.step = step
        where = " ".join(part for part in (socket and f"{socket} socket", step) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class RemoteProtocolError(UstrefError):
    """A peer sent bytes that do not follow the protocol.

    Carries the name of the message being decoded (C struct or conversation
    step), the dotted C path of the field at fault (``u.ask_channel.pathname``;
    empty when the fault is the message as a whole) and the byte offset from the
    start of the message, when known. A conversation machine adds where the bytes
    travelled: ``socket`` (``command``, ``metadata``…), ``direction``
    (``sessiond->consumerd``…), ``sender`` — the peer that broke the rules
    (``sessiond`` or ``consumerd``) — and ``index``, the message's number on
    its (socket, direction) stream. The text is rendered once: the machine
    names the socket and direction in ``message``.
    """

    def __init__(
        self,
        reason: str,
        *,
        message: str = "",
        field: str = "",
        offset: int | None = None,
        socket: str = "",
        direction: str = "",
        sender: str = "",
        index: int | None = None,
    ) -> None:
        self.reason = reason
        self.message = message
        self.field = field
        self.offset = offset
        self.socket = socket
        self.direction = direction
        self.sender = sender
        self.index = index
        super().__init__(self._render())

    def _render(self) -> str:
        where = " → ".join(part for part in (self.message, self.field) if part)
        at = f" at offset {self.offset}" if self.offset is not None else ""
        return f"{where}: {self.reason}{at}" if where else f"{self.reason}{at}"


class LayoutError(UstrefError):
    """Shared memory is inconsistent with lttng-ust's ring-buffer layout.

    Names the file (or fd) and what is inconsistent, with the offset when known.
    """

    def __init__(self, reason: str, *, source: str = "", offset: int | None = None) -> None:
        self.reason = reason
        self.source = source
        self.offset = offset
        at = f" at offset {offset:#x}" if offset is not None else ""
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{reason}{at}")


class TransportError(UstrefError):
    """A socket operation failed (the peer is gone, the kernel refused).

    ``operation`` (``send``, ``recv``, ``connect``, ``listen``…), ``path`` or
    socket name when known, ``errno`` of the underlying :class:`OSError`.
    """

    def __init__(
        self, operation: str, reason: str, *, path: str = "", errno: int | None = None
    ) -> None:
        self.operation = operation
        self.reason = reason
        self.path = path
        self.errno = errno
        target = f" {path}" if path else ""
        super().__init__(f"{operation}{target}: {reason}")


class SocketClosedError(UstrefError):
    """A peer closed a socket an exchange reads (EOF: a C ``recv`` returning 0), or
    the socket was already closed when the exchange came to it. ``socket`` names it
    (``metadata``, ``relayd 3 control``…)."""

    def __init__(self, socket: str, *, reason: str = "closed") -> None:
        self.socket = socket
        super().__init__(f"the {socket} socket {reason}")


class LaunchError(UstrefError):
    """A child process could not be started, or did not get ready.

    ``argv`` is what was started (empty if unknown), ``log_tail`` the end of its
    log when there is one.
    """

    def __init__(self, reason: str, *, argv: tuple[str, ...] = (), log_tail: str = "") -> None:
        self.reason = reason
        self.argv = argv
        self.log_tail = log_tail
        program = f"{argv[0]}: " if argv else ""
        tail = f"\nlog (tail):\n{log_tail}" if log_tail else ""
        super().__init__(f"{program}{reason}{tail}")


class OutputError(UstrefError):
    """A file operation of the consumer's local output failed (trace chunk, stream or index file).

    Names the operation (``open``, ``mkdir``, ``unlink``, ``rename``, ``write``…),
    the path relative to the directory it applies to, and the ``errno`` when the
    system refused it (``None`` for a refusal by ustref's own rules).
    """

    def __init__(self, reason: str, *, operation: str, path: str = "", errno: int | None = None):
        self.reason = reason
        self.operation = operation
        self.path = path
        self.errno = errno
        where = f" {path!r}" if path else ""
        super().__init__(f"{operation}{where}: {reason}")
