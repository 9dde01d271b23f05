"""The start-up of a consumer daemon's sockets, from either side.

As ``lttng-sessiond`` and ``lttng-consumerd`` do it at lttng-tools v2.13.9:

1. the session daemon listens on its error socket (``--consumerd-err-sock``)
   and spawns the consumer (``spawn_consumerd``, client.c);
2. the consumer connects to the error socket, listens on its command socket
   (``--consumerd-cmd-sock``) and writes the 4-byte
   ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY`` on the error socket
   (``consumer_thread_sessiond_poll``, consumer.c);
3. the session daemon reads that code (``thread_consumer_management``,
   manage-consumer.c), connects to the command socket for its commands and
   a second time for the metadata socket (``set_metadata_socket``); the
   consumer accepts both in that order, then closes its listener.

:func:`consumerd_side` is steps 2–3 for a consumer daemon (ustref's own);
:func:`sessiond_side` is step 3 for a session-daemon stand-in (the fuzzer).
Both return :class:`Sockets`; failures are
:class:`~ustref.errors.LaunchError` (timeouts, a wrong ready code) or
:class:`~ustref.errors.TransportError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket

from ustref.errors import LaunchError
from ustref.protocol.consumer import ERROR_SOCKET_CODE, ErrorSocketCode
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.transport.argv import ConsumerdArgv
from ustref.transport.framing import connect, listen, recv_exact, send_all

__all__ = ["READY", "Sockets", "consumerd_side", "sessiond_side"]

READY = LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY
"""The consumer's first code on the error socket: its command socket listens."""


@dataclasses.dataclass
class Sockets:
    """The three connected sockets between a session daemon and a consumer daemon."""

    error: socket.socket
    command: socket.socket
    metadata: socket.socket

    def close(self) -> None:
        for sock in (self.command, self.metadata, self.error):
            with contextlib.suppress(OSError):
                sock.close()


def consumerd_side(
    args: ConsumerdArgv, timeout: float | None = None, *, ready: bytes | None = None
) -> Sockets:
    """The consumer daemon's start-up: connect to the error socket, listen on the
    command socket, report :data:`READY`, accept the command then the metadata
    connection (``timeout`` bounds each accept).

    ``ready``: the bytes of the ready code, when a conversation machine made them
    (``conv.send(Socket.ERROR, ErrorSocketCode(code=READY))``); default: built here.
    """
    if ready is None:
        ready = ERROR_SOCKET_CODE.build(ErrorSocketCode(code=READY))
    error = connect(args.err_sock)
    try:
        listener = listen(args.cmd_sock)
        try:
            listener.settimeout(timeout)
            send_all(error, ready)
            accepted: list[socket.socket] = []
            try:
                for role in ("command", "metadata"):
                    try:
                        sock, _ = listener.accept()
                    except TimeoutError:
                        raise LaunchError(f"no {role} connection within {timeout} s") from None
                    sock.settimeout(None)
                    accepted.append(sock)
            except BaseException:
                for sock in accepted:
                    sock.close()
                raise
        finally:
            listener.close()
    except BaseException:
        error.close()
        raise
    return Sockets(error, accepted[0], accepted[1])


def sessiond_side(
    error_listener: socket.socket, cmd_path: str, timeout: float, *, why: str = ""
) -> Sockets:
    """The session daemon's start-up once the consumer is spawned: accept its error
    connection, read :data:`READY`, connect twice to ``cmd_path``.

    ``why`` is added to a failure's text (e.g. the consumer's log tail).
    """
    error_listener.settimeout(timeout)
    try:
        error, _ = error_listener.accept()
    except TimeoutError:
        raise LaunchError(f"no connection on the error socket within {timeout} s{why}") from None
    try:
        error.settimeout(timeout)
        try:
            code = ERROR_SOCKET_CODE.parse(recv_exact(error, ERROR_SOCKET_CODE.size)).code
        except Exception as exc:  # TransportError, RemoteProtocolError
            raise LaunchError(f"no {READY.name} on the error socket: {exc}{why}") from None
        if code != READY:
            raise LaunchError(f"expected {READY.name} on the error socket, got {code!r}{why}")
        error.settimeout(None)
        command = connect(cmd_path)
        try:
            metadata = connect(cmd_path)
        except BaseException:
            command.close()
            raise
    except BaseException:
        error.close()
        raise
    return Sockets(error, command, metadata)
