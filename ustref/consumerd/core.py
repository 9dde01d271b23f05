"""The sans-IO core of ustref-consumerd.

The core plays the consumer's side of the session daemon conversation. It never
reads a clock and makes no system call of its own: the shell
(:mod:`ustref.consumerd.loop`) reads ``time.monotonic_ns()`` once per turn and
passes that ``now`` (integer nanoseconds) to every entry point.

**Entry points** (each takes ``now``): :meth:`Core.receive` (bytes and fds that
arrived on a socket; empty bytes without fds is EOF), :meth:`Core.complete` (the
result of a request the shell performed), :meth:`Core.stream_ready` (a stream's
wait fd was emptied, or hung up), :meth:`Core.channel_hangup`,
:meth:`Core.handle_timer`, :meth:`Core.pause_data_consumption`,
:meth:`Core.shutdown`. Queries: :meth:`Core.take_actions`, :meth:`Core.watched`
(the wait fds to poll), :attr:`Core.tables_version` (changes whenever
:meth:`Core.watched` or the relay slots may have changed: the shell updates its fd set
then, never on a plain wake-up), :meth:`Core.next_deadline` (int ns or ``None``; from
a heap of the timers' deadlines, rebuilt only when channels come or go).

**Actions** (:mod:`ustref.consumerd.exchange`; the shell performs them in order,
through :mod:`ustref.consumerd.effects`): ``Send`` (bytes + fds on a socket),
``Handover`` (the ust-ctl channel and streams on the command socket),
``WriteMonitor`` (a sample to the monitor pipe), ``SetNonBlocking`` (the monitor
pipe), ``RemoveShmFiles`` (the ``--shm-path`` files of a deleted channel) and the
requests whose result a handler waits for, ``OpenStreamFds`` (the stream shm
objects or files), ``CreatePipe`` (a metadata stream's poll pipe) and ``PeerFamily``
(the address family of a received relay daemon socket's peer), answered
through :meth:`Core.complete`.

**Behind injected objects** (not actions): the ust-ctl backend
(:class:`~ustref.consumerd.ring_backend.Backend`: channel creation, flush, clear,
metadata writes, its ring-buffer timers — liblttng-ust-ctl calls in C) with the
mmap reads and writes of the ring buffers, and file output (:mod:`ustref.output`:
trace chunks, stream and index files). Closing fds the core owns (``os.close``) is
done in place.

**Exchange slots.** Each socket the core talks on (command, metadata; relay daemon
control sockets later) has its own slot: at most one exchange in flight and a
queue. A command takes the command slot until its handler ends; a handler that
needs the metadata socket (``request_metadata``) yields ``Acquire`` and queues for
the metadata slot while keeping the command slot; the metadata switch timer starts
an exchange in the metadata slot alone, so commands go on meanwhile.

**Error boundary.** Every handler, plain or generator, runs inside
:meth:`Core._advance`: a :class:`~ustref.errors.UstrefError`, an ``OSError`` or a
``construct`` error ends the exchange, is logged, and the command gets the reply
the C consumer answers on failure (:attr:`ustref.consumerd.behaviour.Behaviour.on_error`),
in the shape due at the point reached (see :func:`failure_reply`); the daemon goes on.

Mirrors the command side of lttng-tools v2.13.9: ``consumer_thread_sessiond_poll``
and ``lttng_consumer_recv_cmd`` (consumer.c) feeding ``lttng_ustconsumer_recv_cmd``
(ust-consumer.c; lines in :data:`~ustref.consumerd.behaviour.RECV_CMD`), and the timers of
consumer-timer.c. See ``spec/core.md``.
"""

from __future__ import annotations

import enum
import heapq
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import construct

from ustref._lazy import lazy_module
from ustref.consumerd import lifetime, streams
from ustref.consumerd.decode import decode_command
from ustref.consumerd.exchange import (
    Acquire,
    HandlerGen,
    Need,
    Peer,
    Received,
    RelaydSock,
    Release,
    ReleaseMemory,
    Request,
    Send,
    SendRelaydData,
    Sock,
    Wait,
    WriteMonitor,
)
from ustref.consumerd.handlers import HANDLERS, request_metadata
from ustref.consumerd.registry import Channel, ChannelType, RelayPacket, Stream, close_fd
from ustref.consumerd.relay_cleanup import cleanup_relayd, reap_inactive_streams
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import Backend
from ustref.consumerd.state import (
    RELEASE_MEMORY_DELAY,
    RELEASE_MEMORY_INTERVAL,
    ConsumerState,
    Handler,
    stream_relayd,
)
from ustref.errors import (
    LocalProtocolError,
    RemoteProtocolError,
    SocketClosedError,
    UstrefError,
)
from ustref.ids import RelaydId, SessionId, StreamKey
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CHANNEL_MONITOR_MSG,
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG_SIZE,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    LOST_PACKETS_REPLY,
    STATUS_CHANNEL,
    STATUS_MSG,
    ConsumerChannelMonitorMsg,
    ConsumerCloseTraceChunkReply,
    ConsumerMsg,
    ConsumerStatusChannel,
    ConsumerStatusMsg,
    DataPendingReply,
    DiscardedEventsReply,
    LostPacketsReply,
    LttngConsumerCommand,
)
from ustref.protocol.conversation.rules import REPLY_AFTER, ReplyKind
from ustref.ring.reader import Status
from ustref.ring.timers import PeriodicTimer

if TYPE_CHECKING:
    from ustref.consumerd import relayd as client
else:
    # The relay daemon client and its grammar: executed when a session streams.
    client = lazy_module("ustref.consumerd.relayd")

log = logging.getLogger("ustref.consumerd")

RELAY_QUEUE_LIMIT = 64
"""Exchanges queued on one relay daemon's control socket (index sends, metadata, close)
beyond which that relay's streams are not consumed until it answers."""
RELAY_BATCH_DEPTH = 2
"""Batches of one relay data stream's packets queued at most before a wake-up leaves
the next in the ring (one being answered, one waiting): sub-buffers wait in the
ring, not copied in the consumer's memory, and the next batch is larger."""

BOUNDARY_ERRORS = (UstrefError, OSError, construct.ConstructError)
"""What the error boundary turns into a failure reply (anything else is a bug)."""

_REPLIES = {
    ReplyKind.NONE: 0,
    ReplyKind.CONSUMER_STOPS: 0,
    ReplyKind.STATUS: 1,
    ReplyKind.STATUS_CHANNEL: 1,
    ReplyKind.DATA_PENDING: 1,
    ReplyKind.COUNT_U64: 1,
    ReplyKind.CLOSE_TRACE_CHUNK: 1,
    ReplyKind.STATUS_FD_STATUS: 2,
    ReplyKind.CREATE_TRACE_CHUNK: 2,
    ReplyKind.PUSH_METADATA: 2,
    ReplyKind.GET_CHANNEL: 2,
}
"""How many ``Send`` actions on the command socket complete each kind of reply
(the ust-ctl hand-over of GET_CHANNEL is a ``Handover``, not counted)."""


def failure_reply(abi: Abi, cmd: LttngConsumerCommand, sent: int) -> bytes | None:
    """The bytes the C consumer answers when ``cmd`` fails after ``sent`` replies of
    its own went out, or ``None`` when nothing more is due (see ``spec/core.md``).

    Before any reply: the command's reply shape (status, status channel, int, u64,
    close-trace-chunk reply with an empty path) carrying ``on_error``; after a first
    status of a two-status command: the second status, carrying ``on_error``."""
    # The behaviour table (1.4 MB of the daemon's memory with what it imports) is read
    # on the first failure only: an idle daemon never needs it.
    from ustref.consumerd.behaviour import BEHAVIOUR

    expected = _REPLIES[REPLY_AFTER[abi][cmd]]
    on_error = BEHAVIOUR[cmd].on_error
    if sent >= expected or on_error is None:
        return None
    value = on_error.value
    if sent == 0:
        kind = REPLY_AFTER[abi][cmd]
        if kind is ReplyKind.STATUS_CHANNEL:
            channel = ConsumerStatusChannel(ret_code=value, key=0, stream_count=0)  # type: ignore[arg-type]
            return STATUS_CHANNEL.build(channel)
        if kind is ReplyKind.DATA_PENDING:
            return DATA_PENDING_REPLY.build(DataPendingReply(is_data_pending=int(value)))
        if kind is ReplyKind.COUNT_U64:
            if cmd is LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS:
                return DISCARDED_EVENTS_REPLY.build(
                    DiscardedEventsReply(discarded_events=int(value))
                )
            return LOST_PACKETS_REPLY.build(LostPacketsReply(lost_packets=int(value)))
        if kind is ReplyKind.CLOSE_TRACE_CHUNK:
            reply = ConsumerCloseTraceChunkReply(ret_code=value, path_length=1, path=b"\0")  # type: ignore[arg-type]
            return CLOSE_TRACE_CHUNK_REPLY.build(reply)
    return STATUS_MSG.build(ConsumerStatusMsg(ret_code=value))  # type: ignore[arg-type]


@dataclass(eq=False)
class _Exchange:
    """One handler run: its generator, the slots it holds, what it waits for."""

    gen: HandlerGen | None
    """``None`` while a plain handler runs (it never waits)."""
    command: LttngConsumerCommand | None
    """The command it answers; ``None`` for an exchange the consumer started (timer)."""
    label: str
    holds: set[Peer] = field(default_factory=set)
    waiting: Wait | None = None
    replies: int = 0
    """``Send`` actions on the command socket so far."""


@dataclass(eq=False)
class _Slot:
    """A socket's inbox, its in-flight exchange and the exchanges queued for it."""

    sock: Peer
    data: bytearray = field(default_factory=bytearray)
    fds: deque[tuple[int, int]] = field(default_factory=deque)
    """``(offset, fd)``: each fd with the stream offset of the byte it came with (the last
    byte of its ``recvmsg``: the kernel ends a read at the message carrying fds)."""
    taken: int = 0
    """Stream offset of ``data[0]``: the bytes taken so far."""
    owner: _Exchange | None = None
    queue: deque[_Exchange] = field(default_factory=deque)
    eof: bool = False


class _TimerKind(enum.IntEnum):
    """The timers of a channel, in the order :meth:`Core.handle_timer` runs those due
    at one ``now`` (every channel's ring-buffer timers, then the monitor samples, the
    metadata switch timers, the live timers)."""

    RING = 0
    MONITOR = 1
    METADATA = 2
    LIVE = 3


_PERIODIC = {
    _TimerKind.MONITOR: "monitor_timer",
    _TimerKind.METADATA: "metadata_timer",
    _TimerKind.LIVE: "live_timer",
}
"""The :class:`Channel` attribute holding each of the consumer's own timers."""

_TimerEntry = tuple[int, int, _TimerKind, Channel]
"""A heap entry: deadline (ns), the channel's rank in the channel table, the kind
(one entry per channel and kind, so the channel itself is never compared)."""


def _deadline(channel: Channel, kind: _TimerKind) -> int | None:
    if kind is _TimerKind.RING:
        return channel.ust.next_deadline()
    timer: PeriodicTimer | None = getattr(channel, _PERIODIC[kind])
    return None if timer is None else timer.deadline


class Core(ConsumerState):
    """The consumer daemon: its state, exchange slots, timers and error boundary."""

    def __init__(
        self,
        *,
        abi: Abi = Abi.V2_13_9,
        handlers: Mapping[LttngConsumerCommand, Handler] | None = None,
        backend: Backend | None = None,
    ) -> None:
        super().__init__(abi=abi, backend=backend)
        self.handlers: Mapping[LttngConsumerCommand, Handler] = (
            HANDLERS if handlers is None else handlers
        )
        self._slots: dict[Peer, _Slot] = {
            sock: _Slot(sock) for sock in (Sock.COMMAND, Sock.METADATA)
        }
        self._requests: dict[Request, _Exchange] = {}
        self._queue_stalled: set[int] = set()
        """Relay daemons whose streams :meth:`consumes` refused for a full control queue."""
        self._drain_again: dict[StreamKey, Stream] = {}
        """Relay data streams left with sub-buffers ready after one batch
        (:meth:`drain` with ``once``): drained again at the next turn
        (:meth:`handle_timer`), once the shell sent what that batch queued."""
        self._release_at: int | None = None
        """When the next :class:`~ustref.consumerd.exchange.ReleaseMemory` is due."""
        self._released_at: int | None = None
        self._current: _Exchange | None = None
        self._epoch = 0
        """Bumped by every entry point that may change the streams, the channels'
        wait fds, the pause state or the relay slots (see :attr:`tables_version`)."""
        self._timers: list[_TimerEntry] = []
        """The heap of timer deadlines, valid while the channel table's version is
        :attr:`_timers_version` (timers are armed before a channel enters the table
        and only move when :meth:`handle_timer` fires them)."""
        self._timers_version = -1

    @property
    def tables_version(self) -> tuple[int, int]:
        """Changes whenever what :meth:`watched` and :meth:`relayd_slots` answer may
        have changed: after a command ran (or went on), a request completed, a hang-up,
        a pause or resume, a relay slot opened, closed or met EOF, or a channel came
        or went. A plain stream wake-up (:meth:`stream_ready` without hang-up) and the
        timers leave it as it is, so the shell's fd set costs nothing per wake-up."""
        return (self._epoch, self.registry.channels.version)

    def _tables_changed(self) -> None:
        self._epoch += 1

    # -- output ---------------------------------------------------------------------------

    def send(self, data: bytes, fds: tuple[int, ...] = (), sock: Peer = Sock.COMMAND) -> None:
        if sock is Sock.COMMAND and self._current is not None:
            self._current.replies += 1
        super().send(data, fds, sock)

    def in_flight(self, sock: Peer) -> str | None:
        """The label of the exchange holding ``sock``'s slot (``None``: free)."""
        owner = self._slots[sock].owner
        return None if owner is None else owner.label

    # -- entry points ---------------------------------------------------------------------

    def receive(self, sock: Peer, data: bytes, fds: list[int], now: int) -> None:
        """Bytes (and fds) arrived on ``sock``; an empty ``data`` without fds is EOF."""
        self.now = now
        slot = self._slots.get(sock)
        if slot is None:
            for fd in fds:
                close_fd(fd)
            return
        if not data and not fds:
            if isinstance(sock, RelaydSock):
                self.relayd_failed(sock.net_index, now)
                return
            self._eof(slot)
            return
        if sock is Sock.METADATA or isinstance(sock, RelaydSock):
            # The metadata socket only ever answers this consumer's requests
            # (lttng_ustconsumer_request_metadata); anything else is dropped.
            for fd in fds:
                close_fd(fd)
            fds = []
            if slot.owner is None:
                log.error("%d unrequested bytes on the %s socket dropped", len(data), sock.value)
                return
        slot.data += data
        if fds:
            at = max(slot.taken, slot.taken + len(slot.data) - 1)
            slot.fds.extend((at, fd) for fd in fds)
        self._pump()
        self._settle()

    def complete(self, request: Request, result: Received | OSError, now: int) -> None:
        """The shell performed ``request``: its fds, or the ``OSError`` it met."""
        self.now = now
        self._tables_changed()
        exchange = self._requests.pop(request, None)
        if exchange is None:
            raise LocalProtocolError(f"no handler waits for {request!r}")
        exchange.waiting = None
        if isinstance(result, OSError):
            self._advance(exchange, None, result)
        else:
            self._advance(exchange, result)
        self._pump()
        self._settle()

    def stream_ready(self, stream: Stream, now: int, *, hangup: bool = False) -> None:
        """``consumer_thread_data_poll`` / ``consumer_thread_metadata_poll``: the shell
        emptied the stream's wait fd (``consumer_stream_ust_on_wake_up``); drain the
        stream, and on hang-up (the app died) flush, drain to the end and close it."""
        self.now = now
        if hangup:
            self._tables_changed()
            lifetime.stream_hangup(self, stream)
        else:
            self.drain(stream, once=_paced(stream))
        self._settle()

    def consumes(self, stream: Stream, *, closing: bool = False) -> bool:
        """:meth:`ConsumerState.consumes`, and not a data stream whose relay daemon has
        :data:`RELAY_QUEUE_LIMIT` exchanges queued on its control socket: a relay that
        reads packets but does not answer stops its data streams' consumption, as C's
        data thread stops waiting for the reply of the first (``relayd_send_index``) —
        the consumer's memory does not grow without bound. Metadata is never held back
        (C's metadata thread is not the data thread, and a packet's metadata must reach
        the relay before the stream closes), nor is a ``closing`` stream's last data."""
        if not super().consumes(stream, closing=closing):
            return False
        if closing or stream.channel.type is ChannelType.METADATA:
            return True
        net = stream_relayd(stream)
        if net is not None and self._queue_full(net):
            if net not in self._queue_stalled:
                self._queue_stalled.add(net)
                self._tables_changed()  # its streams leave the watched set
            return False
        return True

    def _queue_full(self, net_index: int) -> bool:
        slot = self._slots.get(RelaydSock(net_index))
        return slot is not None and len(slot.queue) >= RELAY_QUEUE_LIMIT

    def _settle(self) -> None:
        """The end of an entry point: delete the streams of a relay cleaned up
        meanwhile; drain the streams of a relay whose control socket queue went down
        (their wake-ups were left unread while it was full). Either changes the
        watched set (:attr:`tables_version`)."""
        self._reap()
        for net in list(self._queue_stalled):
            if self._queue_full(net):
                continue
            self._queue_stalled.discard(net)
            self._tables_changed()
            for stream in list(self.registry.streams()):
                if stream_relayd(stream) == net:
                    self.drain(stream, once=_paced(stream))
        self._reap()

    def _reap(self) -> None:
        if self.inactive_streams:
            self._tables_changed()
            reap_inactive_streams(self)

    def relayd_stalled(self, net_index: int, stalled: bool, now: int) -> None:
        """The relay daemon connection ``net_index`` has bytes its sockets did not
        take (``stalled``), or took the last of them. While stalled, its streams are
        not consumed (:meth:`consumes`): their sub-buffers wait in the ring buffers,
        as a C data thread blocked in ``sendmsg`` leaves them; other streams go on.
        Once it drains, each of its streams is drained (a wake-up may have come
        meanwhile)."""
        self.now = now
        self._tables_changed()  # its streams leave or rejoin the watched set
        if stalled:
            self.stalled_relayds.add(net_index)
            return
        if net_index not in self.stalled_relayds:
            return
        self.stalled_relayds.discard(net_index)
        for stream in list(self.registry.streams()):
            output = stream.output
            if isinstance(output, RelayOutput) and output.relayd.sock.net_index == net_index:
                self.drain(stream, once=_paced(stream))
        self._settle()

    def relayd_failed(self, net_index: int, now: int) -> None:
        """The shell met an I/O error (or EOF) on a socket of the relay daemon
        connection ``net_index``: ``lttng_consumer_cleanup_relayd``
        (:mod:`ustref.consumerd.relay_cleanup`), then its streams are deleted."""
        self.now = now
        self._tables_changed()
        cleanup_relayd(self, RelaydId(net_index))
        self.close_relayd_slot(RelaydSock(net_index))  # a slot without a pair too
        self._settle()

    def channel_hangup(self, channel: Channel, now: int) -> None:
        """:func:`ustref.consumerd.lifetime.channel_hangup`."""
        self.now = now
        self._tables_changed()
        lifetime.channel_hangup(self, channel)

    def pause_data_consumption(self, paused: bool, now: int) -> None:
        """The pause pipe said ``paused`` (``__testpoint_consumerd_thread_data_poll``).
        While paused, :meth:`watched` leaves out the data streams and :meth:`drain`
        skips them, as ``consumer_thread_data_poll`` sleeps instead of reading them;
        the monitor timer goes on sampling. On resume the data thread's next pass
        reads every stream whose wait fd became ready meanwhile: ustref drains
        every data stream (draining one with nothing ready reads nothing)."""
        self.now = now
        self._tables_changed()
        was_paused, self.data_consumption_paused = self.data_consumption_paused, paused
        if was_paused and not paused:
            for stream in list(self.registry.streams()):
                if stream.reader is not None and stream.channel.type is ChannelType.DATA:
                    self.drain(stream)

    def watched(self) -> dict[int, Stream | Channel]:
        """The fds to poll for readability: each consumed stream's wait fd and the
        wait fd of each data channel handed over (``consumer_thread_channel_poll``)."""
        fds: dict[int, Stream | Channel] = {
            stream.wait_fd: stream
            for stream in self.registry.streams()
            if stream.reader is not None and stream.wait_fd >= 0 and self.consumes(stream)
        }
        for channel in self.registry.channels.values():
            # Monitored or not: consumer_add_channel notifies the channel thread of
            # every data channel with a wait fd.
            if channel.wait_fd >= 0 and channel.sent_to_sessiond:
                fds[channel.wait_fd] = channel
        return fds

    # -- exchanges ------------------------------------------------------------------------

    def _eof(self, slot: _Slot) -> None:
        """EOF: the command socket's ends the daemon; the metadata socket's, or a relay
        daemon control socket's, fails the exchange in flight there (and any queued)."""
        slot.eof = True
        self._tables_changed()
        if slot.sock is Sock.COMMAND:
            self.closed = True
            return
        log.error("the %s socket closed", slot.sock.value)
        waiting = [slot.owner] if slot.owner is not None else []
        waiting += list(slot.queue)
        slot.queue.clear()
        for exchange in waiting:
            if exchange is self._current:
                # The exchange running now closed it (a relay pair destroyed by its
                # last stream's close): it meets the EOF at its next wait.
                continue
            exchange.waiting = None
            self._advance(exchange, None, SocketClosedError(slot.sock.value))
        self._pump()

    def _pump(self) -> None:
        """Feed each slot's in-flight exchange what its inbox holds; dispatch the next
        command whenever the command slot is free."""
        progress = True
        while progress and not self.closed:
            progress = False
            for slot in list(self._slots.values()):
                exchange = slot.owner
                if exchange is None:
                    continue
                need = exchange.waiting
                if isinstance(need, Need) and need.sock == slot.sock:
                    got = self._take(slot, need.nbytes, need.nfds)
                    if got is not None:
                        exchange.waiting = None
                        self._advance(exchange, got)
                        progress = True
            command = self._slots[Sock.COMMAND]
            if command.owner is None:
                raw = self._take(command, CONSUMER_MSG_SIZE, 0)
                if raw is not None:
                    self._dispatch(raw.data)
                    progress = True

    @staticmethod
    def _take(slot: _Slot, nbytes: int, nfds: int) -> Received | None:
        """``nbytes`` bytes and the fds that came with them, at most ``nfds`` (as a
        ``recvmsg`` with room for ``nfds`` fds: those that do not fit are closed, as the
        kernel closes them on ``MSG_CTRUNC``). Fewer fds than ``nfds`` when the bytes
        came without them (``lttcomm_recv_fds_unix_sock`` then fails in C); ``None``
        until ``nbytes`` bytes are there."""
        if len(slot.data) < nbytes:
            return None
        data = bytes(slot.data[:nbytes])
        del slot.data[:nbytes]
        slot.taken += nbytes
        came: list[int] = []
        while slot.fds and slot.fds[0][0] < slot.taken:
            came.append(slot.fds.popleft()[1])
        for fd in came[nfds:]:
            close_fd(fd)
        return Received(data, tuple(came[:nfds]))

    def _dispatch(self, raw: bytes) -> None:
        """``lttng_ustconsumer_recv_cmd()``'s switch, made into a table lookup."""
        cmd_type = int.from_bytes(raw[:4], "little")
        try:
            msg: ConsumerMsg = decode_command(self.abi, raw)
        except RemoteProtocolError as exc:
            self._refuse(cmd_type, exc)
            return
        handler = self.handlers.get(msg.cmd_type)
        if handler is None:
            log.error("command %s is not handled by a UST consumer", msg.cmd_type.name)
            return
        log.debug("%s: %r", msg.cmd_type.name, msg.u)
        self._tables_changed()
        exchange = _Exchange(None, msg.cmd_type, msg.cmd_type.name, {Sock.COMMAND})
        self._slots[Sock.COMMAND].owner = exchange
        previous, self._current = self._current, exchange
        try:
            gen = handler(self, msg)
        except BOUNDARY_ERRORS as exc:
            self._fail(exchange, exc)
            self._end(exchange)
            return
        finally:
            self._current = previous
        if gen is None:
            self._end(exchange)
            return
        exchange.gen = gen
        self._advance(exchange, None)

    def _refuse(self, cmd_type: int, exc: RemoteProtocolError) -> None:
        """A command the strict decode refused (:func:`~ustref.consumerd.decode.decode_command`:
        a value out of its enum) fails like its handler would: it gets the reply the C
        consumer answers on failure (:func:`failure_reply` before any reply of its own),
        never silence. The C consumer reads such a message as it is (the lines are the
        behaviour table's, rendered in ``spec/aborts.md``):

        * an unknown ``cmd_type`` falls to ``lttng_ustconsumer_recv_cmd``'s ``default:
          break;`` and ``end_nosignal``: no reply, as for every command whose C protocol
          answers nothing (``Behaviour.on_error`` is ``None``: ADD_CHANNEL, ADD_STREAM,
          UPDATE_STREAM, STOP, SNAPSHOT_METADATA, STREAMS_SENT);
        * ASK_CHANNEL_CREATION with ``output`` out of ``enum lttng_event_output``:
          ``consumer_allocate_channel``'s ``default: assert(0); free(channel); channel =
          NULL;`` returns NULL, ``if (!channel) goto end_channel_error;`` and
          ``end_channel_error`` sends ``consumer_send_status_channel(sock, NULL)``: a
          status channel carrying CHANNEL_FAIL, which ustref answers;
        * ASK_CHANNEL_CREATION with ``type`` out of ``enum lttng_ust_abi_chan_type``:
          ``default: assert(0); goto error_fatal;`` sends nothing and ends the command
          thread; ustref answers the command's failure reply instead (the same
          CHANNEL_FAIL status channel) and stays up;
        * any other enum: the command's own failure reply (``on_error``), sent before any
          status of its own, so a session daemon never sends the fd that a two-status
          command (ADD_RELAYD_SOCKET, CREATE_TRACE_CHUNK) asks for after its first."""
        try:
            cmd = LttngConsumerCommand(cmd_type)
        except ValueError:
            log.error("unknown command type %d ignored: %s", cmd_type, exc)
            return
        if cmd not in self.handlers:
            log.error("command %s is not handled by a UST consumer: %s", cmd.name, exc)
            return
        self._fail(_Exchange(None, cmd, cmd.name), exc)

    def open_relayd_slot(self, sock: RelaydSock) -> None:
        """Give the relay daemon control socket ``sock`` its exchange slot (done when
        ADD_RELAYD_SOCKET brings the control socket; a new socket for the same
        index gets a fresh slot, the old one's exchanges fail as at EOF)."""
        old = self._slots.get(sock)
        if old is not None and not old.eof:
            self._eof(old)
        self._slots[sock] = _Slot(sock)
        self._tables_changed()

    def close_relayd_slot(self, sock: RelaydSock) -> None:
        """The relay daemon connection is gone: fail what waits on it, drop the slot."""
        slot = self._slots.pop(sock, None)
        self._tables_changed()
        if slot is not None and not slot.eof:
            if slot.owner is None and not slot.queue:
                slot.eof = True  # nothing waits on it: a quiet end
                return
            self._eof(slot)

    def relayd_slots(self) -> list[RelaydSock]:
        """The relay daemon control sockets with a live slot (the shell watches them)."""
        return [s for s, slot in self._slots.items() if isinstance(s, RelaydSock) and not slot.eof]

    def run_exchange(self, gen: HandlerGen, label: str) -> None:
        """Start an exchange of the consumer's own that holds no slot yet: it takes the
        slots it needs with :class:`Acquire` (queued behind a busy one), as the data
        and metadata threads take a relay daemon's control socket lock."""
        exchange = _Exchange(gen, None, label, set())
        self._advance(exchange, None)
        self._pump()

    def start_exchange(self, gen: HandlerGen, sock: Sock, label: str) -> bool:
        """Start an exchange of the consumer's own (a timer's) in ``sock``'s slot; not
        started (``False``) while that slot is busy or closed."""
        slot = self._slots[sock]
        if slot.owner is not None or slot.eof:
            return False
        exchange = _Exchange(gen, None, label, {sock})
        slot.owner = exchange
        self._advance(exchange, None)
        self._pump()
        return True

    def _advance(
        self, exchange: _Exchange, value: Received | None, exc: BaseException | None = None
    ) -> None:
        """Run ``exchange`` until it waits or ends — the error boundary."""
        gen = exchange.gen
        assert gen is not None
        if exchange.command is not None:
            self._tables_changed()  # a command handler goes on: it may add or drop streams
        previous, self._current = self._current, exchange
        try:
            while True:
                try:
                    if exc is not None:
                        wait = gen.throw(exc)
                    elif value is None:
                        wait = next(gen)
                    else:
                        wait = gen.send(value)
                except StopIteration:
                    self._end(exchange)
                    return
                except BOUNDARY_ERRORS as error:
                    self._fail(exchange, error)
                    self._end(exchange)
                    return
                exc, value = None, Received()
                if isinstance(wait, Acquire):
                    slot = self._slots.get(wait.sock) or _Slot(wait.sock, eof=True)
                    if slot.eof:
                        exc = SocketClosedError(wait.sock.value, reason="is closed")
                    elif slot.owner is None or slot.owner is exchange:
                        slot.owner = exchange
                        exchange.holds.add(wait.sock)
                    else:
                        slot.queue.append(exchange)
                        exchange.waiting = wait
                        return
                elif isinstance(wait, Release):
                    self._release(exchange, wait.sock)
                elif isinstance(wait, Need):
                    if wait.sock not in exchange.holds:
                        exc = LocalProtocolError(f"{exchange.label} reads {wait.sock.value} unheld")
                        continue
                    held = self._slots.get(wait.sock) or _Slot(wait.sock, eof=True)
                    got = self._take(held, wait.nbytes, wait.nfds)
                    if got is None:
                        if held.eof:
                            exc = SocketClosedError(wait.sock.value)
                            continue
                        exchange.waiting = wait
                        return
                    value = got
                else:
                    self._requests[wait] = exchange
                    exchange.waiting = wait
                    self.act(wait)
                    return
        finally:
            self._current = previous

    def _release(self, exchange: _Exchange, sock: Peer) -> None:
        slot = self._slots.get(sock)
        exchange.holds.discard(sock)
        if slot is None or slot.owner is not exchange:
            return
        slot.owner = None
        if slot.queue:
            waiter = slot.queue.popleft()
            slot.owner = waiter
            waiter.holds.add(sock)
            waiter.waiting = None
            self._advance(waiter, Received())

    def _end(self, exchange: _Exchange) -> None:
        for sock in list(exchange.holds):
            self._release(exchange, sock)
        for slot in list(self._slots.values()):
            if exchange in slot.queue:
                slot.queue.remove(exchange)

    def _fail(self, exchange: _Exchange, exc: BaseException) -> None:
        """The error boundary's answer: log, and send the C consumer's failure reply."""
        if exchange.command is None:
            log.error("%s failed: %s", exchange.label, exc)
            return
        log.error("%s failed: %s", exchange.label, exc)
        try:
            reply = failure_reply(self.abi, exchange.command, exchange.replies)
        except BOUNDARY_ERRORS as error:  # pragma: no cover - the table's values build
            log.error("%s: cannot build the failure reply: %s", exchange.label, error)
            return
        if reply is not None:
            self._actions.append(Send(Sock.COMMAND, reply))
            exchange.replies += 1

    # -- timers ---------------------------------------------------------------------------

    def _timer_heap(self) -> list[_TimerEntry]:
        """The deadline heap, rebuilt (one walk of the channels) only when a channel
        came or went since the last build."""
        channels = self.registry.channels
        if self._timers_version != channels.version:
            heap: list[_TimerEntry] = []
            for rank, channel in enumerate(channels.values()):
                for kind in _TimerKind:
                    deadline = _deadline(channel, kind)
                    if deadline is not None:
                        heap.append((deadline, rank, kind, channel))
            heapq.heapify(heap)
            self._timers, self._timers_version = heap, channels.version
        return self._timers

    def next_deadline(self) -> int | None:
        """The earliest timer deadline (monotonic ns), or ``None`` without timers: the
        top of the deadline heap, without a walk over the channels; the last entry
        point's time while a stream waits to be drained again (:meth:`handle_timer`)."""
        if self._drain_again:
            return self.now
        heap = self._timer_heap()
        deadline = heap[0][0] if heap else None
        if self._release_at is not None and (deadline is None or self._release_at < deadline):
            return self._release_at
        return deadline

    def handle_timer(self, now: int) -> None:
        """Run the timers whose deadline passed by ``now``
        (:class:`~ustref.ring.timers.PeriodicTimer`): the ring-buffer timers the ust-ctl
        backend runs in the consumer (switch and read timers of ``channel_create()``,
        none with liblttng-ust-ctl, whose thread runs them), the monitor timer
        (``monitor_timer``, consumer-timer.c), which writes one
        ``lttcomm_consumer_channel_monitor_msg`` per channel to the monitor pipe, and
        the metadata switch timer. Only the due timers are visited (popped from the
        deadline heap, run in :class:`_TimerKind` order then channel order, and pushed
        back with their next deadline)."""
        self.now = now
        self._drain_ready_again()
        heap = self._timer_heap()
        due: list[_TimerEntry] = []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap))
        due.sort(key=lambda entry: (entry[2], entry[1]))
        for _, rank, kind, channel in due:
            if self.registry.channels.get(channel.key) is not channel:
                continue  # deleted by a timer run before it (the heap is rebuilt next)
            self._fire(channel, kind, now)
            deadline = _deadline(channel, kind)
            if deadline is not None:
                heapq.heappush(heap, (deadline, rank, kind, channel))
        self._release_memory(now)
        self._settle()

    def _release_memory(self, now: int) -> None:
        """Queue a :class:`~ustref.consumerd.exchange.ReleaseMemory` once memory was
        freed (:meth:`~ustref.consumerd.state.ConsumerState.memory_freed`):
        :data:`~ustref.consumerd.state.RELEASE_MEMORY_DELAY` after the turn that freed
        it, and :data:`~ustref.consumerd.state.RELEASE_MEMORY_INTERVAL` at least after
        the previous release."""
        if self._release_at is None:
            if not self.memory_to_release:
                return
            due = now + RELEASE_MEMORY_DELAY
            if self._released_at is not None:
                due = max(due, self._released_at + RELEASE_MEMORY_INTERVAL)
            self._release_at = due
        if now >= self._release_at:
            self.act(ReleaseMemory())
            self.memory_to_release = False
            self._release_at = None
            self._released_at = now

    def _drain_ready_again(self) -> None:
        """Drain once more each relay data stream a batch left with sub-buffers ready
        (still registered: a stream closed meanwhile is skipped)."""
        again, self._drain_again = self._drain_again, {}
        for stream in again.values():
            channel = stream.channel
            if self.registry.channels.get(channel.key) is channel and stream in channel.streams:
                self.drain(stream, once=True)

    def _fire(self, channel: Channel, kind: _TimerKind, now: int) -> None:
        """Run one due timer of ``channel``."""
        if kind is _TimerKind.RING:
            try:
                channel.ust.run_timers(now)
            except (UstrefError, OSError) as exc:
                log.error("channel %d: ring-buffer timer: %s", channel.key, exc)
            return
        timer: PeriodicTimer | None = getattr(channel, _PERIODIC[kind])
        if timer is None or not timer.fire(now):
            return
        if kind is _TimerKind.MONITOR:
            self._monitor_sample(channel)
        elif kind is _TimerKind.METADATA:
            self._metadata_switch_timer(channel)
        else:
            self._live_timer(channel)

    def _metadata_switch_timer(self, channel: Channel) -> None:
        """Mirrors ``metadata_switch_timer``: ask the session
        daemon for new metadata (``lttng_ustconsumer_request_metadata(ctx, channel,
        1, 1)``) in the metadata slot. C blocks its timer thread on
        ``metadata_socket_lock``; here a tick that finds the slot busy is skipped
        (the next tick asks again), and commands go on meanwhile."""
        if channel.metadata_cache is None:
            return
        label = f"metadata switch timer of channel {channel.key}"
        self.start_exchange(request_metadata(self, channel), Sock.METADATA, label)

    def _live_timer(self, channel: Channel) -> None:
        """Mirrors ``live_timer`` and ``check_stream``: each stream gets
        :meth:`_flush_index`, except one whose indexes wait on the metadata
        synchronisation (``waiting_on_metadata``): it is marked
        ``missed_metadata_flush`` and gets its beacon after them, so that a beacon
        never overtakes an index."""
        for stream in list(channel.streams):
            if stream.waiting_on_metadata:
                stream.missed_metadata_flush = True
                continue
            self._flush_index(stream)

    def _flush_index(self, stream: Stream) -> None:
        """Mirrors ``consumer_flush_ust_index`` (consumer-timer.c): take the current
        timestamp, flush (active); a snapshot with data means packets to send
        (drained here, where C wakes the data thread), an empty one a beacon index."""
        reader = stream.reader
        if reader is None:
            return
        try:
            timestamp = reader.get_current_timestamp()
            streams.flush(stream, producer_active=True)
            if reader.snapshot() is Status.OK:
                self.drain(stream)
            elif isinstance(stream.output, RelayOutput):
                stream.output.send_beacon(timestamp, reader.get_stream_id())
        except (UstrefError, OSError) as exc:
            log.error("stream %s: live timer: %s", stream.name, exc)

    # -- live: metadata synchronisation before each index -----------------------------

    def drain(
        self,
        stream: Stream,
        *,
        even_paused: bool = False,
        closing: bool = False,
        once: bool = False,
    ) -> bool:
        """:meth:`ConsumerState.drain`; then, for a data stream sent to a relay daemon,
        the packets taken go to the relay (:meth:`_relay_packets`): all of them in one
        exchange (two around a relay rotation point: :func:`_rotation_split`), or one
        exchange per packet in a live session (each index waits for its metadata
        synchronisation) and in a channel with a trace file size limit, queued in
        order.

        A wake-up drains a relay data stream ``once`` (:func:`_paced`): one budget of
        sub-buffers, and the stream is drained again at the next turn if more may be
        ready, so that the shell sends each batch while the next is read — a stream
        drained to its end in one go would hold every packet a fast application
        writes meanwhile, and send nothing until it stops."""
        if once and stream.relay_batches >= RELAY_BATCH_DEPTH:
            stream.relay_drain_wanted = True  # drained when a batch is answered
            self._drain_again.pop(stream.key, None)
            return False
        more = super().drain(stream, even_paused=even_paused, closing=closing, once=once)
        if more:
            self._drain_again[stream.key] = stream
        else:
            self._drain_again.pop(stream.key, None)
        if not stream.relay_packets:
            return more
        pending, stream.relay_packets = stream.relay_packets, []
        output = stream.output
        if not isinstance(output, RelayOutput):  # pragma: no cover - only relay sinks add them
            return more
        if not stream.channel.is_live:
            batches = _rotation_split(stream, pending)
            if stream.channel.tracefile_size:
                # The relay daemon switches trace files on a packet's data: an index
                # sent behind the next packet's data lands in the wrong file
                # (tools/clear/test_ust point 1668 read no event). C's order here.
                batches = [[packet] for batch in batches for packet in batch]
            for batch in batches:
                first, last = batch[0].net_seq_num, batch[-1].net_seq_num
                label = f"{stream.name}: packets {first}-{last} to the relay"
                stream.relay_batches += 1
                self.run_exchange(self._batch(stream, output, batch), label)
            return more
        for packet in pending:
            stream.waiting_on_metadata += 1
            label = f"{stream.name}: packet {packet.net_seq_num} to the relay"
            self.run_exchange(self._relay_packets(stream, output, [packet]), label)
        return more

    def _batch(self, stream: Stream, output: RelayOutput, packets: list[RelayPacket]) -> HandlerGen:
        """:meth:`_relay_packets` counted in :attr:`Stream.relay_batches`; once it
        ends, a wake-up it held back drains the stream (at the next turn)."""
        try:
            yield from self._relay_packets(stream, output, packets)
        finally:
            stream.relay_batches -= 1
            if stream.relay_drain_wanted:
                stream.relay_drain_wanted = False
                self._drain_again[stream.key] = stream

    def _relay_packets(
        self, stream: Stream, output: RelayOutput, packets: Sequence[RelayPacket]
    ) -> HandlerGen:
        """Data packets to the relay daemon, holding the relay's control slot: their
        data headers and contents on the data socket, then their RELAYD_SEND_INDEX
        commands (``consumer_stream_send_index``) and the relay's answers.

        C's data thread sends one packet, then its index, and waits for the answer
        before the next packet. Here the packets drained together go at once, and
        their indexes are pipelined (:func:`~ustref.consumerd.relayd.send_indexes`):
        each socket carries the same bytes in the same order, and the relay daemon
        pairs a packet's data and index whichever comes first (relayd ``stream.cpp``
        ``stream_update_index`` / ``stream_add_index``: the data half sets the
        index's file and offset when the data arrives). What C saves per packet, a
        round trip to the relay, is what lets a relay keep up with small sub-buffers.

        In a live session ``packets`` is one packet, whose index waits first for the
        metadata synchronisation (mirrors ``consumer_stream_sync_metadata_index``:
        :meth:`_sync_metadata`), so a live viewer never sees a packet whose metadata
        the relay daemon lacks; a failed synchronisation sends nothing more, as C
        sends no index. Once the packet holds the relay's slot, the stream no longer
        waits on metadata: a beacon missed meanwhile, or the stream's close, queues
        behind it."""
        live = stream.channel.is_live
        try:
            if live:
                yield from self._sync_metadata(stream.channel.session_id)
            yield Acquire(output.relayd.sock)
        except BOUNDARY_ERRORS:
            if live:
                self._live_index_done(stream)
            raise
        if live:
            self._live_index_done(stream)
        parts = tuple(packet.data for packet in packets)
        self.act(SendRelaydData(output.relayd.sock.net_index, parts))
        try:
            yield from client.send_indexes(
                self,
                output.relayd,
                output.relay_stream_id,
                [(packet.net_seq_num, packet.index) for packet in packets],
            )
        except BOUNDARY_ERRORS:
            output.on_error()  # consumer_stream_send_index failing: the relay is cleaned up
            raise
        yield Release(output.relayd.sock)

    def _live_index_done(self, stream: Stream) -> None:
        stream.waiting_on_metadata -= 1
        if stream.waiting_on_metadata:
            return
        if stream.missed_metadata_flush:
            # consumer_stream_sync_metadata_index: send_live_beacon after the index.
            stream.missed_metadata_flush = False
            self._flush_index(stream)
        closing, stream.closing_output = stream.closing_output, None
        if closing is not None:
            closing.close()

    def _sync_metadata(self, session: SessionId) -> HandlerGen:
        """Mirrors ``consumer_stream_sync_metadata``, ``do_sync_metadata`` and
        ``lttng_ustconsumer_sync_metadata``: for each metadata stream of ``session``,
        ask the session daemon for new metadata (the metadata slot) and let the
        metadata stream take it (sent to the relay daemon as complete units), again
        while a request brought new metadata (``SYNC_METADATA_STATUS_NEW_DATA``); a
        stream deleted meanwhile has nothing left to do."""
        for channel in list(self.registry.of_session(session)):
            stream = channel.metadata_stream
            if stream is None or not channel.monitor or channel.metadata_cache is None:
                continue
            while True:
                before = (stream.metadata_version, stream.ust_metadata_pushed)
                yield from request_metadata(self, channel)
                if stream.reader is None or stream not in channel.streams:
                    break
                self.drain(stream)
                if (stream.metadata_version, stream.ust_metadata_pushed) == before:
                    break

    def _monitor_sample(self, channel: Channel) -> None:
        if self.monitor_pipe is None or not channel.streams:
            return
        try:
            samples = [
                streams.usage(stream) for stream in channel.streams if stream.reader is not None
            ]
        except UstrefError as exc:
            log.error("channel %d: monitor sample: %s", channel.key, exc)
            return
        if not samples:
            return
        usages = [u for u, _ in samples]
        msg = ConsumerChannelMonitorMsg(
            key=channel.key,
            lowest=min(usages),
            highest=max(usages),
            total_consumed=sum(c for _, c in samples),
        )
        self.act(WriteMonitor(self.monitor_pipe, CHANNEL_MONITOR_MSG.build(msg)))

    # -- shutdown ------------------------------------------------------------------------

    def shutdown(self, now: int) -> None:
        """The end of the data and metadata threads (``destroy_data_stream_ht``,
        ``destroy_metadata_stream_ht``) and ``lttng_consumer_cleanup`` on exit: flush
        every stream, write what is readable, close the files; a stream sent to a
        relay daemon is closed there (RELAYD_CLOSE_STREAM, ``consumer_stream_close``).
        A relay daemon connection with nothing in flight is closed now
        (``cleanup_relayd_ht``); one still waiting for replies is closed by
        :meth:`finish_shutdown`, once the shell has let them come
        (:meth:`relay_exchanges_pending`) or given up waiting."""
        self.now = now
        self._tables_changed()
        for stream in list(self.registry.streams()):
            if stream.reader is None:
                continue
            try:
                if not stream.quiescent:
                    streams.flush(stream, producer_active=False)
                    stream.quiescent = True
                streams.drain(stream)
            except (UstrefError, OSError) as exc:
                log.error("stream %s at exit: %s", stream.name, exc)
            streams.close_output(stream)
        for channel in list(self.registry.channels.values()):
            lifetime.destroy_channel(self, channel)
        self.chunks.put_each_chunk()
        for net, pair in list(self.registry.relayds.items()):
            if not self._relay_busy(RelaydSock(net)):
                pair.close()
                del self.registry.relayds[net]
                self.close_relayd_slot(RelaydSock(net))

    def _relay_busy(self, sock: RelaydSock) -> bool:
        slot = self._slots.get(sock)
        return slot is not None and not slot.eof and (slot.owner is not None or bool(slot.queue))

    def relay_exchanges_pending(self) -> bool:
        """Whether an exchange still waits on a relay daemon's control socket (at exit:
        the RELAYD_CLOSE_STREAM replies)."""
        return any(self._relay_busy(s) for s in self._slots if isinstance(s, RelaydSock))

    def finish_shutdown(self, now: int) -> None:
        """The rest of ``cleanup_relayd_ht``: close every relay daemon connection left,
        failing what still waits on it (the shell stopped waiting)."""
        self.now = now
        self._tables_changed()
        for net, pair in list(self.registry.relayds.items()):
            pair.close()
            del self.registry.relayds[net]
            self.close_relayd_slot(RelaydSock(net))


def _rotation_split(stream: Stream, pending: list[RelayPacket]) -> list[list[RelayPacket]]:
    """``pending`` as one batch, or two around the position the relay daemon was told
    to rotate the stream at (:attr:`Stream.relay_rotation_at`): the relay learns
    where the old chunk ends from the index of the last packet before it, so the
    data of a packet past it must not reach the relay before that index is answered
    (lttng-relayd 2.13.9 then moves that data to the new chunk and crashes on its
    late index: ``tools/clear/test_ust`` point 411). Exchanges run one after the
    other, so the second batch's data goes only once the first's indexes are
    answered — C's one-packet-at-a-time order at the boundary."""
    at = stream.relay_rotation_at
    if at is None:
        return [pending]
    cut = 0
    while cut < len(pending) and pending[cut].index.packet_seq_num < at:
        cut += 1
    if cut == len(pending):
        return [pending]
    stream.relay_rotation_at = None  # the boundary is crossed in this drain
    return [pending[:cut], pending[cut:]] if cut else [pending]


def _paced(stream: Stream) -> bool:
    """Whether a wake-up drains ``stream`` one batch at a time (:meth:`Core.drain`):
    a data stream sent to a relay daemon."""
    return stream.channel.type is ChannelType.DATA and isinstance(stream.output, RelayOutput)
