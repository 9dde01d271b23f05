"""Driving the sans-IO core in tests: a fake clock, the shell's effects, and the
conversation table checking every reply.

:class:`Driver` plays the shell around a :class:`~ustref.consumerd.core.Core`: it
passes its own integer clock (``now``, nanoseconds, moved only by the test) to every
entry point, performs the actions the way the shell does (requests through
:func:`ustref.consumerd.effects.perform`, answered by ``Core.complete``; a
``Handover`` serialised through a socketpair) and feeds every command the test sends
and every byte the core sends to an observing
:class:`~ustref.protocol.conversation.Conversation`, as h11 checks its own events: a
reply the table does not allow after its command fails the test.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from ustref.consumerd import effects
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import (
    Action,
    Handover,
    PeerFamily,
    Received,
    ReleaseMemory,
    Request,
    Send,
    Sock,
)
from ustref.protocol.conversation import Conversation, Role, Socket
from ustref.protocol.conversation.steps import Direction

_SOCKET = {Sock.COMMAND: Socket.COMMAND, Sock.METADATA: Socket.METADATA}


class Driver:
    """A fake shell: ``now`` is the test's clock; see the module docstring."""

    def __init__(
        self,
        core: Core | None = None,
        *,
        now: int = 0,
        observe: bool = True,
        relay_family: int | None = socket.AF_INET,
    ) -> None:
        self.core = core if core is not None else Core()
        self.relay_family = relay_family
        """How a :class:`PeerFamily` request is answered: this family for every fd (the
        tests' relay daemons are pipes or socketpairs standing for TCP connections), or,
        when ``None``, by the shell (``getpeername`` on the real fd)."""
        self.now = now
        self.conversation = Conversation(self.core.abi, our_role=Role.OBSERVER) if observe else None
        self.pending: list[Action] = []
        """Actions a helper took and left for the test to look at."""
        self.releases: list[int] = []
        """The clock at each :class:`ReleaseMemory` the core asked for: counted, not
        performed (a collection in the test process only takes time) nor returned."""

    # -- session daemon -> consumer ------------------------------------------------------

    def command(self, raw: bytes, fds: Sequence[int] = ()) -> list[Action]:
        """The session daemon sends ``raw`` (with ``fds``) on the command socket."""
        return self.feed(Sock.COMMAND, raw, fds)

    def feed(self, sock: Sock, data: bytes, fds: Sequence[int] = ()) -> list[Action]:
        """Bytes (and fds) arrive on ``sock``; the actions they cause."""
        self._observe(sock, Direction.TO_CONSUMERD, data, len(fds))
        self.core.receive(sock, data, list(fds), self.now)
        return self.actions()

    # -- time ----------------------------------------------------------------------------

    def tick(self, now: int) -> list[Action]:
        """Move the clock to ``now`` and run the timers."""
        assert now >= self.now, "the monotonic clock never goes back"
        self.now = now
        self.core.handle_timer(now)
        return self.actions()

    # -- consumer -> session daemon ------------------------------------------------------

    def actions(self) -> list[Action]:
        """Perform every action as the shell does; return those other than requests
        (each ``Send`` and ``Handover`` checked by the conversation table)."""
        out: list[Action] = []
        while actions := self.core.take_actions():
            for action in actions:
                if isinstance(action, PeerFamily) and self.relay_family is not None:
                    answer = Received(data=self.relay_family.to_bytes(2, "little"))
                    self.core.complete(action, answer, self.now)
                    continue
                if isinstance(action, Request):
                    self.core.complete(action, effects.answer(action), self.now)
                    continue
                if isinstance(action, ReleaseMemory):
                    self.releases.append(self.now)
                    continue
                out.append(action)
                if isinstance(action, Send) and isinstance(action.sock, Sock):
                    self._observe(action.sock, Direction.TO_SESSIOND, action.data, len(action.fds))
                elif isinstance(action, Handover):
                    self._observe_handover(action)
                elif not isinstance(action, Send):  # a relay daemon's: for the test to read
                    effects.perform(action)
        return out

    def _observe(self, sock: Sock, direction: Direction, data: bytes, nfds: int) -> None:
        if self.conversation is not None and sock in _SOCKET:
            # Raises RemoteProtocolError when the table does not allow it.
            self.conversation.observe(_SOCKET[sock], direction, data, nfds)

    def _observe_handover(self, action: Handover) -> None:
        """The shell's ``_handover``: the backend's hand-over messages, fed to the
        observer as the transport sends them (each message with its fds)."""
        channel = action.channel
        messages = list(channel.ust.handover())
        for stream in channel.streams:
            messages.extend(stream.ust.handover())
        messages.extend(self.core.backend.end_of_streams())
        for data, fds in messages:
            for fd in fds:
                os.close(fd)
            self._observe(Sock.COMMAND, Direction.TO_SESSIOND, data, len(fds))

    def statuses(self, actions: Sequence[Action]) -> list[object]:
        """The ``ret_code`` of each ``Send`` that is a status message."""
        from ustref.protocol.consumer import STATUS_MSG

        return [STATUS_MSG.parse(a.data).ret_code for a in actions if isinstance(a, Send)]
