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
    """The API was misused: a value that cannot be encoded, a call out of order."""


class RemoteProtocolError(UstrefError):
    """A peer sent bytes that do not follow the protocol.

    Carries the name of the message being decoded (C struct or conversation
    step), the dotted C path of the field at fault (``u.ask_channel.pathname``;
    empty when the fault is the message as a whole) and the byte offset from the
    start of the message, when known.
    """

    def __init__(
        self,
        reason: str,
        *,
        message: str = "",
        field: str = "",
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.message = message
        self.field = field
        self.offset = offset
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
