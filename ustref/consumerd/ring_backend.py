"""The one seam between ustref-consumerd and ust-ctl: the ring buffers the consumer owns.

lttng-tools' UST consumer creates every ring buffer, hands it to the session daemon,
writes metadata into it, flushes, clears, closes wake-up fds and destroys it through
liblttng-ust-ctl (the 41 ``lttng_ust_ctl_*`` names of src/common/ust-consumer/
ust-consumer.c @ v2.13.9, listed with their pure counterparts in
``spec/ust-ctl-calls.md``). ustref-consumerd picks one :class:`Backend` at start-up
(``--ust-ctl pure|lib``, or the environment variable :data:`ENV`) and calls nothing
else for these operations:

* :class:`PureBackend` (the default): :class:`~ustref.ring.channel.PureChannel`,
  :class:`~ustref.ring.reader.StreamReader` (``open_read``, ``flush_buffer``,
  ``clear_buffer``), :class:`~ustref.ring.writer.MetadataWriter` and the ring-buffer
  timers of :mod:`ustref.ring.timers`. The process never loads liblttng-ust-ctl.
* :class:`LibBackend`: liblttng-ust-ctl.so.5 through :mod:`ustref.ring.libustctl` (ctypes,
  with its TLS shim), as the C consumer does it; imported only when chosen.

Either way sub-buffers are read by the pure reader: ``get``/``put``, snapshots and the
packet getters are not part of the seam.

Hand-over. The GET_CHANNEL hand-over (``lttng_ust_ctl_send_channel_to_sessiond``,
``lttng_ust_ctl_send_stream_to_sessiond``) is data, not I/O: :meth:`UstChannel.handover`,
:meth:`UstStream.handover` and :meth:`Backend.end_of_streams` return the
:data:`Message` s to send, in order, and the shell sends them
(:func:`ustref.transport.framing.hand_over`). The pure backend builds them from the
:mod:`ustref.protocol.handover` grammars (through :mod:`ustref.ring.create`); liblttng-ust-ctl
writes on a socket itself, so the ``lib`` backend runs its call into a socketpair and
returns what came out (:func:`ustref.ring.libustctl.capture_sends`): same bytes, same
descriptions behind the fds. Either way each message's fds are its own (duplicates):
whoever sends it closes them.

Timers. ``lttng_ust_ctl_create_channel()`` runs ``channel_create()``
(src/common/ringbuffer/ring_buffer_frontend.c @ v2.13.5) *in the consumer*, which arms
the channel's switch timer (``switch_timer_interval`` ≠ 0) and, for the ``-rt`` clients,
its read timer, as POSIX timers of the consumer process (the application only maps the
channel, ``channel_handle_create()``, and runs no ring-buffer timer). lttng-tools zeroes
``attr.switch_timer_interval`` of a metadata channel only *after* creating it
(in ASK_CHANNEL_CREATION's case of ``lttng_ustconsumer_recv_cmd``), so the library's switch timer
runs for every channel with an interval. With liblttng-ust-ctl those timers run on the library's own
signal thread; the pure backend runs them as deadlines (:meth:`UstChannel.next_deadline`,
:meth:`UstChannel.run_timers`) that the core folds into its own (``consumer-timer.c``'s monitor
timer).
"""

from __future__ import annotations

import abc
import errno
import logging
import os
from collections.abc import Callable

from ustref.consumerd import backend_choice
from ustref.errors import LocalProtocolError, TransportError, UstrefError
from ustref.protocol.handover import USTCOMM_MAX_SEND_FDS
from ustref.ring import create, packet
from ustref.ring.channel import PureChannel, StreamObject
from ustref.ring.reader import StreamReader
from ustref.ring.timers import ChannelTimers, Timer, on_read_timer, on_switch_timer
from ustref.ring.writer import BufferFull, MetadataWriter, RecordDisabled, RecordTooBig, WrapAround

log = logging.getLogger("ustref.consumerd")

# The backend names (their one home is :mod:`ustref.consumerd.backend_choice`).
PURE, LIB = backend_choice.PURE, backend_choice.LIB
CHOICES, DEFAULT, ENV = backend_choice.CHOICES, backend_choice.DEFAULT, backend_choice.ENV


Message = tuple[bytes, tuple[int, ...]]
"""One piece of the hand-over: bytes, and the descriptors that ride on them as
``SCM_RIGHTS`` (then the bytes are the 1-byte carrier ``ustcomm_send_fds_unix_sock``
sends). The descriptors belong to the message: the sender closes them once sent."""


class UstStream(abc.ABC):
    """``struct lttng_ust_ctl_consumer_stream``: a stream opened for reading by
    ``lttng_ust_ctl_create_stream()``; :attr:`reader` reads it."""

    def __init__(self, cpu: int, reader: StreamReader) -> None:
        self.cpu = cpu
        self.reader = reader

    @property
    @abc.abstractmethod
    def wait_fd(self) -> int:
        """``lttng_ust_ctl_stream_get_wait_fd()``."""

    @abc.abstractmethod
    def flush(self, producer_active: bool) -> None:
        """``lttng_ust_ctl_flush_buffer()``."""

    @abc.abstractmethod
    def clear(self) -> None:
        """``lttng_ust_ctl_clear_buffer()``."""

    @abc.abstractmethod
    def close_wakeup_fd(self) -> None:
        """``lttng_ust_ctl_stream_close_wakeup_fd()``."""

    @abc.abstractmethod
    def handover(self) -> list[Message]:
        """What ``lttng_ust_ctl_send_stream_to_sessiond(sock, stream)`` sends."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """``lttng_ust_ctl_destroy_stream()``; also closes :attr:`reader`."""


class UstChannel(abc.ABC):
    """``struct lttng_ust_ctl_consumer_channel``: a channel created by
    ``lttng_ust_ctl_create_channel()`` over the consumer's stream fds."""

    @property
    @abc.abstractmethod
    def wait_fd(self) -> int:
        """``lttng_ust_ctl_channel_get_wait_fd()``."""

    @abc.abstractmethod
    def create_stream(self, cpu: int, identity: packet.ChannelIdentity) -> UstStream | None:
        """``lttng_ust_ctl_create_stream(channel, cpu)``: ``None`` past the last stream
        (``create_ust_streams()`` loops until then)."""

    @abc.abstractmethod
    def write_one_packet(self, data: bytes) -> int:
        """``lttng_ust_ctl_write_one_packet_to_channel()``: bytes written, or ``-errno``."""

    @abc.abstractmethod
    def handover(self) -> list[Message]:
        """What ``lttng_ust_ctl_send_channel_to_sessiond()`` sends (the wakeup fd last)."""

    @abc.abstractmethod
    def close_wakeup_fd(self) -> None:
        """``lttng_ust_ctl_channel_close_wakeup_fd()``."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """``lttng_ust_ctl_destroy_channel()``: the stream fds stay the caller's."""

    @abc.abstractmethod
    def next_deadline(self) -> int | None:
        """When the channel's ring-buffer timers next expire (monotonic ns)."""

    @abc.abstractmethod
    def run_timers(self, now: int) -> None:
        """Run the ring-buffer timers whose deadline has passed."""


class Backend(abc.ABC):
    """The ust-ctl implementation the consumer uses, chosen once at start-up."""

    name: str

    @abc.abstractmethod
    def load(self) -> None:
        """Make sure the backend can run (before the consumer says it is ready)."""

    @abc.abstractmethod
    def nr_stream_per_channel(self) -> int:
        """``lttng_ust_ctl_get_nr_stream_per_channel()``."""

    @abc.abstractmethod
    def create_channel(
        self, attr: create.ChannelAttr, stream_fds: list[int], now: int
    ) -> UstChannel:
        """``lttng_ust_ctl_create_channel(attr, stream_fds, len(stream_fds))`` at ``now``
        (monotonic ns): the channel's ring-buffer timers are armed then."""

    @abc.abstractmethod
    def end_of_streams(self) -> list[Message]:
        """What ``lttng_ust_ctl_send_stream_to_sessiond(sock, NULL)`` sends."""


# -- pure ---------------------------------------------------------------------------------


def _messages(what: str, data: bytes, fds: list[int] | None = None) -> list[Message]:
    """``ustcomm_send_unix_sock()`` of ``data``, then ``ustcomm_send_fds_unix_sock()``: the
    fds (duplicated, the message's own) travel with one NUL byte
    (:data:`~ustref.ring.create.FD_CARRIER`) in a message of their own, as
    liblttng-ust-ctl sends them."""
    if fds is None:
        return [(data, ())]
    if not 0 < len(fds) <= USTCOMM_MAX_SEND_FDS:
        raise LocalProtocolError(f"{what}: {len(fds)} fds (1…{USTCOMM_MAX_SEND_FDS} per message)")
    copies: list[int] = []
    try:
        for fd in fds:
            copies.append(os.dup(fd))
    except OSError as exc:
        for fd in copies:
            os.close(fd)
        raise TransportError("send", f"{what}: {exc.strerror or exc}", errno=exc.errno) from exc
    return [(data, ()), (create.FD_CARRIER, tuple(copies))]


_WRITE_ERRNO: tuple[tuple[type[UstrefError], int], ...] = (
    (BufferFull, errno.ENOBUFS),
    (WrapAround, errno.EIO),
    (RecordTooBig, errno.ENOSPC),
    (RecordDisabled, errno.EAGAIN),
)


class PureStream(UstStream):
    """A stream of a :class:`PureChannelHandle`: its :class:`StreamObject` and the reader
    holding the stream's reader reference (``lib_ring_buffer_open_read``)."""

    def __init__(
        self, channel: PureChannelHandle, obj: StreamObject, cpu: int, reader: StreamReader
    ) -> None:
        super().__init__(cpu, reader)
        self.channel = channel
        self.obj = obj

    @property
    def wait_fd(self) -> int:
        return self.obj.wait_fd

    def flush(self, producer_active: bool) -> None:
        self.reader.flush_buffer(producer_active)

    def clear(self) -> None:
        self.reader.clear_buffer()

    def close_wakeup_fd(self) -> None:
        """``ring_buffer_stream_close_wakeup_fd()``: later deliveries wake nobody
        (``lib_ring_buffer_wakeup()`` skips a closed fd)."""
        self.reader.wakeup_fd = None
        self.obj.close_wakeup_fd()

    def handover(self) -> list[Message]:
        data, fds = self.channel.pure.stream_handover(self.cpu)
        return _messages(f"stream {self.cpu}", data, fds)

    def destroy(self) -> None:
        """``lttng_ust_ctl_destroy_stream()``: close the wait and wake-up fds, release the
        reader reference (``lib_ring_buffer_release_read``), unmap."""
        self.channel.streams = [s for s in self.channel.streams if s is not self]
        self.obj.close_wait_fd()
        self.close_wakeup_fd()
        self.reader.close()


class PureChannelHandle(UstChannel):
    """A :class:`PureChannel` with the streams opened on it and its ring-buffer timers."""

    def __init__(self, pure: PureChannel, armed_ns: int) -> None:
        self.pure = pure
        self.streams: list[PureStream] = []
        self.timers = ChannelTimers.for_channel(pure.attr, armed_ns)
        self._writer: MetadataWriter | None = None
        if pure.client.metadata:
            # Mapped with the channel, as liblttng-ust-ctl maps every shm object at
            # creation: what the consumer holds for a channel does not grow at its first
            # metadata write.
            self._writer = MetadataWriter.attach(pure.streams[0].shm_fd, source="metadata stream")

    @property
    def wait_fd(self) -> int:
        return self.pure.wait_fd

    def create_stream(self, cpu: int, identity: packet.ChannelIdentity) -> PureStream | None:
        """``channel_get_ring_buffer()`` + ``lib_ring_buffer_open_read()``: the metadata
        channel's one buffer answers every CPU, so its second open meets ``EBUSY``. The
        reader wakes the stream's wait fd on delivery only for the clients that wake up
        by writer (``lib_ring_buffer_check_deliver_slow()``); the ``-rt`` clients are
        woken by the read timer."""
        client = self.pure.client
        if not client.metadata and cpu >= len(self.pure.streams):
            return None
        obj = self.pure.stream(cpu)
        by_writer = client.wakeup == create.WAKEUP_BY_WRITER and obj.wakeup_fd >= 0
        reader = StreamReader.from_fd(
            obj.shm_fd,
            source=f"stream {cpu}",
            identity=identity,
            wakeup_fd=obj.wakeup_fd if by_writer else None,
        )
        try:
            reader.open_read()
        except LocalProtocolError:  # EBUSY
            reader.close()
            return None
        stream = PureStream(self, obj, cpu, reader)
        self.streams.append(stream)
        return stream

    def write_one_packet(self, data: bytes) -> int:
        """``lttng_ust_ctl_write_one_packet_to_channel()`` into buffer 0; the reservation
        errors become their ``-errno``."""
        if not self.pure.client.metadata:
            raise LocalProtocolError("metadata can only be written to a metadata channel")
        obj = self.pure.streams[0]
        if self._writer is None:
            self._writer = MetadataWriter.attach(obj.shm_fd, source="metadata stream")
        self._writer.wakeup_fd = obj.wakeup_fd if obj.wakeup_fd >= 0 else None
        try:
            return self._writer.write_one_packet(data)
        except tuple(kind for kind, _ in _WRITE_ERRNO) as exc:
            return -next(code for kind, code in _WRITE_ERRNO if isinstance(exc, kind))

    def handover(self) -> list[Message]:
        try:
            data, wakeup_fd = self.pure.handover()
        except LocalProtocolError as exc:
            raise TransportError("send", f"channel: {exc}") from exc
        return _messages("channel", data, [wakeup_fd])

    def close_wakeup_fd(self) -> None:
        self.pure.close_wakeup_fd()

    def destroy(self) -> None:
        for stream in list(self.streams):
            stream.destroy()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.pure.destroy()

    def next_deadline(self) -> int | None:
        return self.timers.next_deadline()

    def run_timers(self, now: int) -> None:
        """``lib_ring_buffer_channel_switch_timer()`` (flush the buffers that have a
        reader) and ``lib_ring_buffer_channel_do_read()`` (wake them)."""
        for timer in self.timers.due(now):
            if timer is Timer.SWITCH:
                on_switch_timer(s.reader for s in self.streams)
            else:
                on_read_timer((s.reader, s.obj.wakeup_fd) for s in self.streams)


class PureBackend(Backend):
    """ust-ctl in pure Python: no liblttng-ust-ctl in the process."""

    name = PURE

    def load(self) -> None:
        """Nothing to load: no shared library, no shim."""

    def nr_stream_per_channel(self) -> int:
        return create.possible_cpus_array_len()

    def create_channel(
        self, attr: create.ChannelAttr, stream_fds: list[int], now: int
    ) -> PureChannelHandle:
        return PureChannelHandle(PureChannel.create(attr, stream_fds), now)

    def end_of_streams(self) -> list[Message]:
        return _messages("end of streams", create.END_OF_STREAMS)


# -- liblttng-ust-ctl ---------------------------------------------------------------------


def _captured(send: Callable[[int], None]) -> list[Message]:
    """What a ``lttng_ust_ctl_send_*_to_sessiond`` call writes on the socket ``send`` is
    given, as :data:`Message` s (the library does its own I/O: it writes into a
    socketpair, :func:`ustref.ring.libustctl.capture_sends`)."""
    from ustref.ring import libustctl

    def call(fd: int) -> int:
        try:
            send(fd)
        except UstrefError as exc:
            raise TransportError("send", str(exc)) from exc
        return 0

    return libustctl.capture_sends(call)


class LibStream(UstStream):
    """A liblttng-ust-ctl stream handle, read by a pure reader beside it."""

    def __init__(self, handle: int, cpu: int, reader: StreamReader) -> None:
        super().__init__(cpu, reader)
        self.handle = handle

    @property
    def wait_fd(self) -> int:
        """Unchecked, as ``create_ust_streams()`` takes it: -1 once closed (a metadata
        stream created again for a second snapshot, after ``destroy_stream``)."""
        from ustref.ring import libustctl

        return int(libustctl.library().lttng_ust_ctl_stream_get_wait_fd(self.handle))

    def flush(self, producer_active: bool) -> None:
        from ustref.ring import libustctl

        libustctl.flush_buffer(self.handle, producer_active)

    def clear(self) -> None:
        from ustref.ring import libustctl

        libustctl.clear_buffer(self.handle)

    def close_wakeup_fd(self) -> None:
        from ustref.ring import libustctl

        libustctl.stream_close_wakeup_fd(self.handle)

    def handover(self) -> list[Message]:
        from ustref.ring import libustctl

        handle = self.handle
        return _captured(lambda fd: libustctl.send_stream_to_sessiond(fd, handle))

    def destroy(self) -> None:
        from ustref.ring import libustctl

        self.reader.close()
        libustctl.destroy_stream(self.handle)


class LibChannel(UstChannel):
    """A liblttng-ust-ctl channel handle over the consumer's stream fds."""

    def __init__(self, handle: int, stream_fds: list[int]) -> None:
        self.handle = handle
        self.stream_fds = stream_fds

    @property
    def wait_fd(self) -> int:
        from ustref.ring import libustctl

        return libustctl.channel_wait_fd(self.handle)

    def create_stream(self, cpu: int, identity: packet.ChannelIdentity) -> LibStream | None:
        from ustref.ring import libustctl

        handle = libustctl.create_stream(self.handle, cpu)
        if handle is None:
            return None
        shm_fd = self.stream_fds[0 if identity.kind is packet.ClientKind.METADATA else cpu]
        try:
            reader = StreamReader.from_fd(shm_fd, source=f"stream {cpu}", identity=identity)
        except BaseException:
            libustctl.destroy_stream(handle)
            raise
        return LibStream(handle, cpu, reader)

    def write_one_packet(self, data: bytes) -> int:
        from ustref.ring import libustctl

        return libustctl.write_one_packet_to_channel(self.handle, data)

    def handover(self) -> list[Message]:
        from ustref.ring import libustctl

        handle = self.handle
        return _captured(lambda fd: libustctl.send_channel_to_sessiond(fd, handle))

    def close_wakeup_fd(self) -> None:
        from ustref.ring import libustctl

        libustctl.channel_close_wakeup_fd(self.handle)

    def destroy(self) -> None:
        from ustref.ring import libustctl

        libustctl.destroy_channel(self.handle)

    def next_deadline(self) -> None:
        """None here: the library runs the channel's timers on its own thread."""
        return None

    def run_timers(self, now: int) -> None:
        """Nothing to run (see :meth:`next_deadline`)."""


class LibBackend(Backend):
    """liblttng-ust-ctl.so.5 (lttng-ust 2.13.5) through ctypes; its timers run on the
    library's own thread."""

    name = LIB

    def load(self) -> None:
        from ustref.ring import libustctl

        libustctl.library()

    def nr_stream_per_channel(self) -> int:
        from ustref.ring import libustctl

        return libustctl.nr_stream_per_channel()

    def create_channel(
        self, attr: create.ChannelAttr, stream_fds: list[int], now: int
    ) -> LibChannel:
        from ustref.ring import libustctl

        c_attr = libustctl.channel_attr(
            metadata=attr.type is create.ChanType.METADATA,
            subbuf_size=attr.subbuf_size,
            num_subbuf=attr.num_subbuf,
            overwrite=attr.overwrite,
            chan_id=attr.chan_id,
            uuid=attr.uuid,
            switch_timer_interval=attr.switch_timer_interval,
            read_timer_interval=attr.read_timer_interval,
            blocking_timeout=attr.blocking_timeout,
        )
        return LibChannel(libustctl.create_channel(c_attr, stream_fds), stream_fds)

    def end_of_streams(self) -> list[Message]:
        from ustref.ring import libustctl

        return _captured(lambda fd: libustctl.send_stream_to_sessiond(fd, None))


def backend(name: str) -> Backend:
    """The backend called ``name`` (one of :data:`CHOICES`)."""
    if name == PURE:
        return PureBackend()
    if name == LIB:
        return LibBackend()
    raise LocalProtocolError(f"unknown ust-ctl backend {name!r} (choose from {', '.join(CHOICES)})")
