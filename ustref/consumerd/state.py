"""The consumer's state as its handlers see it: tables, queued actions, the time.

:class:`ConsumerState` is what every command handler (:mod:`ustref.consumerd.handlers`)
and every lifetime function (:mod:`ustref.consumerd.lifetime`) takes: the registry
of channels and streams, the trace chunks, the ust-ctl backend, the actions queued
for the shell and ``now`` — the time the shell passed to the core's current entry
point (integer nanoseconds of one monotonic clock). :class:`~ustref.consumerd.core.Core`
is a :class:`ConsumerState` that also owns the exchange slots and the timers; the
handlers never import it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ustref.consumerd import streams
from ustref.consumerd.exchange import Action, HandlerGen, Handover, Peer, RelaydSock, Send, Sock
from ustref.consumerd.registry import Channel, ChannelType, Registry, Stream
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import Backend, PureBackend
from ustref.errors import UstrefError
from ustref.output.chunk import ChunkRegistry
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    ERROR_SOCKET_CODE,
    STATUS_MSG,
    ConsumerMsg,
    ConsumerStatusMsg,
    ErrorSocketCode,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.ring.reader import Status

log = logging.getLogger("ustref.consumerd")

ReturnCode = LttcommReturnCode | LttngErrorCode

RELEASE_MEMORY_DELAY = 100_000_000
"""Nanoseconds from a freeing to the :class:`~ustref.consumerd.exchange.ReleaseMemory`
it asks for: the frees of one teardown (a session's channels, its trace chunk, a dead
application's streams) go back together."""

RELEASE_MEMORY_INTERVAL = 1_000_000_000
"""Nanoseconds at least between two releases: a collection walks every object, and
per-PID applications that come and go free channels many times a second."""


class ConsumerState:
    """The consumer daemon's state, free of I/O (see the module docstring)."""

    def __init__(self, *, abi: Abi = Abi.V2_13_9, backend: Backend | None = None) -> None:
        self.abi = abi
        #: the ust-ctl backend every ring-buffer operation goes through (pure by default)
        self.backend = backend or PureBackend()
        self.registry = Registry()
        self.chunks = ChunkRegistry()
        self.sessiond_uuid: bytes | None = None
        self.monitor_pipe: int | None = None
        self.data_consumption_paused = False
        """consumer.c ``data_consumption_paused``: set only through the test-only pause
        pipe (:mod:`ustref.consumerd.testpoint`); data streams are left alone while set."""
        self.inactive_streams = False
        """A relay daemon was cleaned up: streams of its are inactive, to delete
        (:func:`ustref.consumerd.relay_cleanup.reap_inactive_streams`)."""
        self.stalled_relayds: set[int] = set()
        """Relay daemon connections whose sockets hold a backlog (the shell says so):
        their streams are not consumed until it drains."""
        self.closed = False
        self.now = 0
        """Monotonic ns given by the shell to the entry point being served."""
        self.memory_to_release = False
        """Memory was freed since the last :class:`~ustref.consumerd.exchange.ReleaseMemory`
        (:meth:`memory_freed`)."""
        self._actions: list[Action] = []

    # -- actions for the shell ----------------------------------------------------------

    def act(self, action: Action) -> None:
        self._actions.append(action)

    def send(self, data: bytes, fds: tuple[int, ...] = (), sock: Peer = Sock.COMMAND) -> None:
        self.act(Send(sock, data, fds))

    def send_status(self, code: ReturnCode, sock: Sock = Sock.COMMAND) -> None:
        """``consumer_send_status_msg()``."""
        self.send(STATUS_MSG.build(ConsumerStatusMsg(ret_code=code)), sock=sock)

    def send_error(self, code: LttcommReturnCode) -> None:
        """``lttng_consumer_send_error()``: ``code`` on the error socket."""
        self.send(ERROR_SOCKET_CODE.build(ErrorSocketCode(code=code)), sock=Sock.ERROR)

    def handover(self, channel: Channel) -> None:
        self.act(Handover(channel))

    def open_relayd_slot(self, sock: RelaydSock) -> None:
        """A relay daemon control socket arrived: give it an exchange slot (the core's;
        plain state has no slots)."""

    def close_relayd_slot(self, sock: RelaydSock) -> None:
        """A relay daemon connection went away: fail what waits on it (the core's)."""

    def run_exchange(self, gen: HandlerGen, label: str) -> None:
        """Run an exchange of the consumer's own (relay traffic of the data and
        metadata threads); plain state runs it to its first wait and drops it."""
        next(gen, None)

    def memory_freed(self) -> None:
        """A channel or a trace chunk went (or, from the shell, the start-up's imports
        left their garbage): ask for a :class:`~ustref.consumerd.exchange.ReleaseMemory`
        (the core times it)."""
        self.memory_to_release = True

    def take_actions(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    # -- the data and metadata threads -------------------------------------------------

    def consumes(self, stream: Stream, *, closing: bool = False) -> bool:
        """Whether the data or metadata thread would touch ``stream`` now. Streams of
        a channel without ``monitor`` (a session with no output, read only by
        SNAPSHOT_CHANNEL) never enter those threads (``send_stream_to_thread`` is
        skipped in GET_CHANNEL's case of ``lttng_ustconsumer_recv_cmd``); a data stream is left
        alone while data consumption is paused (the metadata thread is never paused), and a
        stream sent to a relay daemon whose sockets hold a backlog while they do — unless
        the stream is ``closing`` (hung up): C's thread then reads it to its end,
        blocking on the relay if it must, so nothing is lost (the bytes queue)."""
        if not stream.channel.monitor:
            return False
        if not closing and self.stalled_relayds and stream_relayd(stream) in self.stalled_relayds:
            return False
        return not (self.data_consumption_paused and stream.channel.type is ChannelType.DATA)

    def drain(
        self,
        stream: Stream,
        *,
        even_paused: bool = False,
        closing: bool = False,
        once: bool = False,
    ) -> bool:
        """Consume what ``stream`` has ready, unless data consumption is paused
        (:meth:`consumes`) and ``even_paused`` is not set; with ``once``, one budget of
        it (:func:`~ustref.consumerd.streams.drain`). Returns whether more may be
        ready (``once`` only). A failure is the stream's (logged), as in the data
        thread."""
        if not even_paused and not self.consumes(stream, closing=closing):
            return False
        try:
            return streams.drain(stream, once=once) is Status.OK
        except (UstrefError, OSError) as exc:
            log.error("stream %s: %s", stream.name, exc)
            return False


def stream_relayd(stream: Stream) -> int | None:
    """The relay daemon connection ``stream`` is sent to, if any."""
    output = stream.output
    return output.relayd.sock.net_index if isinstance(output, RelayOutput) else None


Handler = Callable[[ConsumerState, ConsumerMsg], "HandlerGen | None"]
"""A command handler: a plain function (it sent everything) or a generator."""
