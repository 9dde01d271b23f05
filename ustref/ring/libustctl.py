"""ctypes binding to the system's liblttng-ust-ctl.so.5 (lttng-ust 2.13.5): the oracle.

Binds the consumer-side API of include/lttng/ust-ctl.h @ v2.13.5 (implemented
in src/lib/lttng-ust-ctl/ustctl.c): channel and stream creation,
``lttng_ust_ctl_write_metadata_to_channel`` (the metadata producer path),
``get``/``put``, snapshots and positions, the sub-buffer and packet getters
and ``lttng_ust_ctl_flush_buffer``. Tests and the benchmark hold the pure
reader of :mod:`ustref.ring.reader` against it; ustref itself never needs it.

Loading needs two things the library leaves to its host program: liburcu's
``rcu_dereference_sym`` (liburcu.so.8, loaded ``RTLD_GLOBAL`` first) and the
TLS variable ``lttng_ust_sigbus_state`` that lttng-tools' consumer defines
with ``DEFINE_LTTNG_UST_SIGBUS_STATE()``; the tiny ``libustctl_shim.c`` beside
this module defines it and is compiled with ``cc`` at first use into
``$XDG_CACHE_HOME/ustref`` (default ``~/.cache/ustref``).
"""

from __future__ import annotations

import ctypes
import enum
import errno
import hashlib
import os
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ustref.errors import LocalProtocolError, UstrefError
from ustref.protocol.handover import USTCOMM_MAX_SEND_FDS
from ustref.ring.reader import Status
from ustref.transport.framing import close_fds, recv_some, split_for_fds

LIBRARY = "liblttng-ust-ctl.so.5"
_SHIM_SOURCE = Path(__file__).with_name("libustctl_shim.c")
UUID_LEN = 16


class ChanType(enum.IntEnum):
    """``enum lttng_ust_abi_chan_type`` (include/lttng/ust-abi.h)."""

    PER_CPU = 0
    METADATA = 1


class ConsumerChannelAttr(ctypes.Structure):
    """Mirrors ``struct lttng_ust_ctl_consumer_channel_attr``, include/lttng/ust-ctl.h @ v2.13.5
    (packed)."""

    _pack_ = 1
    _fields_ = [
        ("type", ctypes.c_int),
        ("subbuf_size", ctypes.c_uint64),
        ("num_subbuf", ctypes.c_uint64),
        ("overwrite", ctypes.c_int),
        ("switch_timer_interval", ctypes.c_uint),
        ("read_timer_interval", ctypes.c_uint),
        ("output", ctypes.c_int),
        ("chan_id", ctypes.c_uint32),
        ("uuid", ctypes.c_ubyte * UUID_LEN),
        ("blocking_timeout", ctypes.c_int64),
    ]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ustref`` or ``~/.cache/ustref``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ustref"


def build_shim() -> Path:
    """Compile ``libustctl_shim.c`` once (keyed by its hash) and return the ``.so`` path."""
    source = _SHIM_SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = cache_dir() / f"ustctl-shim-{digest}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".shim-", suffix=".so", dir=target.parent)
    os.close(fd)
    cc = os.environ.get("CC", "cc")
    try:
        subprocess.run(
            [cc, "-shared", "-fPIC", "-O2", "-o", tmp, str(_SHIM_SOURCE)],
            check=True,
            capture_output=True,
            text=True,
        )
        os.replace(tmp, target)
    except (OSError, subprocess.CalledProcessError) as exc:
        Path(tmp).unlink(missing_ok=True)
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UstrefError(f"cannot build the liblttng-ust-ctl shim: {detail.strip()}") from exc
    return target


_ULONG_P = ctypes.POINTER(ctypes.c_ulong)
_U64_P = ctypes.POINTER(ctypes.c_uint64)

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "lttng_ust_ctl_get_nr_stream_per_channel": (ctypes.c_int, []),
    "lttng_ust_ctl_create_channel": (
        ctypes.c_void_p,
        [ctypes.POINTER(ConsumerChannelAttr), ctypes.POINTER(ctypes.c_int), ctypes.c_int],
    ),
    "lttng_ust_ctl_destroy_channel": (None, [ctypes.c_void_p]),
    "lttng_ust_ctl_write_metadata_to_channel": (
        ctypes.c_int,
        [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t],
    ),
    "lttng_ust_ctl_write_one_packet_to_channel": (
        ctypes.c_ssize_t,
        [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t],
    ),
    "lttng_ust_ctl_create_stream": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "lttng_ust_ctl_destroy_stream": (None, [ctypes.c_void_p]),
    "lttng_ust_ctl_get_mmap_base": (ctypes.c_void_p, [ctypes.c_void_p]),
    "lttng_ust_ctl_get_mmap_len": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_get_max_subbuf_size": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_get_mmap_read_offset": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_get_subbuf_size": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_get_padded_subbuf_size": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_get_next_subbuf": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_put_next_subbuf": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_snapshot": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_snapshot_sample_positions": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_snapshot_get_consumed": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_snapshot_get_produced": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_get_subbuf": (ctypes.c_int, [ctypes.c_void_p, _ULONG_P]),
    "lttng_ust_ctl_put_subbuf": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_flush_buffer": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "lttng_ust_ctl_get_timestamp_begin": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_timestamp_end": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_events_discarded": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_content_size": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_packet_size": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_stream_id": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_current_timestamp": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_sequence_number": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_get_instance_id": (ctypes.c_int, [ctypes.c_void_p, _U64_P]),
    "lttng_ust_ctl_send_channel_to_sessiond": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p]),
    "lttng_ust_ctl_send_stream_to_sessiond": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p]),
    "lttng_ust_ctl_channel_get_wait_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_channel_get_wakeup_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_channel_close_wakeup_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_stream_get_wait_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_stream_get_wakeup_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_stream_close_wakeup_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "lttng_ust_ctl_clear_buffer": (ctypes.c_int, [ctypes.c_void_p]),
}

_loaded: dict[str, ctypes.CDLL] = {}


def library() -> ctypes.CDLL:
    """Load (once) liburcu, the shim and liblttng-ust-ctl.so.5, with typed signatures."""
    if LIBRARY in _loaded:
        return _loaded[LIBRARY]
    try:
        ctypes.CDLL("liburcu.so.8", mode=ctypes.RTLD_GLOBAL)
        ctypes.CDLL(str(build_shim()), mode=ctypes.RTLD_GLOBAL)
        lib = ctypes.CDLL(LIBRARY, use_errno=True)
    except OSError as exc:
        raise UstrefError(f"cannot load {LIBRARY}: {exc}") from exc
    for name, (restype, argtypes) in _SIGNATURES.items():
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = argtypes
    _loaded[LIBRARY] = lib
    return lib


def available() -> bool:
    """Whether the oracle can be loaded on this machine."""
    try:
        library()
    except UstrefError:
        return False
    return True


def _check(ret: int, what: str) -> None:
    if ret < 0:
        raise UstrefError(f"{what} failed: {os.strerror(-ret)} ({ret})")


def capture_sends(send: Callable[[int], int]) -> list[tuple[bytes, tuple[int, ...]]]:
    """Run a ``lttng_ust_ctl_send_*_to_sessiond`` call into a socketpair and collect what
    the peer receives, message by message: ``(bytes, fds)`` with each fd message's
    descriptors on its own carrier byte (:func:`~ustref.transport.framing.split_for_fds`),
    so that sending them again in order reproduces what the library sent. The fds are
    the receiver's new descriptors: the caller owns and closes them.

    The call runs to its end before anything is read: what it sends must fit in the
    socketpair's buffer (a channel's shm object 0 is a few KiB; the hand-over of a
    stream is 13 bytes).
    """
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    messages: list[tuple[bytes, tuple[int, ...]]] = []
    try:
        with left, right:
            _check(send(left.fileno()), "lttng_ust_ctl_send_*_to_sessiond")
            left.shutdown(socket.SHUT_WR)
            while not (got := recv_some(right, 65536, USTCOMM_MAX_SEND_FDS)).eof:
                messages += [(data, tuple(fds)) for data, fds in split_for_fds(got.data, got.fds)]
    except BaseException:
        close_fds([fd for _data, fds in messages for fd in fds])
        raise
    return messages


def _handover(send: Callable[[int], int]) -> tuple[bytes, list[int]]:
    """:func:`capture_sends`, joined: all bytes and all fds."""
    messages = capture_sends(send)
    return b"".join(data for data, _fds in messages), [fd for _data, fds in messages for fd in fds]


def channel_attr(
    *,
    metadata: bool,
    subbuf_size: int,
    num_subbuf: int,
    overwrite: bool,
    chan_id: int,
    uuid: bytes,
    switch_timer_interval: int = 0,
    read_timer_interval: int = 0,
    blocking_timeout: int = 0,
) -> ConsumerChannelAttr:
    """A ``struct lttng_ust_ctl_consumer_channel_attr`` as ``lttng_ustconsumer_recv_cmd``
    (ASK_CHANNEL_CREATION, ust-consumer.c @ v2.13.9) fills it; output is always MMAP."""
    attr = ConsumerChannelAttr()
    attr.type = ChanType.METADATA if metadata else ChanType.PER_CPU
    attr.subbuf_size = subbuf_size
    attr.num_subbuf = num_subbuf
    attr.overwrite = int(overwrite)
    attr.switch_timer_interval = switch_timer_interval
    attr.read_timer_interval = read_timer_interval
    attr.output = 0  # LTTNG_UST_ABI_MMAP
    attr.chan_id = chan_id
    attr.uuid[:] = list(uuid)
    attr.blocking_timeout = blocking_timeout
    return attr


def create_channel(attr: ConsumerChannelAttr, stream_fds: list[int]) -> int:
    """``lttng_ust_ctl_create_channel(attr, stream_fds, nr)``: the channel handle.

    The library keeps using ``stream_fds`` (one shm object per stream); the caller
    owns and closes them after :func:`destroy_channel`.
    """
    fds = (ctypes.c_int * len(stream_fds))(*stream_fds)
    handle = library().lttng_ust_ctl_create_channel(ctypes.byref(attr), fds, len(stream_fds))
    if not handle:
        raise UstrefError("lttng_ust_ctl_create_channel failed")
    return int(handle)


def nr_stream_per_channel() -> int:
    """``lttng_ust_ctl_get_nr_stream_per_channel()``: the possible CPUs."""
    return int(library().lttng_ust_ctl_get_nr_stream_per_channel())


def create_stream(channel: int, cpu: int) -> int | None:
    """``lttng_ust_ctl_create_stream(channel, cpu)`` (it also opens the stream for
    reading); ``None`` past the last stream, as ``create_ust_streams`` loops on it."""
    handle = library().lttng_ust_ctl_create_stream(channel, cpu)
    return int(handle) if handle else None


def send_channel_to_sessiond(sock: int, channel: int) -> None:
    """``lttng_ust_ctl_send_channel_to_sessiond()``: the GET_CHANNEL channel hand-over."""
    _check(library().lttng_ust_ctl_send_channel_to_sessiond(sock, channel), "send_channel")


def send_stream_to_sessiond(sock: int, stream: int | None) -> None:
    """``lttng_ust_ctl_send_stream_to_sessiond()``; ``None`` sends the end-of-streams marker."""
    _check(library().lttng_ust_ctl_send_stream_to_sessiond(sock, stream), "send_stream")


def channel_close_wakeup_fd(channel: int) -> None:
    """``lttng_ust_ctl_channel_close_wakeup_fd()``: after the hand-over, as C does."""
    _check(library().lttng_ust_ctl_channel_close_wakeup_fd(channel), "channel_close_wakeup_fd")


def channel_wait_fd(channel: int) -> int:
    """``lttng_ust_ctl_channel_get_wait_fd()``: hangs up when the app's end closes."""
    fd = int(library().lttng_ust_ctl_channel_get_wait_fd(channel))
    _check(fd, "channel_get_wait_fd")
    return fd


def stream_wait_fd(stream: int) -> int:
    """``lttng_ust_ctl_stream_get_wait_fd()``: the pipe end the consumer polls."""
    fd = int(library().lttng_ust_ctl_stream_get_wait_fd(stream))
    _check(fd, "stream_get_wait_fd")
    return fd


def stream_wakeup_fd(stream: int) -> int:
    """``lttng_ust_ctl_stream_get_wakeup_fd()``: the pipe end a flush writes to."""
    fd = int(library().lttng_ust_ctl_stream_get_wakeup_fd(stream))
    _check(fd, "stream_get_wakeup_fd")
    return fd


def stream_close_wakeup_fd(stream: int) -> None:
    """``lttng_ust_ctl_stream_close_wakeup_fd()``."""
    _check(library().lttng_ust_ctl_stream_close_wakeup_fd(stream), "stream_close_wakeup_fd")


def write_one_packet_to_channel(channel: int, data: bytes) -> int:
    """``lttng_ust_ctl_write_one_packet_to_channel()``: bytes written (< 0: -errno)."""
    return int(library().lttng_ust_ctl_write_one_packet_to_channel(channel, data, len(data)))


def flush_buffer(stream: int, producer_active: bool) -> None:
    """``lttng_ust_ctl_flush_buffer()``."""
    _check(library().lttng_ust_ctl_flush_buffer(stream, int(producer_active)), "flush_buffer")


def clear_buffer(stream: int) -> None:
    """``lttng_ust_ctl_clear_buffer()``."""
    _check(library().lttng_ust_ctl_clear_buffer(stream), "clear_buffer")


def destroy_stream(stream: int) -> None:
    """``lttng_ust_ctl_destroy_stream()``."""
    library().lttng_ust_ctl_destroy_stream(stream)


def destroy_channel(channel: int) -> None:
    """``lttng_ust_ctl_destroy_channel()``."""
    library().lttng_ust_ctl_destroy_channel(channel)


class OracleChannel:
    """A consumer channel created by ``lttng_ust_ctl_create_channel()`` over caller-owned
    stream fds (memfds here), mirroring ``struct lttng_ust_ctl_consumer_channel``."""

    def __init__(
        self,
        *,
        metadata: bool = False,
        overwrite: bool = False,
        subbuf_size: int = 4096,
        num_subbuf: int = 4,
        chan_id: int = 0,
        uuid: bytes = bytes(range(16)),
        switch_timer_interval: int = 0,
        read_timer_interval: int = 0,
        blocking_timeout: int = 0,
        stream_fds: list[int] | None = None,
    ) -> None:
        """``stream_fds``, when given, stay the caller's (not closed by :meth:`close`)."""
        self.metadata = metadata
        nr = 1 if metadata else nr_stream_per_channel()
        self._own_fds = stream_fds is None
        self.stream_fds = (
            [os.memfd_create(f"ustref-oracle-{i}") for i in range(nr)]
            if stream_fds is None
            else list(stream_fds)
        )
        self._attr = channel_attr(
            metadata=metadata,
            subbuf_size=subbuf_size,
            num_subbuf=num_subbuf,
            overwrite=overwrite,
            chan_id=chan_id,
            uuid=uuid,
            switch_timer_interval=switch_timer_interval,
            read_timer_interval=read_timer_interval,
            blocking_timeout=blocking_timeout,
        )
        try:
            self.handle: int | None = create_channel(self._attr, self.stream_fds)
        except UstrefError:
            if self._own_fds:
                for fd in self.stream_fds:
                    os.close(fd)
            raise
        self.streams: list[OracleStream] = []

    def write_metadata(self, data: bytes) -> None:
        """``lttng_ust_ctl_write_metadata_to_channel()``."""
        if not self.metadata:
            raise LocalProtocolError("metadata can only be written to a metadata channel")
        _check(
            library().lttng_ust_ctl_write_metadata_to_channel(self.handle, data, len(data)),
            "lttng_ust_ctl_write_metadata_to_channel",
        )

    def write_one_packet(self, data: bytes) -> int:
        """``lttng_ust_ctl_write_one_packet_to_channel()``: bytes written (< 0: -errno)."""
        if not self.metadata:
            raise LocalProtocolError("metadata can only be written to a metadata channel")
        if self.handle is None:
            raise LocalProtocolError("the channel is closed")
        return write_one_packet_to_channel(self.handle, data)

    def create_stream(self, cpu: int = 0) -> OracleStream:
        stream = OracleStream(self, cpu)
        self.streams.append(stream)
        return stream

    def close(self) -> None:
        if not self.handle:
            return
        for stream in self.streams:
            stream.close()
        destroy_channel(self.handle)
        self.handle = None
        if self._own_fds:
            for fd in self.stream_fds:
                os.close(fd)

    def wait_fd(self) -> int:
        """``lttng_ust_ctl_channel_get_wait_fd()``."""
        assert self.handle is not None
        return channel_wait_fd(self.handle)

    def wakeup_fd(self) -> int:
        """``lttng_ust_ctl_channel_get_wakeup_fd()``."""
        return int(library().lttng_ust_ctl_channel_get_wakeup_fd(self.handle))

    def close_wakeup_fd(self) -> None:
        """``lttng_ust_ctl_channel_close_wakeup_fd()``."""
        assert self.handle is not None
        channel_close_wakeup_fd(self.handle)

    def handover(self) -> tuple[bytes, list[int]]:
        """``lttng_ust_ctl_send_channel_to_sessiond()`` into a socketpair: the bytes sent
        and the fds received (dups of the channel wakeup fd, the caller's to close)."""
        return _handover(
            lambda fd: library().lttng_ust_ctl_send_channel_to_sessiond(fd, self.handle)
        )

    def __enter__(self) -> OracleChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OracleStream:
    """A stream opened for reading by ``lttng_ust_ctl_create_stream()``, with the same
    method names and conventions as :class:`ustref.ring.reader.StreamReader`."""

    def __init__(self, channel: OracleChannel, cpu: int) -> None:
        self.channel = channel
        self.cpu = cpu
        handle = None if channel.handle is None else create_stream(channel.handle, cpu)
        self.handle: int | None = handle
        if handle is None:
            raise UstrefError(f"lttng_ust_ctl_create_stream(cpu={cpu}) failed")
        self.shm_fd = channel.stream_fds[0 if channel.metadata else cpu]

    def close(self) -> None:
        if self.handle:
            destroy_stream(self.handle)
            self.handle = None

    def wait_fd(self) -> int:
        """``lttng_ust_ctl_stream_get_wait_fd()``."""
        assert self.handle is not None
        return stream_wait_fd(self.handle)

    def wakeup_fd(self) -> int:
        """``lttng_ust_ctl_stream_get_wakeup_fd()``."""
        assert self.handle is not None
        return stream_wakeup_fd(self.handle)

    def close_wakeup_fd(self) -> None:
        """``lttng_ust_ctl_stream_close_wakeup_fd()``."""
        assert self.handle is not None
        stream_close_wakeup_fd(self.handle)

    def handover(self) -> tuple[bytes, list[int]]:
        """``lttng_ust_ctl_send_stream_to_sessiond()`` into a socketpair: the bytes sent and
        the fds received (dups of ``[shm_fd, wakeup_fd]``, the caller's to close)."""
        return _handover(
            lambda fd: library().lttng_ust_ctl_send_stream_to_sessiond(fd, self.handle)
        )

    def clear_buffer(self) -> None:
        """``lttng_ust_ctl_clear_buffer()``."""
        _check(library().lttng_ust_ctl_clear_buffer(self.handle), "lttng_ust_ctl_clear_buffer")

    def _status(self, ret: int, what: str) -> Status:
        if ret in (0, -errno.EAGAIN, -errno.ENODATA):
            return Status(ret)
        raise UstrefError(f"{what} failed: {os.strerror(-ret)} ({ret})")

    def _ulong(self, name: str) -> int:
        out = ctypes.c_ulong()
        _check(getattr(library(), name)(self.handle, ctypes.byref(out)), name)
        return int(out.value)

    def _u64(self, name: str) -> int:
        out = ctypes.c_uint64()
        _check(getattr(library(), name)(self.handle, ctypes.byref(out)), name)
        return int(out.value)

    def snapshot(self) -> Status:
        return self._status(library().lttng_ust_ctl_snapshot(self.handle), "snapshot")

    def snapshot_sample_positions(self) -> Status:
        lib = library()
        return self._status(
            lib.lttng_ust_ctl_snapshot_sample_positions(self.handle), "snapshot_sample_positions"
        )

    def snapshot_get_consumed(self) -> int:
        return self._ulong("lttng_ust_ctl_snapshot_get_consumed")

    def snapshot_get_produced(self) -> int:
        return self._ulong("lttng_ust_ctl_snapshot_get_produced")

    def get_subbuf(self, consumed: int) -> Status:
        pos = ctypes.c_ulong(consumed)
        return self._status(
            library().lttng_ust_ctl_get_subbuf(self.handle, ctypes.byref(pos)), "get_subbuf"
        )

    def put_subbuf(self) -> None:
        _check(library().lttng_ust_ctl_put_subbuf(self.handle), "put_subbuf")

    def get_next_subbuf(self) -> Status:
        return self._status(library().lttng_ust_ctl_get_next_subbuf(self.handle), "get_next")

    def put_next_subbuf(self) -> None:
        _check(library().lttng_ust_ctl_put_next_subbuf(self.handle), "put_next_subbuf")

    def flush_buffer(self, producer_active: bool) -> None:
        _check(
            library().lttng_ust_ctl_flush_buffer(self.handle, int(producer_active)), "flush_buffer"
        )

    def get_subbuf_size(self) -> int:
        return self._ulong("lttng_ust_ctl_get_subbuf_size")

    def get_padded_subbuf_size(self) -> int:
        return self._ulong("lttng_ust_ctl_get_padded_subbuf_size")

    def get_mmap_read_offset(self) -> int:
        return self._ulong("lttng_ust_ctl_get_mmap_read_offset")

    def get_mmap_len(self) -> int:
        return self._ulong("lttng_ust_ctl_get_mmap_len")

    def get_max_subbuf_size(self) -> int:
        return self._ulong("lttng_ust_ctl_get_max_subbuf_size")

    def read_subbuf(self, length: int | None = None) -> bytes:
        size = self.get_padded_subbuf_size() if length is None else length
        base = library().lttng_ust_ctl_get_mmap_base(self.handle)
        if not base:
            raise UstrefError("lttng_ust_ctl_get_mmap_base failed")
        return ctypes.string_at(base + self.get_mmap_read_offset(), size)

    def _data_only(self, what: str) -> None:
        # The metadata client leaves these callbacks NULL: the library would
        # call through a NULL pointer (timestamp_begin …) or return -ENOSYS.
        if self.channel.metadata:
            raise LocalProtocolError(f"{what}: the metadata client has no such getter")

    def get_timestamp_begin(self) -> int:
        self._data_only("timestamp_begin")
        return self._u64("lttng_ust_ctl_get_timestamp_begin")

    def get_timestamp_end(self) -> int:
        self._data_only("timestamp_end")
        return self._u64("lttng_ust_ctl_get_timestamp_end")

    def get_events_discarded(self) -> int:
        self._data_only("events_discarded")
        return self._u64("lttng_ust_ctl_get_events_discarded")

    def get_content_size(self) -> int:
        self._data_only("content_size")
        return self._u64("lttng_ust_ctl_get_content_size")

    def get_packet_size(self) -> int:
        self._data_only("packet_size")
        return self._u64("lttng_ust_ctl_get_packet_size")

    def get_sequence_number(self) -> int:
        self._data_only("sequence_number")
        return self._u64("lttng_ust_ctl_get_sequence_number")

    def get_stream_id(self) -> int:
        self._data_only("stream_id")
        return self._u64("lttng_ust_ctl_get_stream_id")

    def get_instance_id(self) -> int:
        self._data_only("instance_id")
        return self._u64("lttng_ust_ctl_get_instance_id")

    def get_current_timestamp(self) -> int:
        self._data_only("current_timestamp")
        return self._u64("lttng_ust_ctl_get_current_timestamp")
