"""Reproducers spliced into a live session daemon ↔ consumer conversation (issue 22).

The consumer daemon accepts one command connection and one metadata connection, and a
running ``lttng-sessiond`` owns both (``consumer_thread_sessiond_poll``). To send a
reproducer's commands to a consumer that also serves a real session, this proxy sits
where the recording wrapper sits (:mod:`ustref.capture.wrapper`, started by
``lttng-sessiond --consumerd64-path=ustref/data/bin/ustref-capture-consumerd``): the
wrapper becomes this proxy when ``USTREF_INJECT_CONTROL`` names a unix socket path in
the session daemon's environment (the session daemon hands its environment down to the
consumer it spawns). Everything else — the sockets' set-up, the relaying of bytes and
descriptors, the channel-monitor pipe and relay daemon sockets, the optional recording
into ``USTREF_CAPTURE_OUT`` — is the wrapper's.

* **Following the command socket.** Every part relayed on the command connection, both
  ways, goes through a :class:`~ustref.protocol.conversation.Conversation` (an
  observer) under one lock, the *gate*. Between two exchanges — no exchange open, no
  partial message buffered either way — nothing is in flight, and the consumer reads
  its command socket at a message boundary.
* **Splicing.** ``inject FILE`` on the control socket (one line; :func:`inject` is the
  client) waits for such an idle point and closes the gate: the session daemon's next
  bytes are held back by the relay thread that read them. The reproducer's actions are
  performed by a :class:`~ustref.fuzz.session.Session` on one end of a socket pair; a
  thread moves its bytes and descriptors (made by the session: pipe, dir, socket,
  connected-socket, devnull) to the consumer's command socket, and the consumer's
  replies go back to the session instead of to the session daemon. After the actions,
  :func:`~ustref.fuzz.reproducers.survive` puts the command socket back in step (the
  filler after ``append:N`` mutations) and sends a well-formed DATA_PENDING; then the
  gate opens and the held bytes go on. The answer on the control socket is the
  reproducer's ``ustref`` record (:meth:`~ustref.fuzz.reproducers.Survival.record`),
  the one its finding file keeps, as one JSON line.
* **Renaming keys.** The reproducers use channel keys, session ids, relay daemon
  indexes and trace chunk ids 1–3, which are also the first ones a real session daemon
  allocates (``CLOSE_METADATA 1`` would close the real session's metadata). Each
  injection *n* adds ``n`` × :data:`KEY_SPACE` to every such field of every whole
  message (:func:`rename_keys`; the fields are found by the grammar's field paths,
  :func:`ustref.fuzz.mutations.slots`, in the union member the message selects), so
  that neither the real session's keys nor an earlier injection's are hit.

Only the command socket is spliced: a reproducer with actions on the metadata socket or
a ``close`` action is refused (:func:`spliceable`; none of the crash reproducers has
one). The conversation's ABI is the session daemon's, ``USTREF_INJECT_ABI`` (default
:data:`~ustref.protocol.abi.DEFAULT_ABI`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ustref.capture.format import Direction, Socket
from ustref.capture.wrapper import ENV_INJECT, Recorder, _Link, _Relay, _send_all, _Wrapper
from ustref.capture.wrapper import main as wrapper_main
from ustref.errors import RemoteProtocolError, TransportError
from ustref.fuzz.mutations import slots
from ustref.fuzz.replay import load
from ustref.fuzz.reproducers import Survival, survive
from ustref.fuzz.session import Action, Session
from ustref.ids import U64_MAX
from ustref.protocol.abi import DEFAULT_ABI, Abi
from ustref.protocol.consumer import CONSUMER_MSG, CONSUMER_MSG_SIZE
from ustref.protocol.conversation import Conversation
from ustref.protocol.conversation import Direction as ConvDirection
from ustref.protocol.conversation import Socket as ConvSocket
from ustref.transport.framing import close_fds, listen, recv_some, split_for_fds
from ustref.transport.launcher import Child

__all__ = [
    "ENV_ABI",
    "ENV_INJECT",
    "KEY_FIELDS",
    "KEY_SPACE",
    "InjectError",
    "inject",
    "rename_keys",
    "run_proxy",
    "spliceable",
]

ENV_ABI = "USTREF_INJECT_ABI"
"""The session daemon's ABI name (default :data:`~ustref.protocol.abi.DEFAULT_ABI`)."""

KEY_FIELDS = frozenset(
    ("key", "channel_key", "stream_key", "session_id", "relayd_id", "net_index",
     "net_seq_idx", "chunk_id")
)  # fmt: skip
"""The ``lttcomm_consumer_msg`` fields (last path component; an optional's ``value``
counts as its own) that name a channel, stream, session, relay daemon or trace chunk."""

KEY_SPACE = 1 << 40
"""Injection *n* moves every key by ``n`` × this: far above what a session daemon
allocates (it counts from 0 or 1), far below the all-ones "none"."""

IDLE_TIMEOUT = 30.0
"""How long an injection waits for an idle point of the command socket."""
REPLY_TIMEOUT = 3.0
"""How long a reply the table says is due may take (as in the reproducer tests)."""


class InjectError(Exception):
    """An injection could not be made (no command connection, never idle, …)."""


def _key_name(path: str) -> str:
    parts = path.split(".")
    if parts[-1] == "value" and len(parts) > 1:
        parts.pop()
    return parts[-1]


def rename_keys(actions: Sequence[Action], abi: Abi, offset: int) -> list[Action]:
    """``actions`` with ``offset`` added to every :data:`KEY_FIELDS` field of each whole
    ``lttcomm_consumer_msg`` they send on the command socket (a value that would reach
    the all-ones "none" is left alone: it cannot hit a real key). Each action's data
    starts at a message boundary; bytes past its last whole message are left as they
    are (an fd's byte, metadata, an ``append:N`` tail)."""
    spec = CONSUMER_MSG[abi]
    out: list[Action] = []
    for action in actions:
        data = bytearray(action.data)
        if action.op == "send" and action.socket == ConvSocket.COMMAND.value:
            for start in range(0, len(data) - CONSUMER_MSG_SIZE + 1, CONSUMER_MSG_SIZE):
                message = bytes(data[start : start + CONSUMER_MSG_SIZE])
                for slot in slots(spec, message):
                    if slot.kind != "int" or _key_name(slot.name) not in KEY_FIELDS:
                        continue
                    (value,) = struct.unpack_from(slot.fmt, message, slot.offset)
                    if value + offset < U64_MAX:
                        struct.pack_into(slot.fmt, data, start + slot.offset, value + offset)
        out.append(replace(action, data=bytes(data)))
    return out


def spliceable(actions: Sequence[Action]) -> str:
    """Why ``actions`` cannot be spliced into the command socket (``""``: they can)."""
    for action in actions:
        if action.op != "send":
            return f"a {action.op} action"
        if action.socket != ConvSocket.COMMAND.value:
            return f"an action on the {action.socket} socket"
    return ""


@dataclass
class _Lent:
    """The consumer as a :class:`~ustref.fuzz.session.Session` sees it during an
    injection (:class:`~ustref.fuzz.session.Peer`): ``command`` is our end of the
    socket pair spliced into the command socket; ``metadata`` and ``error`` are a
    quiet pair nothing is written to. Without ``child`` (a consumer that is not this
    process's child), the consumer counts as alive: its socket tells when it is gone."""

    command: socket.socket | None
    metadata: socket.socket | None
    error: socket.socket | None
    child: Child | None

    def alive(self) -> bool:
        return self.child is None or self.child.alive()

    def wait(self, timeout: float) -> int | None:
        return self.child.wait(timeout) if self.child is not None else None

    def log_tail(self, size: int = 2000) -> str:
        return ""


class _InjectingRelay(_Relay):
    """The wrapper's relay, with the gate on the command connection (module docstring)."""

    def __init__(
        self, recorder: Recorder, abi: Abi, *, interpose_monitor: bool, interpose_relayd: bool
    ) -> None:
        super().__init__(
            recorder, interpose_monitor=interpose_monitor, interpose_relayd=interpose_relayd
        )
        self.gate = threading.Condition()
        self.conversation = Conversation(abi)
        self.lost = ""
        """Why the command socket can no longer be followed (``""``: it can)."""
        self.command: _Link | None = None
        self.injecting = False
        self.diversion: socket.socket | None = None

    def start_link(self, link: _Link) -> None:
        if link.role is Socket.COMMAND and link.index == 0:
            with self.gate:
                self.command = link
                self.gate.notify_all()
        super().start_link(link)

    def deliver(
        self, link: _Link, direction: Direction, part: bytes, fds: list[int], dst: socket.socket
    ) -> bool:
        if link is not self.command:
            return super().deliver(link, direction, part, fds, dst)
        with self.gate:
            if direction is Direction.TO_CONSUMERD:
                while self.injecting:  # the session daemon's bytes wait for the splice
                    self.gate.wait()
            elif self.diversion is not None:
                # A reply to an injected command: the injector's, never the session daemon's.
                _send_all(self.diversion, part, fds)
                return True
            self._observe(direction, part, len(fds))
            sent = super().deliver(link, direction, part, fds, dst)
            self.gate.notify_all()
            return sent

    def _observe(self, direction: Direction, part: bytes, fds: int) -> None:
        if self.lost:
            return
        try:
            self.conversation.observe(ConvSocket.COMMAND, ConvDirection(direction.value), part, fds)
        except RemoteProtocolError as exc:
            self.lost = str(exc)

    def _idle(self) -> bool:
        conv = self.conversation
        return (
            conv.awaiting(ConvSocket.COMMAND) is None
            and not conv.stream(ConvSocket.COMMAND, ConvDirection.TO_CONSUMERD).available()
            and not conv.stream(ConvSocket.COMMAND, ConvDirection.TO_SESSIOND).available()
        )

    def splice(
        self, actions: list[Action], abi: Abi, fd_dir: Path, child: Child | None
    ) -> Survival:
        """Perform ``actions`` on the command socket at its next idle point; the
        :class:`~ustref.fuzz.reproducers.Survival`."""
        deadline = time.monotonic() + IDLE_TIMEOUT
        with self.gate:
            while self.command is None or not (self.lost or self._idle()):
                left = deadline - time.monotonic()
                if left <= 0 or not self.gate.wait(left):
                    raise InjectError(f"the command socket was not idle within {IDLE_TIMEOUT}s")
            if self.lost:
                raise InjectError(f"the command socket cannot be followed: {self.lost}")
            link = self.command
            ours, theirs = socket.socketpair()
            self.injecting = True
            self.diversion = theirs
        quiet = socket.socketpair()
        forwarder = threading.Thread(
            target=_forward, args=(theirs, link.consumerd), name="inject", daemon=True
        )
        forwarder.start()
        try:
            session = Session(_Lent(ours, quiet[0], quiet[1], child), abi, REPLY_TIMEOUT, fd_dir)
            return survive(session, actions)
        finally:
            with contextlib.suppress(OSError):
                ours.shutdown(socket.SHUT_WR)
            forwarder.join(REPLY_TIMEOUT)
            with self.gate:
                self.diversion = None
                self.injecting = False
                self.gate.notify_all()
            for sock in (ours, theirs, *quiet):
                sock.close()


def _forward(src: socket.socket, dst: socket.socket) -> None:
    """Move what the injecting session sends, with its descriptors, to the consumer's
    command socket (fds on the last byte, as the wrapper relays them) until it ends."""
    while True:
        try:
            got = recv_some(src)
        except TransportError:
            return
        if not got.data and not got.fds:
            return
        try:
            for part, fds in split_for_fds(got.data, list(got.fds)):
                if not _send_all(dst, part, fds):
                    return
        finally:
            close_fds(got.fds)


class _Control:
    """The control socket: one ``inject FILE`` line per request, one JSON line back."""

    def __init__(self, path: Path, relay: _InjectingRelay, wrapper: _Wrapper, abi: Abi) -> None:
        self.path = path
        self.relay = relay
        self.wrapper = wrapper
        self.abi = abi
        self.injections = 0
        self.listener = listen(os.fspath(path))

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                for line in stream:
                    reply = self.answer(line.decode(errors="replace").strip())
                    stream.write(json.dumps(reply).encode() + b"\n")
                    stream.flush()

    def answer(self, request: str) -> dict[str, Any]:
        verb, _, argument = request.partition(" ")
        if verb != "inject" or not argument:
            return {"error": f"unknown request {request!r} (inject FILE)"}
        path = Path(argument)
        try:
            _doc, abi, actions = load(path)
        except (OSError, ValueError, KeyError) as exc:
            return {"file": argument, "error": f"cannot read the reproducer: {exc}"}
        why = spliceable(actions)
        if why:
            return {"file": argument, "error": f"not spliceable: {why}"}
        self.injections += 1
        offset = self.injections * KEY_SPACE
        fd_dir = self.wrapper.private_dir / f"inject-{self.injections}"
        try:
            survival = self.relay.splice(
                rename_keys(actions, abi, offset), abi, fd_dir, self.wrapper.child
            )
        except Exception as exc:  # the answer says it; the proxy goes on relaying
            return {"file": argument, "error": f"{type(exc).__name__}: {exc}"}
        return {
            "file": argument,
            "offset": offset,
            "ustref": survival.record(len(actions)),
            "outcome": survival.outcome.to_json(),
        }

    def close(self) -> None:
        self.listener.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def run_proxy(
    argv: Sequence[str],
    *,
    control: Path,
    out: Path | None,
    consumerd: str,
    interpose_monitor: bool = True,
    interpose_relayd: bool = True,
) -> int:
    """Run the consumer ``consumerd`` with ``argv`` behind the wrapper's sockets, taking
    ``inject FILE`` requests on ``control``; its exit status."""
    abi = Abi.from_name(os.environ.get(ENV_ABI, DEFAULT_ABI.value))
    relay = _InjectingRelay(
        Recorder(None), abi, interpose_monitor=interpose_monitor, interpose_relayd=interpose_relayd
    )
    wrapper = _Wrapper(
        argv,
        out=out,
        consumerd=consumerd,
        interpose_monitor=interpose_monitor,
        interpose_relayd=interpose_relayd,
        relay=relay,
    )
    server = _Control(control, relay, wrapper, abi)
    threading.Thread(target=server.serve, name="inject-control", daemon=True).start()
    try:
        return wrapper.run()
    finally:
        server.close()


def inject(control: Path | str, finding: Path | str, timeout: float = 60.0) -> dict[str, Any]:
    """Ask the proxy listening on ``control`` to splice the reproducer file ``finding``
    (an absolute path: the proxy reads it); its JSON answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(os.fspath(control))
        sock.sendall(f"inject {Path(finding).absolute()}\n".encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise InjectError(f"the proxy closed the control socket: {reply!r}")
            reply += chunk
    answer: dict[str, Any] = json.loads(reply)
    return answer


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python3 -m ustref.fuzz.inject`` (what ``ustref-capture-consumerd``
    runs when ``USTREF_INJECT_CONTROL`` is set): the capture wrapper's start-up, with this
    module's proxy."""
    return wrapper_main(argv, proxy=run_proxy)


if __name__ == "__main__":
    raise SystemExit(main())
