"""The I/O shell of ustref-consumerd: sockets, ``selectors``, signals, health.

Mirrors the start-up and the threads of lttng-consumerd (src/bin/lttng-consumerd/
lttng-consumerd.c and health-consumerd.c, consumer.c ``consumer_thread_sessiond_poll``
@ v2.13.9), folded into one loop around :class:`ustref.consumerd.core.Core`:

1. connect the error socket;
2. bind the health socket and listen;
3. bind and listen on the command socket;
4. send ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY`` on the error socket;
5. accept the command connection, then the metadata connection;

(steps 1–5 are :func:`ustref.consumerd.startup.start_up`, done before this
module and the core are imported, with a :class:`~ustref.transport.startup.HealthSocket`
answered meanwhile; every socket read and write goes through
:mod:`ustref.transport.framing`)

6. serve commands, stream wake-ups, health queries and timers until the command
   socket hits EOF or SIGTERM/SIGINT arrives; then flush, drain, close, exit 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import time
from dataclasses import dataclass

from ustref.consumerd import effects, testpoint
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import (
    Handover,
    RelaydSock,
    ReleaseMemory,
    Request,
    Send,
    SendRelaydData,
    Sock,
)
from ustref.consumerd.registry import Channel, Stream
from ustref.consumerd.startup import Paths, Started
from ustref.errors import TransportError, UstrefError
from ustref.ids import RelaydId
from ustref.transport.framing import hand_over, recv_some, send_all

log = logging.getLogger("ustref.consumerd")

EXIT_RELAY_WAIT_NS = 5_000_000_000
"""How long the daemon waits at exit for relay daemons to take their last bytes and
answer RELAYD_CLOSE_STREAM (C waits without bound)."""


@dataclass(frozen=True)
class _RelayOut:
    """A relay daemon socket with bytes queued: what the shell watches for writability."""

    net_index: int
    fd: int
    control: bool


class Shell:
    """Runs one :class:`Core` over real sockets."""

    def __init__(self, paths: Paths, core: Core | None = None) -> None:
        self.paths = paths
        self.core = core or Core()
        self.sel = selectors.DefaultSelector()
        self.stop = False
        self.socks: dict[Sock, socket.socket] = {}
        self._watched: dict[int, Stream | Channel] = {}
        self._relayd_watched: dict[RelaydSock, int] = {}
        self.relay_out = effects.RelayOutbox()
        """Bytes the relay daemon sockets did not take yet (never a blocking write)."""
        self._relay_out_watched: dict[int, _RelayOut] = {}
        """Relay daemon sockets watched for writability: those with bytes queued."""
        self._watched_version: tuple[int, int] | None = None
        self._relayds_version: tuple[int, int] | None = None
        """The core's :attr:`~ustref.consumerd.core.Core.tables_version` each fd set was
        last brought up to date at: a loop turn that finds it unchanged does nothing."""
        self.now = 0
        """This turn's ``time.monotonic_ns()``, passed to every core entry point."""
        self.pause_pipe: testpoint.PausePipe | None = None
        self.freeze_at_release = False
        """The daemon's (:func:`ustref.consumerd.cli.main` sets it): the first
        :class:`~ustref.consumerd.exchange.ReleaseMemory` — the start-up's, once the
        session daemon's first command was answered — also freezes what survives its
        collection (:func:`~ustref.consumerd.effects.release_memory`); a test driving
        a shell leaves its own process's collector alone."""

    def start(self, started: Started) -> None:
        """Serve what :func:`ustref.consumerd.startup.start_up` opened before the core
        was imported: the command, metadata and health sockets, and the testpoint
        pipe when LTTng's tests asked for it."""
        self.core.backend.load()
        self.pause_pipe = started.pause_pipe
        if self.pause_pipe is not None:
            self.sel.register(self.pause_pipe, selectors.EVENT_READ, "pause")
        self._health = started.health
        assert started.health.listener is not None
        self.health = started.health.listener
        self.socks[Sock.ERROR] = started.sockets.error
        self.socks[Sock.COMMAND] = started.sockets.command
        self.socks[Sock.METADATA] = started.sockets.metadata
        self.sel.register(self.health, selectors.EVENT_READ, "health")
        self.sel.register(self.socks[Sock.COMMAND], selectors.EVENT_READ, Sock.COMMAND)
        self.sel.register(self.socks[Sock.METADATA], selectors.EVENT_READ, Sock.METADATA)
        # Importing the core left garbage (code objects' temporaries, the grammars'
        # intermediate builds) amid the heap: released once the daemon served a turn.
        self.core.memory_freed()

    def _answer_health(self) -> None:
        """``thread_manage_health``: one query, one reply, close."""
        self._health.answer()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop = True

    def run(self) -> int:
        rsig, wsig = socket.socketpair()
        rsig.setblocking(False)
        wsig.setblocking(False)
        signal.set_wakeup_fd(wsig.fileno())
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.sel.register(rsig, selectors.EVENT_READ, "signal")
        try:
            while not self.stop and not self.core.closed:
                self._sync_watched()
                self._sync_relayds()
                self._sync_relay_out()
                deadline = self.core.next_deadline()
                timeout = None
                if deadline is not None:
                    timeout = max(0, deadline - time.monotonic_ns()) / 1e9
                ready = self.sel.select(timeout)
                # The one clock read of this turn: every entry point gets this `now`.
                self.now = time.monotonic_ns()
                for key, mask in ready:
                    if mask & selectors.EVENT_WRITE:
                        self._relay_writable(key.fd)
                    if mask & selectors.EVENT_READ:
                        self._ready(key)
                    self._flush_actions()
                self.core.handle_timer(self.now)
                self._flush_actions()
        finally:
            self.core.shutdown(time.monotonic_ns())
            self._flush_actions()
            self._relay_replies_at_exit()
            self.core.finish_shutdown(time.monotonic_ns())
            self._relay_out_at_exit()
            for sock in self.socks.values():
                sock.close()
            if self.pause_pipe is not None:
                self.pause_pipe.close()
            with contextlib.suppress(OSError):
                os.unlink(self.paths.health)
        return 0

    def _ready(self, key: selectors.SelectorKey) -> None:
        tag = key.data
        if tag == "health":
            self._answer_health()
        elif tag == "signal":
            with contextlib.suppress(OSError):
                key.fileobj.recv(64)  # type: ignore[union-attr]
        elif tag == "pause" and self.pause_pipe is not None:
            state = self.pause_pipe.read_state()
            if state is not None:
                self.core.pause_data_consumption(state, self.now)
        elif isinstance(tag, Sock):
            self._receive(tag)
        elif isinstance(tag, RelaydSock):
            self._receive_relayd(tag, key.fd)
        elif isinstance(tag, Stream) and not self.core.consumes(tag):
            pass  # paused: leave the wait fd as it is until the data thread resumes
        elif isinstance(tag, (Stream, Channel)):
            self._wake(key.fd, tag)

    def _receive(self, which: Sock) -> None:
        sock = self.socks[which]
        try:
            got = recv_some(sock, 65536, 16)
            data, fds = got.data, list(got.fds)
        except TransportError as exc:
            log.error("%s socket: %s", which.value, exc)
            data, fds = b"", []
        if not data and not fds:
            self.sel.unregister(sock)
            # EOF: the core ends on the command socket's, and fails a metadata
            # request still waiting on the metadata socket's.
            self.core.receive(which, b"", [], self.now)
            return
        self.core.receive(which, data, fds, self.now)

    def _receive_relayd(self, which: RelaydSock, fd: int) -> None:
        """A relay daemon's reply bytes (its control socket); EOF or an error fails
        the exchanges waiting on that relay only."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as exc:
            log.error("%s socket: %s", which.value, exc)
            data = b""
        if not data:
            self._unwatch_relayd(which)
        else:
            effects.ack_now(fd)
        self.core.receive(which, data, [], self.now)

    def _unwatch_relayd(self, which: RelaydSock) -> None:
        fd = self._relayd_watched.pop(which, None)
        if fd is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.sel.unregister(fd)

    def _sync_relayds(self) -> None:
        """Watch the control socket of every relay daemon connection with a live slot;
        only when the core's tables changed since the last time, not every turn."""
        version = self.core.tables_version
        if version == self._relayds_version:
            return
        self._relayds_version = version
        wanted: dict[RelaydSock, int] = {}
        for which in self.core.relayd_slots():
            pair = self.core.registry.relayds.get(RelaydId(which.net_index))
            if pair is not None and pair.control_fd is not None:
                wanted[which] = pair.control_fd
        for which, fd in list(self._relayd_watched.items()):
            if wanted.get(which) != fd:
                self._unwatch_relayd(which)
        for which, fd in wanted.items():
            if which not in self._relayd_watched:
                try:
                    self.sel.register(fd, selectors.EVENT_READ, which)
                except (KeyError, ValueError, OSError) as exc:
                    log.error("cannot watch %s fd %d: %s", which.value, fd, exc)
                    continue
                self._relayd_watched[which] = fd

    def _send_relayd(self, net_index: int, parts: tuple[bytes, ...], *, control: bool) -> None:
        """Queue ``parts`` on a relay daemon socket and write what it takes now, never
        blocking (:class:`~ustref.consumerd.effects.RelayOutbox`); a socket left with a
        backlog is watched for writability and its relay's streams are not consumed
        until it drains (:meth:`~ustref.consumerd.core.Core.relayd_stalled`). A
        failure is the relay's: it is cleaned up, the consumer goes on."""
        pair = self.core.registry.relayds.get(RelaydId(net_index))
        fd = None if pair is None else (pair.control_fd if control else pair.data_fd)
        try:
            if fd is None:
                raise OSError(
                    f"relayd {net_index} has no {'control' if control else 'data'} socket"
                )
            self.relay_out.send(fd, parts)
        except OSError as exc:
            log.error("relayd %d: %s", net_index, exc)
            self._relay_gone(net_index)
            return
        if self.relay_out.pending(fd) and fd not in self._relay_out_watched:
            self._watch_relay_out(_RelayOut(net_index, fd, control))

    def _watch_relay_out(self, out: _RelayOut) -> None:
        """Watch ``out``'s socket for writability (the control socket is already
        watched for its replies: both then); the relay is stalled from now on."""
        stalled = self._relay_stalled(out.net_index)
        which = RelaydSock(out.net_index)
        both = selectors.EVENT_READ | selectors.EVENT_WRITE
        try:
            if not out.control:
                self.sel.register(out.fd, selectors.EVENT_WRITE, out)
            elif self._relayd_watched.get(which) == out.fd:
                self.sel.modify(out.fd, both, which)
            else:  # not watched for its replies yet: both at once
                self.sel.register(out.fd, both, which)
                self._relayd_watched[which] = out.fd
        except (KeyError, ValueError, OSError) as exc:
            log.error("cannot watch relayd %d fd %d: %s", out.net_index, out.fd, exc)
            return
        self._relay_out_watched[out.fd] = out
        if not stalled:
            self.core.relayd_stalled(out.net_index, True, self.now)

    def _unwatch_relay_out(self, fd: int) -> None:
        out = self._relay_out_watched.pop(fd, None)
        if out is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            if out.control and self._relayd_watched.get(RelaydSock(out.net_index)) == fd:
                self.sel.modify(fd, selectors.EVENT_READ, RelaydSock(out.net_index))
            else:
                self.sel.unregister(fd)

    def _relay_stalled(self, net_index: int) -> bool:
        return any(out.net_index == net_index for out in self._relay_out_watched.values())

    def _relay_writable(self, fd: int) -> None:
        """A relay daemon socket with a backlog can take more: write it; once the
        relay has no backlog left, its streams are consumed again."""
        out = self._relay_out_watched.get(fd)
        if out is None:
            return
        try:
            self.relay_out.flush(fd)
        except OSError as exc:
            log.error("relayd %d: %s", out.net_index, exc)
            self._relay_gone(out.net_index)
            return
        if self.relay_out.pending(fd):
            return
        self._unwatch_relay_out(fd)
        if not self._relay_stalled(out.net_index):
            self.core.relayd_stalled(out.net_index, False, self.now)

    def _relay_gone(self, net_index: int) -> None:
        """An I/O error on a relay daemon socket: forget its backlog, stop watching
        it, and let the core clean the relay up (``lttng_consumer_cleanup_relayd``)."""
        for fd, out in list(self._relay_out_watched.items()):
            if out.net_index == net_index:
                self._unwatch_relay_out(fd)
                self.relay_out.drop(fd)
        pair = self.core.registry.relayds.get(RelaydId(net_index))
        if pair is not None:
            for own in (pair.control_fd, pair.data_fd):
                if own is not None:
                    self.relay_out.drop(own)
        self._unwatch_relayd(RelaydSock(net_index))
        self.core.relayd_failed(net_index, self.now)

    def _sync_relay_out(self) -> None:
        """Forget the backlog of relay daemon sockets closed meanwhile (DESTROY_RELAYD,
        a relay cleaned up)."""
        for fd in self.relay_out.fds():
            out = self._relay_out_watched.get(fd)
            pair = None if out is None else self.core.registry.relayds.get(RelaydId(out.net_index))
            live = pair is not None and fd in (pair.control_fd, pair.data_fd)
            if not live:
                self._unwatch_relay_out(fd)
                self.relay_out.drop(fd)

    def _relay_replies_at_exit(self) -> None:
        """At exit, let the relay daemons take the last packets and answer the
        RELAYD_CLOSE_STREAM of every stream (C waits for each reply in
        ``consumer_stream_relayd_close``), for at most :data:`EXIT_RELAY_WAIT_NS`: a
        relay that does not answer must not keep the daemon from exiting."""
        deadline = time.monotonic_ns() + EXIT_RELAY_WAIT_NS
        with selectors.DefaultSelector() as sel:
            while self.core.relay_exchanges_pending() or self.relay_out.fds():
                self._sync_relayds()
                self._sync_relay_out()
                left = deadline - time.monotonic_ns()
                if left <= 0:
                    log.error("relay daemons did not answer at exit; closing them")
                    return
                watched = self._relay_exit_watch(sel)
                if not watched:
                    return
                for key, mask in sel.select(left / 1e9):
                    self.now = time.monotonic_ns()
                    out, which = key.data
                    if mask & selectors.EVENT_WRITE and out is not None:
                        self._relay_writable(key.fd)
                    if mask & selectors.EVENT_READ and which is not None:
                        self._receive_relayd(which, key.fd)
                    self._flush_actions()

    def _relay_exit_watch(self, sel: selectors.BaseSelector) -> int:
        """(Re)fill ``sel`` with the relay control sockets (their replies) and the
        relay sockets with a backlog; how many are watched."""
        for key in list(sel.get_map().values()):
            sel.unregister(key.fileobj)
        wanted: dict[int, tuple[_RelayOut | None, RelaydSock | None]] = {}
        for which, fd in self._relayd_watched.items():
            wanted[fd] = (None, which)
        for fd, out in self._relay_out_watched.items():
            wanted[fd] = (out, wanted.get(fd, (None, None))[1])
        for fd, (backlog, replies) in wanted.items():
            events = (selectors.EVENT_WRITE if backlog is not None else 0) | (
                selectors.EVENT_READ if replies is not None else 0
            )
            with contextlib.suppress(KeyError, ValueError, OSError):
                sel.register(fd, events, (backlog, replies))
        return len(sel.get_map())

    def _relay_out_at_exit(self) -> None:
        """At exit, what the relay daemon sockets take at once is written; the rest is
        dropped (a stalled relay must not keep the daemon from exiting)."""
        for fd in self.relay_out.fds():
            with contextlib.suppress(OSError):
                self.relay_out.flush(fd)
            self._unwatch_relay_out(fd)
            self.relay_out.drop(fd)

    def _wake(self, fd: int, target: Stream | Channel) -> None:
        try:
            hangup = os.read(fd, 4096) == b""
        except BlockingIOError:
            hangup = False
        except OSError:
            hangup = True
        if hangup:
            self.sel.unregister(fd)
            self._watched.pop(fd, None)
        if isinstance(target, Channel):
            if hangup:
                self.core.channel_hangup(target, self.now)
        else:
            self.core.stream_ready(target, self.now, hangup=hangup)

    def _sync_watched(self) -> None:
        """Bring the selector's stream and channel wait fds to :meth:`Core.watched`
        when the core's tables changed since the last time (a stream or channel came
        or went, a pause, a hang-up); a turn after plain wake-ups costs nothing."""
        version = self.core.tables_version
        if version == self._watched_version:
            return
        self._watched_version = version
        wanted = self.core.watched()
        for fd in list(self._watched):
            if fd not in wanted or wanted[fd] is not self._watched[fd]:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self.sel.unregister(fd)
                del self._watched[fd]
        for fd, stream in wanted.items():
            if fd not in self._watched:
                try:
                    self.sel.register(fd, selectors.EVENT_READ, stream)
                except (KeyError, ValueError, OSError) as exc:
                    log.error("cannot watch fd %d: %s", fd, exc)
                    continue
                self._watched[fd] = stream

    def _flush_actions(self) -> None:
        """Perform the core's actions in order, until it has none left (answering a
        request can make a handler go on and queue more)."""
        while actions := self.core.take_actions():
            for action in actions:
                if isinstance(action, Request):
                    self.core.complete(action, effects.answer(action), self.now)
                    continue
                try:
                    if isinstance(action, SendRelaydData):
                        self._send_relayd(action.net_index, action.parts, control=False)
                    elif isinstance(action, Send) and isinstance(action.sock, RelaydSock):
                        self._send_relayd(action.sock.net_index, (action.data,), control=True)
                    elif isinstance(action, Send) and action.sock is Sock.ERROR:
                        self._send_error(action.data)
                    elif isinstance(action, Send) and isinstance(action.sock, Sock):
                        send_all(self.socks[action.sock], action.data, action.fds)
                    elif isinstance(action, Handover):
                        self._handover(action)
                    elif isinstance(action, ReleaseMemory):
                        self._release_memory()
                    else:
                        effects.perform(action)
                except (OSError, UstrefError) as exc:
                    log.error("sending to the session daemon: %s", exc)
                    self.core.closed = True

    def _release_memory(self) -> None:
        """:class:`~ustref.consumerd.exchange.ReleaseMemory`, freezing the survivors the
        first time when :attr:`freeze_at_release` says so."""
        freeze, self.freeze_at_release = self.freeze_at_release, False
        collected = effects.release_memory(freeze=freeze)
        frozen = ", the rest frozen" if freeze else ""
        log.debug("memory released: %d objects collected%s", collected, frozen)

    def _send_error(self, data: bytes) -> None:
        """``lttng_consumer_send_error``: a code on the error socket. Its callers ignore
        its failure (the metadata request's short read), so the daemon goes on."""
        try:
            send_all(self.socks[Sock.ERROR], data, ())
        except (OSError, UstrefError) as exc:
            log.error("error socket: %s", exc)

    def _handover(self, action: Handover) -> None:
        """The ust-ctl part of ``send_channel_to_sessiond_and_relayd``: the backend says
        what to send (:meth:`~ustref.consumerd.ring_backend.UstChannel.handover`), the
        transport sends it and closes the messages' fd copies."""
        sock = self.socks[Sock.COMMAND]
        channel = action.channel
        hand_over(sock, channel.ust.handover())
        channel.ust.close_wakeup_fd()
        for stream in channel.streams:
            hand_over(sock, stream.ust.handover())
        hand_over(sock, self.core.backend.end_of_streams())
