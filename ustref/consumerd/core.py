"""The sans-IO core of ustref-consumerd.

The core plays the consumer's side of the session daemon conversation: the
shell hands it what arrived (:meth:`Core.receive`), which streams are readable
(:meth:`Core.stream_ready`) and the time (:meth:`Core.handle_timer`); the core
answers with :class:`Send` / :class:`Handover` / :class:`CloseSocket` actions
(:meth:`Core.take_actions`), the stream fds to watch (:meth:`Core.watched`) and
its next deadline (:meth:`Core.next_deadline`). Command handlers
(:mod:`ustref.consumerd.handlers`) are generators: they yield :class:`Need` when
the conversation expects more from the session daemon (an fd after a status,
the metadata bytes after PUSH_METADATA) and get a :class:`Received` back.

Mirrors the command side of lttng-tools v2.13.9: ``consumer_thread_sessiond_poll``
and ``lttng_consumer_recv_cmd`` (consumer.c) feeding ``lttng_ustconsumer_recv_cmd``
(ust-consumer.c, lines 1386-2345).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from ustref.consumerd import streams as S
from ustref.consumerd.registry import Channel, ChannelType, Registry, Stream, close_fd
from ustref.consumerd.ustctl_backend import Backend, PureBackend
from ustref.errors import RemoteProtocolError, UstrefError
from ustref.output.chunk import ChunkRegistry
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CHANNEL_MONITOR_MSG,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    STATUS_MSG,
    ConsumerChannelMonitorMsg,
    ConsumerMsg,
    ConsumerStatusMsg,
    LttngConsumerCommand,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.registry import parse
from ustref.ring.channel import remove_stream_files

log = logging.getLogger("ustref.consumerd")


class Sock(enum.Enum):
    """The consumer's sockets to the session daemon."""

    COMMAND = "command"
    METADATA = "metadata"
    ERROR = "error"


@dataclass(frozen=True)
class Send:
    """Write ``data`` (with ``fds`` as SCM_RIGHTS) on ``sock``."""

    sock: Sock
    data: bytes
    fds: tuple[int, ...] = ()


@dataclass(frozen=True)
class Handover:
    """The GET_CHANNEL ust-ctl hand-over of ``channel`` and its streams on the command
    socket (``send_channel_to_sessiond_and_relayd`` after its first status)."""

    channel: Channel


@dataclass(frozen=True)
class CloseSocket:
    """Close ``sock`` (a command the consumer cannot go on after)."""

    sock: Sock


Action = Send | Handover | CloseSocket


@dataclass(frozen=True)
class Need:
    """Yielded by a handler: ``nbytes`` bytes and ``nfds`` fds from ``sock`` (the
    command socket, or the metadata socket during a metadata request)."""

    nbytes: int
    nfds: int = 0
    sock: Sock = Sock.COMMAND


@dataclass(frozen=True)
class Received:
    """What a handler gets back for its :class:`Need`."""

    data: bytes
    fds: tuple[int, ...]


HandlerGen = Generator[Need, Received, None]
Handler = Callable[["Core", ConsumerMsg], "HandlerGen | None"]

ReturnCode = LttcommReturnCode | LttngErrorCode


@dataclass
class _Inbox:
    data: bytearray = field(default_factory=bytearray)
    fds: deque[int] = field(default_factory=deque)


class Core:
    """The consumer daemon's state and protocol logic, free of I/O on sockets."""

    def __init__(
        self,
        *,
        abi: Abi = Abi.V2_13_9,
        handlers: dict[LttngConsumerCommand, Handler] | None = None,
        ustctl: Backend | None = None,
    ) -> None:
        from ustref.consumerd.handlers import HANDLERS

        self.abi = abi
        #: the ust-ctl backend every ring-buffer operation goes through (pure by default)
        self.ustctl = ustctl or PureBackend()
        self.handlers = HANDLERS if handlers is None else handlers
        self.registry = Registry()
        self.chunks = ChunkRegistry()
        self.sessiond_uuid: bytes | None = None
        self.monitor_pipe: int | None = None
        self.data_consumption_paused = False
        """consumer.c ``data_consumption_paused``: set only through the test-only pause
        pipe (:mod:`ustref.consumerd.testpoint`); data streams are left alone while set."""
        self.closed = False
        self._inboxes = {Sock.COMMAND: _Inbox(), Sock.METADATA: _Inbox()}
        self._actions: list[Action] = []
        self._pending: tuple[HandlerGen, Need] | None = None

    # -- output to the shell ----------------------------------------------------------

    def send(self, data: bytes, fds: tuple[int, ...] = (), sock: Sock = Sock.COMMAND) -> None:
        self._actions.append(Send(sock, data, fds))

    def send_status(self, code: ReturnCode, sock: Sock = Sock.COMMAND) -> None:
        """``consumer_send_status_msg()``."""
        self.send(STATUS_MSG.build(ConsumerStatusMsg(ret_code=code)), sock=sock)

    def handover(self, channel: Channel) -> None:
        self._actions.append(Handover(channel))

    def take_actions(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    # -- input from the shell ---------------------------------------------------------

    def receive(self, sock: Sock, data: bytes, fds: list[int], now: float) -> None:
        """Bytes (and fds) arrived on ``sock``; an empty ``data`` without fds is EOF."""
        if sock is Sock.METADATA:
            self._receive_metadata(data, fds)
            return
        if sock is not Sock.COMMAND:
            for fd in fds:
                close_fd(fd)
            return
        if not data and not fds:
            self.closed = True
            return
        inbox = self._inboxes[Sock.COMMAND]
        inbox.data += data
        inbox.fds.extend(fds)
        self._run()

    def _receive_metadata(self, data: bytes, fds: list[int]) -> None:
        """The metadata socket only ever answers this consumer's requests
        (``lttng_ustconsumer_request_metadata``); anything else is dropped."""
        for fd in fds:
            close_fd(fd)
        waiting = self._pending is not None and self._pending[1].sock is Sock.METADATA
        if not data:
            if waiting and self._pending is not None:
                gen, _ = self._pending
                self._pending = None
                log.error("metadata request: the session daemon closed the metadata socket")
                # The handler ends here, having answered its command or not.
                with contextlib.suppress(StopIteration, UstrefError):
                    gen.throw(UstrefError("the session daemon closed the metadata socket"))
            return
        if not waiting:
            log.error("%d unrequested bytes on the metadata socket dropped", len(data))
            return
        self._inboxes[Sock.METADATA].data += data
        self._run()

    def _take(self, nbytes: int, nfds: int, sock: Sock = Sock.COMMAND) -> Received | None:
        inbox = self._inboxes[sock]
        if len(inbox.data) < nbytes or len(inbox.fds) < nfds:
            return None
        data = bytes(inbox.data[:nbytes])
        del inbox.data[:nbytes]
        fds = tuple(inbox.fds.popleft() for _ in range(nfds))
        return Received(data, fds)

    def _run(self) -> None:
        while True:
            if self._pending is not None:
                gen, need = self._pending
                got = self._take(need.nbytes, need.nfds, need.sock)
                if got is None:
                    return
                self._pending = None
                self._step(gen, got)
                continue
            raw = self._take(CONSUMER_MSG_SIZE, 0)
            if raw is None:
                return
            self._dispatch(raw.data)

    def _step(self, gen: HandlerGen, got: Received | None) -> None:
        try:
            need = gen.send(got) if got is not None else next(gen)
        except StopIteration:
            return
        except UstrefError as exc:
            log.error("command failed: %s", exc)
            return
        self._pending = (gen, need)

    def _dispatch(self, raw: bytes) -> None:
        """``lttng_ustconsumer_recv_cmd()``'s switch, made into a table lookup."""
        cmd_type = int.from_bytes(raw[:4], "little")
        try:
            msg: ConsumerMsg = parse(CONSUMER_MSG[self.abi], raw)
        except RemoteProtocolError as exc:
            # The C consumer's `default:` branch: nothing is sent back.
            log.error("malformed command (cmd_type %d) ignored: %s", cmd_type, exc)
            return
        handler = self.handlers.get(msg.cmd_type)
        if handler is None:
            log.error("command %s is not handled by a UST consumer", msg.cmd_type.name)
            return
        log.debug("%s: %r", msg.cmd_type.name, msg.u)
        gen = handler(self, msg)
        if gen is not None:
            self._step(gen, None)

    # -- streams ------------------------------------------------------------------------

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
            # every data channel with a wait fd (consumer.c 1149-1151).
            if channel.wait_fd >= 0 and channel.sent_to_sessiond:
                fds[channel.wait_fd] = channel
        return fds

    def channel_hangup(self, channel: Channel) -> None:
        """The channel's wait fd hung up (``consumer_thread_channel_poll``): close the
        wake-up end of its streams (``consumer_close_channel_streams``) so that their
        wait fds hang up in turn when the application's ends close.

        A channel without ``monitor`` owns its streams (no thread reads them) and
        holds a single reference, the channel thread's: it is deleted at once, with
        its streams and its ``--shm-path`` files (consumer.c 1064-1076, 3102-3121)."""
        channel.wait_fd = -1
        channel.hung_up = True
        if not channel.monitor:
            self.destroy_channel(channel)
            return
        for stream in channel.streams:
            try:
                stream.ust.close_wakeup_fd()
            except UstrefError as exc:
                log.error("stream %s: %s", stream.name, exc)
        self.release_channel(channel)

    def stream_ready(self, stream: Stream, hangup: bool = False) -> None:
        """``consumer_thread_data_poll`` / ``consumer_thread_metadata_poll``: the shell
        emptied the stream's wait fd (``consumer_stream_ust_on_wake_up``); drain the
        stream, and on hang-up (the app died) flush, drain to the end and close it."""
        if hangup:
            S.on_hangup(stream)
        self.drain(stream)
        if hangup:
            self.close_stream(stream)
            self.release_channel(stream.channel)

    def release_channel(self, channel: Channel) -> None:
        """``unref_channel()`` (consumer-stream.c 1034-1049) and the channel thread's
        own reference (consumer.c 3102-3121): a channel whose wait fd hung up is
        deleted (``consumer_del_channel``) once its last stream is gone — a dead
        per-PID app's buffers, pipes and shared memory are freed with it."""
        if channel.hung_up and not channel.streams and channel.key in self.registry.channels:
            self.destroy_channel(channel)

    def consumes(self, stream: Stream) -> bool:
        """Whether the data or metadata thread would touch ``stream`` now. Streams of
        a channel without ``monitor`` (a session with no output, read only by
        SNAPSHOT_CHANNEL) never enter those threads (``send_stream_to_thread`` is
        skipped, ust-consumer.c 1692-1705); a data stream is left alone while data
        consumption is paused (the metadata thread is never paused)."""
        if not stream.channel.monitor:
            return False
        return not (self.data_consumption_paused and stream.channel.type is ChannelType.DATA)

    def pause_data_consumption(self, paused: bool) -> None:
        """The pause pipe said ``paused`` (``__testpoint_consumerd_thread_data_poll``).
        While paused, :meth:`watched` leaves out the data streams and :meth:`drain`
        skips them, as ``consumer_thread_data_poll`` sleeps instead of reading them;
        the monitor timer goes on sampling. On resume the data thread's next pass
        reads every stream whose wait fd became ready meanwhile: ustref drains
        every data stream (draining one with nothing ready reads nothing)."""
        was_paused, self.data_consumption_paused = self.data_consumption_paused, paused
        if was_paused and not paused:
            for stream in list(self.registry.streams()):
                if stream.reader is not None and stream.channel.type is ChannelType.DATA:
                    self.drain(stream)

    def drain(self, stream: Stream, *, even_paused: bool = False) -> None:
        """Consume what ``stream`` has ready, unless data consumption is paused
        (:meth:`consumes`) and ``even_paused`` is not set."""
        if not even_paused and not self.consumes(stream):
            return
        try:
            S.drain(stream)
        except UstrefError as exc:
            log.error("stream %s: %s", stream.name, exc)

    def close_stream(self, stream: Stream) -> None:
        """``consumer_del_stream()``: close the output, destroy the ust-ctl stream (and
        with it the reader), forget it."""
        S.close_output(stream)
        stream.trace_chunk = None
        stream.reader = None
        if stream.metadata_poll_pipe is not None:
            for fd in stream.metadata_poll_pipe:
                close_fd(fd)
            stream.metadata_poll_pipe = None
        try:
            stream.ust.destroy()
        except UstrefError as exc:
            log.error("stream %s: destroy: %s", stream.name, exc)
        if stream in stream.channel.streams:
            stream.channel.streams.remove(stream)

    def rotate_stream(self, stream: Stream) -> None:
        """``lttng_consumer_rotate_stream()`` (consumer.c 4573-4650): the stream moves to
        its channel's current chunk; when that is still the stream's own chunk, the
        rotation has no next chunk and the stream belongs to none until one comes. A
        metadata stream entering a chunk re-dumps the whole cache there
        (``consumer_metadata_stream_dump``)."""
        new = stream.channel.trace_chunk
        if new is stream.trace_chunk:
            new = None
        if stream.output is not None:
            stream.output.switch_chunk(new)
            if new is None:
                S.close_output(stream)
        stream.trace_chunk = new
        if new is not None and stream.output is None and stream.reader is not None:
            S.open_output(stream)
        if new is not None and stream.channel.type is ChannelType.METADATA:
            stream.ust_metadata_pushed = 0
            self.drain(stream)

    def destroy_channel(self, channel: Channel) -> None:
        """``consumer_del_channel()``: streams, then the ust-ctl channel and its shm fds."""
        for stream in list(channel.streams):
            self.close_stream(stream)
        try:
            channel.ust.destroy()
        except UstrefError as exc:
            log.error("channel %d: destroy: %s", channel.key, exc)
        nr = len(channel.stream_fds)
        for fd in channel.stream_fds:
            close_fd(fd)
        channel.stream_fds = []
        remove_stream_files(nr, channel.shm_path, channel.root_shm_path)
        self.registry.channels.pop(channel.key, None)

    # -- timers ---------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadlines = [
            deadline
            for c in self.registry.channels.values()
            for deadline in (c.next_monitor_deadline, c.next_metadata_request)
            if deadline is not None
        ]
        for channel in self.registry.channels.values():
            ring = channel.ust.next_deadline()
            if ring is not None:
                deadlines.append(ring)
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        """Run the timers whose deadline has passed: the ring-buffer timers the ust-ctl
        backend runs in the consumer (switch and read timers of ``channel_create()``,
        none with liblttng-ust-ctl, whose thread runs them) and the monitor timer
        (``monitor_timer``, consumer-timer.c), which writes one
        ``lttcomm_consumer_channel_monitor_msg`` per channel to the monitor pipe."""
        for channel in list(self.registry.channels.values()):
            try:
                channel.ust.run_timers(now)
            except UstrefError as exc:
                log.error("channel %d: ring-buffer timer: %s", channel.key, exc)
        for channel in list(self.registry.channels.values()):
            due = _next_tick(channel.next_monitor_deadline, channel.monitor_timer_interval_us, now)
            if due is not None:
                channel.next_monitor_deadline = due
                self._monitor_sample(channel)
        for channel in list(self.registry.channels.values()):
            due = _next_tick(channel.next_metadata_request, channel.switch_timer_interval_us, now)
            if due is not None:
                channel.next_metadata_request = due
                self._metadata_switch_timer(channel)

    def _metadata_switch_timer(self, channel: Channel) -> None:
        """``metadata_switch_timer()`` (consumer-timer.c 80-121): ask the session
        daemon for new metadata (``lttng_ustconsumer_request_metadata(ctx, channel,
        1, 1)``). C serialises the exchange with ``metadata_socket_lock``; here a
        tick that finds another exchange in flight is skipped."""
        from ustref.consumerd.handlers import request_metadata

        if self._pending is not None or channel.metadata_cache is None:
            return
        self._step(request_metadata(self, channel), None)

    def _monitor_sample(self, channel: Channel) -> None:
        if self.monitor_pipe is None or not channel.streams:
            return
        samples = [S.usage(stream) for stream in channel.streams if stream.reader is not None]
        if not samples:
            return
        usages = [u for u, _ in samples]
        msg = ConsumerChannelMonitorMsg(
            key=channel.key,
            lowest=min(usages),
            highest=max(usages),
            total_consumed=sum(c for _, c in samples),
        )
        try:
            os.write(self.monitor_pipe, CHANNEL_MONITOR_MSG.build(msg))
        except BlockingIOError:
            pass  # the pipe is full: the sample is dropped, as in C
        except OSError as exc:
            log.error("monitor pipe: %s", exc)

    # -- shutdown ------------------------------------------------------------------------

    def shutdown(self) -> None:
        """``lttng_consumer_cleanup`` on exit: flush every stream, write what is
        readable, close the files."""
        for stream in list(self.registry.streams()):
            if stream.reader is None:
                continue
            try:
                if not stream.quiescent:
                    S.flush(stream, producer_active=False)
                    stream.quiescent = True
                S.drain(stream)
            except UstrefError as exc:
                log.error("stream %s at exit: %s", stream.name, exc)
            S.close_output(stream)
        for channel in list(self.registry.channels.values()):
            self.destroy_channel(channel)
        self.chunks.put_each_chunk()
        for pair in self.registry.relayds.values():
            pair.close()
        self.registry.relayds.clear()


def _next_tick(deadline: float | None, interval_us: int, now: float) -> float | None:
    """A periodic timer's next deadline when ``deadline`` has passed at ``now`` (one
    period later, never in the past), else ``None``: the timer does not fire."""
    if deadline is None or deadline > now:
        return None
    return max(deadline + interval_us / 1e6, now)
