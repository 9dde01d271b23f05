"""One session-daemon side of a conversation with a real consumer daemon, checked by the table.

A :class:`Session` performs :class:`Action` s (send bytes, send bytes with
descriptors, hang up) on a started :class:`~ustref.fuzz.launch.Consumerd`,
feeds everything that moves — both directions, with fd counts — to a
:class:`~ustref.protocol.conversation.Conversation`, answers the consumer's
metadata requests (``LTTNG_ERR_UND``: no registry), and classifies what the
consumer does:

* ``crash`` — it died of a signal;
* ``hang`` — the table says a reply is due and none came within the timeout;
* ``rule`` — its bytes break the conversation table (``RemoteProtocolError``
  while decoding what *it* sent);
* ``exit`` / ``closed`` — a clean refusal: it closed the socket or exited with a status.

Once *our* bytes break the table (the point of a mutated command), the
machine cannot know what is due any more: the session goes on *unchecked*
(replies are still read; crashes still count; hangs and rule breaks cannot
be told).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import select
import socket
from pathlib import Path
from typing import Any, Protocol

from ustref.errors import RemoteProtocolError, TransportError
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import METADATA_ERROR_REPLY, MetadataRequestErrorReply
from ustref.protocol.conversation import Conversation, Direction, Role, Socket
from ustref.protocol.conversation.steps import Step
from ustref.transport.framing import close_fds, recv_some, send_all

#: The ``format`` of a reproducer file (``ustref fuzz replay``).
REPRODUCER_FORMAT = "ustref-consumerd-reproducer/1"

#: ``lttng-consumerd: consumer.c:1059: consumer_allocate_channel: Assertion `0' failed.``
_ASSERTION = re.compile(r"lttng-consumerd: (\S+:\d+: \w+): Assertion")


@dataclasses.dataclass(frozen=True)
class Action:
    """One thing the session daemon does: ``send`` bytes (with ``fds``) or ``close`` a socket."""

    op: str
    socket: str = "command"
    data: bytes = b""
    fds: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"op": self.op, "socket": self.socket}
        if self.op == "send":
            doc["data_hex"] = self.data.hex()
            doc["fds"] = list(self.fds)
        if self.note:
            doc["note"] = self.note
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Action:
        return cls(
            doc["op"],
            doc.get("socket", "command"),
            bytes.fromhex(doc.get("data_hex", "")),
            tuple(doc.get("fds", ())),
            doc.get("note", ""),
        )


@dataclasses.dataclass(frozen=True)
class Heard:
    """What the consumer sent on one socket after action number ``after`` (``b""``: it
    closed the socket), with the number of descriptors that rode along."""

    after: int
    socket: str
    data: bytes
    fds: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"after": self.after, "socket": self.socket, "data_hex": self.data.hex(),
                "fds": self.fds}  # fmt: skip

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Heard:
        return cls(doc["after"], doc["socket"], bytes.fromhex(doc["data_hex"]), doc["fds"])


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a session ended (or ``ok``: still talking)."""

    kind: str
    """``ok``, ``exit``, ``closed``, ``crash``, ``hang`` or ``rule``."""
    detail: str = ""
    status: int | None = None

    @property
    def finding(self) -> bool:
        return self.kind in ("crash", "hang", "rule")

    def signature(self) -> str:
        if self.kind == "crash":
            where = _ASSERTION.search(self.detail)
            return f"crash:{self.status}" + (f":{where.group(1)}" if where else "")
        if self.kind == "rule":
            return "rule:" + self.detail.split(" at offset")[0][:120]
        return self.kind

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "status": self.status}


class Peer(Protocol):
    """The consumer a :class:`Session` talks to: a :class:`~ustref.fuzz.launch.Consumerd`,
    or the command socket :mod:`ustref.fuzz.inject` lends out of a live conversation."""

    command: socket.socket | None
    metadata: socket.socket | None
    error: socket.socket | None

    def alive(self) -> bool: ...

    def wait(self, timeout: float) -> int | None: ...

    def log_tail(self, size: int = 2000) -> str: ...


class Session:
    """Drives one consumer daemon; every action and reply is checked by the table."""

    def __init__(self, daemon: Peer, abi: Abi, timeout: float, fd_dir: Path) -> None:
        self.daemon = daemon
        self.conv = Conversation(abi)
        self.checked = True
        self.unchecked_reason = ""
        self.timeout = timeout
        self.fd_dir = fd_dir
        self.actions: list[Action] = []
        self.replies = 0
        self.heard: list[Heard] = []
        """Everything the consumer sent, in order (the transcript of its side)."""
        self._sockets: dict[Socket, socket.socket] = {}
        assert daemon.command is not None and daemon.metadata is not None
        assert daemon.error is not None
        self._sockets = {
            Socket.COMMAND: daemon.command,
            Socket.METADATA: daemon.metadata,
            Socket.ERROR: daemon.error,
        }
        self._closed: set[Socket] = set()
        self._held: list[socket.socket] = []

    # ------------------------------------------------------------ sending

    def _make_fds(self, kinds: tuple[str, ...]) -> tuple[list[int], list[int]]:
        """(fds to send, fds to close after sending)."""
        send: list[int] = []
        close: list[int] = []
        for kind in kinds:
            if kind == "pipe":
                r, w = os.pipe()
                send.append(w)
                close += [r, w]
            elif kind == "dir":
                self.fd_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.fd_dir, os.O_RDONLY | os.O_DIRECTORY)
                send.append(fd)
                close.append(fd)
            elif kind in ("socket", "connected-socket"):
                # An AF_UNIX stream socket; "socket": its peer is closed at once,
                # "connected-socket": its peer stays open until the session ends.
                a, b = socket.socketpair()
                send.append(a.detach())
                close.append(send[-1])
                if kind == "socket":
                    b.close()
                else:
                    self._held.append(b)
            else:
                fd = os.open(os.devnull, os.O_RDWR)
                send.append(fd)
                close.append(fd)
        return send, close

    def release(self) -> None:
        """Close the peers of the sockets we sent (``connected-socket``)."""
        for held in self._held:
            held.close()
        self._held.clear()

    def expected(self) -> Step | None:
        """The step the table waits for from *us* on the command socket, if any."""
        if not self.checked:
            return None
        step = self.conv.awaiting(Socket.COMMAND)
        if step is not None and step.direction is Direction.TO_CONSUMERD:
            return step
        return None

    def act(self, action: Action) -> Outcome:
        """Perform ``action``, then read replies until none is due; the outcome."""
        self.actions.append(action)
        sock_id = Socket(action.socket)
        sock = self._sockets[sock_id]
        try:
            if action.op == "close":
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                self._closed.add(sock_id)
                self._feed_close(sock_id, Direction.TO_CONSUMERD)
            else:
                fds, to_close = self._make_fds(action.fds)
                try:
                    send_all(sock, action.data, fds)
                finally:
                    for fd in to_close:
                        with contextlib.suppress(OSError):
                            os.close(fd)
                self._feed(sock_id, Direction.TO_CONSUMERD, action.data, len(fds))
        except (OSError, TransportError) as exc:
            return self._ended(f"send failed: {exc}")
        return self.pump()

    # ------------------------------------------------------------ the table

    def _feed(self, sock: Socket, direction: Direction, data: bytes, fds: int) -> None:
        if not self.checked:
            return
        try:
            self.conv.observe(sock, direction, data, fds)
        except RemoteProtocolError as exc:
            # The consumer broke the rules in what it sent: a finding (the caller
            # reading its reply classifies it). An error about what *we* sent (it
            # may surface late, on the next reply) makes the session unchecked.
            if direction is Direction.TO_SESSIOND and exc.sender == Role.CONSUMERD:
                raise
            self.checked = False
            self.unchecked_reason = str(exc)

    def _feed_close(self, sock: Socket, direction: Direction) -> None:
        if not self.checked:
            return
        try:
            self.conv.close(sock, direction)
        except RemoteProtocolError as exc:
            self.checked = False
            self.unchecked_reason = f"hang-up: {exc}"

    def _due(self) -> bool:
        if not self.checked:
            return False
        step = self.conv.awaiting(Socket.COMMAND)
        return step is not None and step.direction is Direction.TO_SESSIOND

    # ------------------------------------------------------------ receiving

    def pump(self) -> Outcome:
        """Read what the consumer sends until nothing is due; classify."""
        quiet_wait = 0.02 if self.checked else 0.06
        while True:
            due = self._due()
            live = [s for k, s in self._sockets.items() if k not in self._closed]
            if not live:
                return self._ended("all sockets closed")
            ready, _, _ = select.select(live, [], [], self.timeout if due else quiet_wait)
            if not ready:
                if due:
                    if not self.daemon.alive():
                        return self._ended("exited while a reply was due")
                    step = self.conv.awaiting(Socket.COMMAND)
                    what = step.name if step is not None else "?"
                    return Outcome("hang", f"no {what} within {self.timeout}s")
                if not self.daemon.alive():
                    return self._ended("exited")
                return Outcome("ok")
            for sock in ready:
                kind = next(k for k, s in self._sockets.items() if s is sock)
                outcome = self._read(kind, sock)
                if outcome is not None:
                    return outcome

    def settle(self, quiet: float) -> Outcome:
        """Read what the consumer still sends until it is quiet for ``quiet`` seconds
        (replies to commands the table could not follow, late or slow ones); the outcome."""
        while True:
            live = [s for k, s in self._sockets.items() if k not in self._closed]
            if not live:
                return self._ended("all sockets closed")
            ready, _, _ = select.select(live, [], [], quiet)
            if not ready:
                return Outcome("ok") if self.daemon.alive() else self._ended("exited")
            for sock in ready:
                kind = next(k for k, s in self._sockets.items() if s is sock)
                outcome = self._read(kind, sock)
                if outcome is not None:
                    return outcome

    def _read(self, kind: Socket, sock: socket.socket) -> Outcome | None:
        try:
            got = recv_some(sock, 65536, 16)  # a reset connection reads as end of stream
        except TransportError as exc:
            return self._ended(f"recv failed: {exc}")
        data, fds = got.data, got.fds
        close_fds(fds)
        self.heard.append(Heard(len(self.actions) - 1, kind.value, data, len(fds)))
        if not data:
            self._closed.add(kind)
            try:
                if self.checked:
                    self.conv.close(kind, Direction.TO_SESSIOND)
            except RemoteProtocolError as exc:
                # The consumer hung up mid-message: the C code never does that
                # on purpose, but a clean exit does close sockets; judged below.
                self.unchecked_reason = f"consumer hang-up: {exc}"
            return self._ended(f"consumer closed the {kind.value} socket")
        self.replies += 1
        try:
            self._feed(kind, Direction.TO_SESSIOND, data, len(fds))
        except RemoteProtocolError as exc:
            return Outcome("rule", str(exc))
        if kind is Socket.METADATA and self.checked:
            step = self.conv.awaiting(Socket.METADATA)
            if step is not None and step.direction is Direction.TO_CONSUMERD:
                reply = METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())
                try:
                    send_all(sock, reply)
                except TransportError as exc:
                    return self._ended(f"metadata reply failed: {exc}")
                self._feed(kind, Direction.TO_CONSUMERD, reply, 0)
        return None

    def _ended(self, why: str) -> Outcome:
        status = self.daemon.wait(2.0)
        if status is None:
            if self.daemon.alive():
                return Outcome("closed", why)
            status = self.daemon.wait(0)
        if status is not None and status < 0:
            return Outcome(
                "crash", f"signal {-status} ({why}); log: {self.daemon.log_tail(600)}", status
            )
        return Outcome("exit", why, status)
