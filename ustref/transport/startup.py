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

:func:`consumerd_side` is steps 2–3 for a consumer daemon (ustref's own, and the
capture tests' fake one); with a :class:`HealthSocket` it also does what
lttng-consumerd's health thread does meanwhile (``thread_manage_health``,
health-consumerd.c): listen on the health socket between connecting the error
socket and listening on the command socket, and answer health queries while it
waits for the two connections;
:func:`sessiond_side` is step 3 for a session-daemon stand-in (the fuzzer).
Both return :class:`Sockets`; failures are
:class:`~ustref.errors.LaunchError` (timeouts, a wrong ready code) or
:class:`~ustref.errors.TransportError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import select
import socket
import sys
import time
from pathlib import Path

from ustref.errors import LaunchError, TransportError
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.transport.argv import ConsumerdArgv
from ustref.transport.framing import connect, listen, recv_exact, send_all

__all__ = [
    "READY",
    "READY_BYTES",
    "HealthSocket",
    "Sockets",
    "consumerd_side",
    "sessiond_side",
]

log = logging.getLogger("ustref.transport")

READY = LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY
"""The consumer's first code on the error socket: its command socket listens."""
READY_BYTES = READY.to_bytes(4, sys.byteorder)
""":data:`READY` as ``ERROR_SOCKET_CODE`` (:mod:`ustref.protocol.consumer`) builds
``ErrorSocketCode(code=READY)``: a 4-byte native ``int``. Written out here so that a
consumer says ready before it imports the consumer's grammar (42 ms, 35 dataclasses);
tests/transport/test_transport.py checks that the two agree."""


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


@dataclasses.dataclass
class HealthSocket:
    """A health socket as ``thread_manage_health`` (health-consumerd.c @ v2.13.9) serves
    it: a listener at :attr:`path`; each client sends one :attr:`request_size`-byte
    query, gets :attr:`reply` and is closed.

    What the query and reply mean (``struct health_comm_msg``/``health_comm_reply``)
    is the caller's; this class only moves them.
    """

    path: str
    request_size: int
    reply: bytes
    mode: int | None = None
    """Permissions set on the socket file once bound (C: ``0660`` when root), or none."""
    timeout: float = 5.0
    """How long one client may take to send its query."""
    listener: socket.socket | None = None
    """The listening socket, once :meth:`open`."""

    def open(self) -> socket.socket:
        """``lttcomm_create_unix_sock`` (its directory made first), ``chmod`` to
        :attr:`mode`, listen."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise TransportError("listen", reason, path=self.path, errno=exc.errno) from None
        sock = listen(self.path)
        if self.mode is not None:
            try:
                os.chmod(self.path, self.mode)
            except OSError as exc:
                sock.close()
                reason = exc.strerror or str(exc)
                raise TransportError("chmod", reason, path=self.path, errno=exc.errno) from None
        self.listener = sock
        return sock

    def answer(self) -> None:
        """Accept one client, read its query, send :attr:`reply`, close; a client that
        sends nothing (or fails) is closed without a reply, as C does."""
        if self.listener is None:
            raise TransportError("accept", "the health socket is not open", path=self.path)
        try:
            conn, _ = self.listener.accept()
        except OSError as exc:
            log.debug("health socket: %s", exc)
            return
        with conn:
            conn.settimeout(self.timeout)
            try:
                recv_exact(conn, self.request_size)
                send_all(conn, self.reply)
            except TransportError as exc:
                log.debug("health client: %s", exc)

    def close(self) -> None:
        """Close the listener and remove the socket file."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _accept(
    listener: socket.socket, role: str, timeout: float | None, health: HealthSocket | None
) -> socket.socket:
    """Accept one connection on ``listener`` within ``timeout`` seconds (none: wait
    forever), answering health queries meanwhile."""
    deadline = None if timeout is None else time.monotonic() + timeout
    watched = (
        [listener] if health is None or health.listener is None else [listener, health.listener]
    )
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            ready, _, _ = select.select(watched, [], [], left)
        except OSError as exc:
            raise TransportError("accept", exc.strerror or str(exc), errno=exc.errno) from None
        if not ready:
            raise LaunchError(f"no {role} connection within {timeout} s")
        if health is not None and health.listener in ready:
            health.answer()
        if listener in ready:
            try:
                sock, _ = listener.accept()
            except OSError as exc:
                raise TransportError("accept", exc.strerror or str(exc), errno=exc.errno) from None
            sock.settimeout(None)
            return sock


def consumerd_side(
    args: ConsumerdArgv,
    timeout: float | None = None,
    *,
    ready: bytes | None = None,
    health: HealthSocket | None = None,
) -> Sockets:
    """The consumer daemon's start-up: connect to the error socket, open ``health``
    (if any), listen on the command socket, report :data:`READY`, accept the command
    then the metadata connection (``timeout`` bounds each accept), answering health
    queries meanwhile.

    ``ready``: the bytes of the ready code, when a conversation machine made them
    (``conv.send(Socket.ERROR, ErrorSocketCode(code=READY))``); default:
    :data:`READY_BYTES`.
    ``health`` stays open for the caller (who goes on answering it); on failure every
    socket opened here is closed, ``health`` included.
    """
    if ready is None:
        ready = READY_BYTES
    error = connect(args.err_sock)
    try:
        if health is not None:
            health.open()
        listener = listen(args.cmd_sock)
        try:
            send_all(error, ready)
            accepted: list[socket.socket] = []
            try:
                for role in ("command", "metadata"):
                    accepted.append(_accept(listener, role, timeout, health))
            except BaseException:
                for sock in accepted:
                    sock.close()
                raise
        finally:
            listener.close()
    except BaseException:
        error.close()
        if health is not None:
            health.close()
        raise
    return Sockets(error, accepted[0], accepted[1])


def sessiond_side(
    error_listener: socket.socket, cmd_path: str, timeout: float, *, why: str = ""
) -> Sockets:
    """The session daemon's start-up once the consumer is spawned: accept its error
    connection, read :data:`READY`, connect twice to ``cmd_path``.

    ``why`` is added to a failure's text (e.g. the consumer's log tail).
    """
    # The session daemon's side reads the code through the grammar (the consumer's
    # side only writes :data:`READY_BYTES`, and never imports it before ready).
    from ustref.protocol.consumer import ERROR_SOCKET_CODE

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
