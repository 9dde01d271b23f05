"""A recording ``lttng-consumerd``: relays and records the session daemon ↔ consumer daemon talk.

``lttng-sessiond --consumerd64-path=WRAPPER`` forks and execs ``WRAPPER`` with
the consumer daemon's argv (``client.c:spawn_consumerd`` @ lttng-tools
v2.13.9)::

    lttng-consumerd "" -u --consumerd-cmd-sock PATH --consumerd-err-sock PATH --group tracing

(the empty word is the verbosity option, empty unless the session daemon runs
with ``--verbose-consumer`` or ``--quiet``). This module is what the wrapper
runs (``python3 -m ustref.capture.wrapper ARGV…``, started by
``ustref/data/bin/ustref-capture-consumerd``):

1. It listens on the session daemon's *command socket path* itself, and on a
   private *error socket path* in a new private directory, then starts the real
   C ``lttng-consumerd`` as its direct child with the same argv, the two socket
   paths replaced by private ones (``DIR/command``, ``DIR/error``).
2. The real consumer connects to the private error socket: the wrapper accepts
   and connects to the session daemon's error socket (role ``error``). The
   consumer then listens on its private command socket and reports
   ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY`` on the error socket; relayed, it
   makes the session daemon connect twice to the command socket path — the
   wrapper's listener: for each connection, in order, the wrapper connects to
   the consumer's private command socket (roles ``command`` then
   ``metadata``, as ``manage-consumer.c`` and ``consumer.c:set_metadata_socket``
   pair them).
3. One thread per connection and direction moves bytes with
   :func:`socket.recv_fds`/:func:`socket.send_fds`: each ``recvmsg`` becomes
   one ``sendmsg`` with the same bytes and fds (``SCM_RIGHTS``), recorded
   first. The only exception: when a ``recvmsg`` returns fds with more than one
   byte, it is relayed as two sends — all bytes but the last, then the last
   byte with the fds. LTTng (``lttcomm_send_fds_unix_sock``, lttng-ust's
   ``ustcomm_send_fds_unix_sock``) always sends fds with a 1-byte dummy
   payload, but the kernel glues a preceding message to it when both are
   queued; relaying them glued would attach the fds to the preceding message
   and the receiver would lose them. Received fds are closed in the wrapper
   once sent on. End of stream is relayed as ``shutdown(SHUT_WR)``; a failed
   send (the receiver is gone) as ``shutdown(SHUT_RD)`` of the source, so that
   the sender sees ``EPIPE`` as it would without the wrapper.
4. The channel-monitor pipe: the write end handed over after
   ``LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE`` is replaced by the write end of
   a pipe of the wrapper's, whose samples are recorded (role
   ``channel-monitor``) and written on to the session daemon's pipe, which the
   wrapper makes non-blocking as the consumer does to the pipe it gets
   (``ust-consumer.c``); a sample that does not fit is dropped, as the
   consumer drops it. ``USTREF_CAPTURE_MONITOR=passthrough`` hands the session
   daemon's pipe over untouched instead (samples are then not recorded).
5. The relay daemon sockets: the session daemon hands each connected relay
   daemon socket over after ``LTTNG_CONSUMER_ADD_RELAYD_SOCKET`` (1 byte + the
   fd, ``consumer_send_relayd_socket``, sessiond consumer.c), once for the
   control socket and once for the data socket of each relay daemon. The C
   consumer aborts on a socket that is not ``AF_INET``/``AF_INET6``
   (``lttcomm_populate_sock_from_open_socket``, sessiond-comm.c), so the
   wrapper cannot hand it a socketpair: it makes a loopback TCP connection of
   its own in the family of the session daemon's socket (``127.0.0.1`` or
   ``::1``, an ephemeral port), hands the consumer the connecting end instead,
   and moves bytes both ways between the accepted end and the session
   daemon's socket, recording each ``recv`` (roles ``relayd-control`` and
   ``relayd-data``, :class:`~ustref.capture.format.RelaydRecord`). An end of
   stream is relayed as ``shutdown(SHUT_WR)``; both sockets are closed once
   both directions ended. ``USTREF_CAPTURE_RELAYD=passthrough`` hands the
   session daemon's socket over untouched (nothing recorded).
6. SIGTERM, SIGINT, SIGHUP and SIGQUIT are forwarded to the consumer; when it
   exits, the wrapper writes the capture's end line and exits with the same
   status (re-raising the signal that killed it).

Configuration is by environment (the session daemon passes its own to the
consumer): ``USTREF_CAPTURE_OUT`` (the capture file; without it the wrapper
just execs the real consumer), ``USTREF_CAPTURE_CONSUMERD`` (the real binary;
default: Debian's ``/usr/lib/<multiarch>/lttng/libexec/lttng-consumerd``),
``USTREF_CAPTURE_MONITOR``, ``USTREF_CAPTURE_RELAYD``, ``USTREF_INJECT_CONTROL`` (a
control socket path: the wrapper is then :mod:`ustref.fuzz.inject`'s proxy, which
splices reproducers into the live command socket; recording becomes optional).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import shutil
import signal
import socket
import stat
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ustref.capture.format import (
    CaptureHeader,
    CaptureRecord,
    CaptureWriter,
    Direction,
    RelaydDirection,
    RelaydRecord,
    RelaydSocket,
    Socket,
)
from ustref.errors import LaunchError, RemoteProtocolError, TransportError
from ustref.protocol.abi import ALL_ABIS
from ustref.protocol.constants import LTTCOMM_MAX_SEND_FDS
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    LttngConsumerCommand,
    LttngStreamType,
    RelaydSockR97535efaa,
    RelaydSockV2139,
)
from ustref.transport.argv import CONSUMERD_ARGV0, redirect_argv
from ustref.transport.framing import (
    close_fds,
    connect,
    listen,
    recv_some,
    send_all,
    split_for_fds,
)
from ustref.transport.launcher import Child
from ustref.transport.procname import set_process_name

__all__ = [
    "ENV_CONSUMERD",
    "ENV_INJECT",
    "ENV_MONITOR",
    "ENV_OUT",
    "ENV_PYTHON",
    "ENV_PYTHONPATH",
    "ENV_RELAYD",
    "SET_CHANNEL_MONITOR_PIPE",
    "CaptureSetupError",
    "Recorder",
    "exit_like",
    "find_consumerd",
    "main",
    "run_wrapper",
]

ENV_OUT = "USTREF_CAPTURE_OUT"
"""The capture file to write."""
ENV_CONSUMERD = "USTREF_CAPTURE_CONSUMERD"
"""The real ``lttng-consumerd`` to start (default: :func:`find_consumerd`)."""
ENV_MONITOR = "USTREF_CAPTURE_MONITOR"
"""``interpose`` (default) or ``passthrough``: what to do with the channel-monitor pipe."""
ENV_RELAYD = "USTREF_CAPTURE_RELAYD"
"""``interpose`` (default) or ``passthrough``: what to do with the relay daemon sockets."""
ENV_INJECT = "USTREF_INJECT_CONTROL"
"""A unix socket path: set, the wrapper is :mod:`ustref.fuzz.inject`'s proxy, which takes
``inject FILE`` requests there (``USTREF_CAPTURE_OUT`` is then optional)."""
ENV_PYTHON = "USTREF_CAPTURE_PYTHON"
"""The interpreter ``ustref/data/bin/ustref-capture-consumerd`` runs (default ``python3``)."""
ENV_PYTHONPATH = "USTREF_CAPTURE_PYTHONPATH"
ENV_LD_LIBRARY_PATH = "USTREF_CAPTURE_LD_LIBRARY_PATH"
"""Where the launcher keeps the session daemon's ``LD_LIBRARY_PATH`` for the real consumer."""
"""The directory holding the ``ustref`` package, for that interpreter."""

SET_CHANNEL_MONITOR_PIPE = LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE
"""The ``cmd_type`` (first ``uint32_t`` of ``struct lttcomm_consumer_msg``) after
which the session daemon sends the channel-monitor pipe's write end."""
ADD_RELAYD_SOCKET = LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET
"""The ``cmd_type`` after which the session daemon sends a relay daemon socket."""

_RECV_SIZE = 1 << 17
_PIPE_READ_SIZE = 4096  # PIPE_BUF: each relayed write is atomic
_FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_DRAIN_TIMEOUT = 5.0
_LOG_PREFIX = "ustref-capture"


class CaptureSetupError(LaunchError):
    """The wrapper cannot start: no real consumer daemon, no socket path in argv, …"""


def _log(message: str) -> None:
    with contextlib.suppress(OSError):
        sys.stderr.write(f"{_LOG_PREFIX}[{os.getpid()}]: {message}\n")
        sys.stderr.flush()


# ------------------------------------------------------------------ argv


def find_consumerd(env: Mapping[str, str] | None = None) -> str:
    """The real ``lttng-consumerd``: ``$USTREF_CAPTURE_CONSUMERD``, else where lttng-tools
    installs it (Debian: ``/usr/lib/<multiarch>/lttng/libexec/``)."""
    environ = os.environ if env is None else env
    configured = environ.get(ENV_CONSUMERD)
    if configured:
        return configured
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    candidates = [
        f"/usr/lib/{multiarch}/lttng/libexec/lttng-consumerd" if multiarch else "",
        "/usr/lib/lttng/libexec/lttng-consumerd",
        "/usr/local/lib/lttng/libexec/lttng-consumerd",
        "/usr/lib64/lttng/libexec/lttng-consumerd",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("lttng-consumerd")
    if found:
        return found
    raise CaptureSetupError(
        f"cannot find the real lttng-consumerd (tried {', '.join(c for c in candidates if c)}); "
        f"set {ENV_CONSUMERD}"
    )


# ------------------------------------------------------------------ fds


def fd_kind(fd: int) -> str:
    """What ``fd`` is: ``fifo``, ``socket``, ``directory``, ``memfd``, ``shm``,
    ``file``, an anonymous inode's name (``eventfd``, …) or ``other``."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return "other"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "directory"
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = ""
    if stat.S_ISREG(mode):
        if target.startswith("/memfd:"):
            return "memfd"
        if target.startswith("/dev/shm/"):
            return "shm"
        return "file"
    if target.startswith("anon_inode:"):
        return target[len("anon_inode:") :].strip("[]") or "other"
    return "other"


def _is_write_fifo(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        return False
    return stat.S_ISFIFO(mode) and (flags & os.O_ACCMODE) == os.O_WRONLY


# ------------------------------------------------------------------ recording


class Recorder:
    """Serialises records from every relay thread into one :class:`CaptureWriter`.

    ``seq`` and ``time_ns`` are taken under the lock, so they increase together.
    After :meth:`close`, records are dropped.
    """

    def __init__(self, writer: CaptureWriter | None) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._seq = 0
        self.records = 0
        self.fd_splits = 0
        self.fd_truncations = 0

    def count(self, *, split: bool = False, truncated: bool = False) -> None:
        """Count a ``recvmsg`` relayed as two sends, or one whose fds were truncated."""
        with self._lock:
            self.fd_splits += split
            self.fd_truncations += truncated

    def record(
        self,
        direction: Direction,
        role: Socket,
        connection: int,
        data: bytes,
        fds: Sequence[int],
    ) -> None:
        kinds = tuple(fd_kind(fd) for fd in fds)
        with self._lock:
            if self._writer is None:
                return
            record = CaptureRecord(
                seq=self._seq,
                time_ns=time.monotonic_ns(),
                direction=direction,
                socket=role,
                data=bytes(data),
                fd_count=len(fds),
                connection=connection,
                fd_kinds=kinds,
            )
            self._append(record)

    def record_relayd(self, link: _RelaydLink, direction: RelaydDirection, data: bytes) -> None:
        with self._lock:
            if self._writer is None:
                return
            record = RelaydRecord(
                seq=self._seq,
                time_ns=time.monotonic_ns(),
                direction=direction,
                socket=link.role,
                data=bytes(data),
                connection=link.connection,
                net_index=link.net_index,
                peer=link.peer,
            )
            self._append(record)

    def _append(self, record: CaptureRecord | RelaydRecord) -> None:
        """Write ``record`` (the lock held)."""
        assert self._writer is not None
        try:
            self._writer.append(record)
        except OSError as exc:
            _log(f"cannot write the capture ({exc}); recording stops, relaying goes on")
            with contextlib.suppress(OSError):
                self._writer.close()
            self._writer = None
            return
        self._seq += 1
        self.records += 1

    def close(self, exit_status: int | None) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close(
                    exit_status, fd_splits=self.fd_splits, fd_truncations=self.fd_truncations
                )
            except OSError as exc:
                _log(f"cannot finish the capture ({exc})")


# ------------------------------------------------------------------ relaying


def _shutdown(sock: socket.socket, how: int) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(how)


def _send_all(sock: socket.socket, data: bytes, fds: Sequence[int]) -> bool:
    """Send ``data`` with ``fds``; False when the peer is gone."""
    try:
        send_all(sock, data, fds)
    except TransportError:
        return False
    return True


@dataclass(frozen=True)
class Handover:
    """What ``LTTNG_CONSUMER_ADD_RELAYD_SOCKET`` says of the socket that follows it
    (``u.relayd_sock``: ``net_index`` and ``type``, the first two members at
    v2.13.9 and 97535efaa)."""

    net_index: int
    role: RelaydSocket


def parse_handover(part: bytes) -> Handover | None:
    """The :class:`Handover` of a whole ``ADD_RELAYD_SOCKET`` command, else ``None``."""
    if len(part) != CONSUMER_MSG_SIZE or int.from_bytes(part[:4], sys.byteorder) != (
        ADD_RELAYD_SOCKET
    ):
        return None
    for abi in ALL_ABIS:
        try:
            member = CONSUMER_MSG[abi].parse(part).u
        except RemoteProtocolError:
            continue
        if isinstance(member, RelaydSockV2139 | RelaydSockR97535efaa):
            control = member.type is LttngStreamType.LTTNG_STREAM_CONTROL
            return Handover(
                member.net_index, RelaydSocket.CONTROL if control else RelaydSocket.DATA
            )
    return None


def format_peer(address: Any) -> str:
    """``HOST:PORT`` (``[HOST]:PORT`` for IPv6) of a ``getpeername`` result."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _loopback_pair(family: int) -> tuple[socket.socket, socket.socket]:
    """A connected loopback TCP pair of ``family``: (connecting end, accepted end)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.bind((host, 0))
        listener.listen(1)
        client = socket.socket(family, socket.SOCK_STREAM)
        try:
            client.connect(listener.getsockname())
            accepted, _ = listener.accept()
        except BaseException:
            client.close()
            raise
    return client, accepted


@dataclass
class _Link:
    """One relayed connection: the session daemon's end and the consumer's end."""

    role: Socket
    index: int
    sessiond: socket.socket
    consumerd: socket.socket
    monitor_pending: bool = False
    relayd_pending: Handover | None = None
    threads: dict[Direction, threading.Thread] = field(default_factory=dict)


@dataclass
class _RelaydLink:
    """One relay daemon socket: the real one (to the relay) and the wrapper's accepted
    end of the loopback connection the consumer got instead."""

    role: RelaydSocket
    connection: int
    net_index: int
    peer: str
    relayd: socket.socket
    consumerd: socket.socket
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: int = 2

    def direction_done(self) -> None:
        """Close both sockets when both directions have ended."""
        with self.lock:
            self.running -= 1
            last = self.running == 0
        if last:
            self.relayd.close()
            self.consumerd.close()


class _Relay:
    def __init__(
        self, recorder: Recorder, *, interpose_monitor: bool, interpose_relayd: bool = True
    ) -> None:
        self.recorder = recorder
        self.interpose_monitor = interpose_monitor
        self.interpose_relayd = interpose_relayd
        self.links: list[_Link] = []
        self.relayd_links: list[_RelaydLink] = []
        self.monitor_threads: list[threading.Thread] = []
        self.closing = threading.Event()

    def start_link(self, link: _Link) -> None:
        self.links.append(link)
        for direction, src, dst in (
            (Direction.TO_CONSUMERD, link.sessiond, link.consumerd),
            (Direction.TO_SESSIOND, link.consumerd, link.sessiond),
        ):
            thread = threading.Thread(
                target=self._pump,
                args=(link, direction, src, dst),
                name=f"{link.role.value}-{direction.short}",
                daemon=True,
            )
            link.threads[direction] = thread
            thread.start()

    def _pump(
        self, link: _Link, direction: Direction, src: socket.socket, dst: socket.socket
    ) -> None:
        while True:
            try:
                got = recv_some(src, _RECV_SIZE, LTTCOMM_MAX_SEND_FDS)
            except TransportError:
                got = None
            data, fds = (got.data, list(got.fds)) if got is not None else (b"", [])
            if got is not None and got.truncated:
                _log(f"{link.role.value} {direction.value}: control data truncated, fds lost")
                self.recorder.count(truncated=True)
            if not data and not fds:
                if not self.closing.is_set():
                    self.recorder.record(direction, link.role, link.index, b"", [])
                _shutdown(dst, socket.SHUT_WR)
                return
            to_close = list(fds)
            parts = split_for_fds(data, fds)
            if len(parts) > 1:
                self.recorder.count(split=True)
            try:
                for part, part_fds in parts:
                    send_fds = self._maybe_interpose(link, direction, part, part_fds, to_close)
                    if not self.deliver(link, direction, part, send_fds, dst):
                        # The receiver is gone: make the sender see EPIPE, as it would.
                        _shutdown(src, socket.SHUT_RD)
                        return
            finally:
                close_fds(to_close)

    def deliver(
        self, link: _Link, direction: Direction, part: bytes, fds: list[int], dst: socket.socket
    ) -> bool:
        """Record one relayed part and send it on to ``dst``; False when the receiver is
        gone. The hook of :mod:`ustref.fuzz.inject`, which holds the command socket."""
        self.recorder.record(direction, link.role, link.index, part, fds)
        return _send_all(dst, part, fds)

    def _maybe_interpose(
        self,
        link: _Link,
        direction: Direction,
        part: bytes,
        fds: list[int],
        to_close: list[int],
    ) -> list[int]:
        """Swap the channel-monitor pipe or a relay daemon socket for the wrapper's own;
        return the fds to send."""
        if link.role is not Socket.COMMAND or direction is not Direction.TO_CONSUMERD:
            return fds
        handover, link.relayd_pending = link.relayd_pending, None if fds else parse_handover(part)
        if handover is not None and self.interpose_relayd and len(part) == 1 and len(fds) == 1:
            return self._interpose_relayd(handover, fds, to_close)
        pending, link.monitor_pending = (
            link.monitor_pending,
            (
                len(part) >= 4
                and int.from_bytes(part[:4], sys.byteorder) == SET_CHANNEL_MONITOR_PIPE
                and not fds
            ),
        )
        if not (
            self.interpose_monitor
            and pending
            and len(part) == 1
            and len(fds) == 1
            and _is_write_fifo(fds[0])
        ):
            return fds
        sessiond_pipe = fds[0]
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        # The consumer sets O_NONBLOCK on the pipe it gets, which (one open file
        # description) the session daemon's write end shares: do the same.
        os.set_blocking(sessiond_pipe, False)
        to_close.remove(sessiond_pipe)
        to_close.append(write_end)
        thread = threading.Thread(
            target=self._pump_monitor,
            args=(read_end, sessiond_pipe),
            name="channel-monitor",
            daemon=True,
        )
        self.monitor_threads.append(thread)
        thread.start()
        return [write_end]

    def _interpose_relayd(
        self, handover: Handover, fds: list[int], to_close: list[int]
    ) -> list[int]:
        """Keep the session daemon's relay daemon socket; give the consumer the
        connecting end of a loopback TCP connection of the same family instead."""
        try:
            real = socket.socket(fileno=os.dup(fds[0]))
        except OSError as exc:
            _log(f"relay daemon socket: cannot take it over ({exc}); passed through")
            return fds
        if real.family not in (socket.AF_INET, socket.AF_INET6) or real.type != (
            socket.SOCK_STREAM
        ):
            real.close()
            return fds
        try:
            # The wrapper's threads block on it (the open file description is
            # shared: the session daemon closes its copy after the hand-over).
            real.setblocking(True)
            peer = format_peer(real.getpeername())
            client, accepted = _loopback_pair(real.family)
        except OSError as exc:
            _log(f"relay daemon socket: no loopback connection ({exc}); passed through")
            real.close()
            return fds
        connection = sum(1 for other in self.relayd_links if other.role is handover.role)
        link = _RelaydLink(handover.role, connection, handover.net_index, peer, real, accepted)
        self.relayd_links.append(link)
        for direction, src, dst in (
            (RelaydDirection.TO_RELAYD, accepted, real),
            (RelaydDirection.TO_CONSUMERD, real, accepted),
        ):
            thread = threading.Thread(
                target=self._pump_relayd,
                args=(link, direction, src, dst),
                name=f"{handover.role.value}{connection}-{direction.short}",
                daemon=True,
            )
            link.threads.append(thread)
            thread.start()
        replacement = client.detach()
        to_close.append(replacement)
        return [replacement]

    def _pump_relayd(
        self,
        link: _RelaydLink,
        direction: RelaydDirection,
        src: socket.socket,
        dst: socket.socket,
    ) -> None:
        try:
            while True:
                try:
                    data = src.recv(_RECV_SIZE)
                except OSError:  # a reset reads as end of stream, as in recv_some
                    data = b""
                if not data and self.closing.is_set():
                    _shutdown(dst, socket.SHUT_WR)
                    return
                self.recorder.record_relayd(link, direction, data)
                if not data:
                    _shutdown(dst, socket.SHUT_WR)
                    return
                try:
                    dst.sendall(data)
                except OSError:
                    # The receiver is gone: make the sender see it, as it would.
                    _shutdown(src, socket.SHUT_RD)
                    return
        finally:
            link.direction_done()

    def join_relayd(self, timeout: float) -> None:
        """Wait (at most ``timeout`` in all) for every relay daemon link to end."""
        deadline = time.monotonic() + timeout
        for link in self.relayd_links:
            for thread in link.threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _pump_monitor(self, read_end: int, sessiond_pipe: int) -> None:
        direction = Direction.TO_SESSIOND
        role = Socket.CHANNEL_MONITOR
        try:
            while True:
                try:
                    data = os.read(read_end, _PIPE_READ_SIZE)
                except OSError:
                    data = b""
                self.recorder.record(direction, role, 0, data, [])
                if not data:
                    return
                with contextlib.suppress(OSError):  # EAGAIN: dropped, as the consumer would
                    os.write(sessiond_pipe, data)
        finally:
            for fd in (read_end, sessiond_pipe):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def join(self, direction: Direction, timeout: float) -> None:
        """Wait (at most ``timeout`` in all) for every link's ``direction`` to end."""
        deadline = time.monotonic() + timeout
        for link in self.links:
            link.threads[direction].join(max(0.0, deadline - time.monotonic()))

    def join_monitor(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.monitor_threads:
            thread.join(max(0.0, deadline - time.monotonic()))


# ------------------------------------------------------------------ process


def _child_env() -> dict[str, str]:
    """The real consumer's environment: the session daemon's, as it gave it.

    The launcher moved ``LD_LIBRARY_PATH`` (which the session daemon sets to the
    consumer's libdir) aside so that it does not swap this interpreter's
    libpython; the real consumer gets it back.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (ENV_OUT, ENV_CONSUMERD, ENV_MONITOR, ENV_RELAYD, ENV_LD_LIBRARY_PATH, ENV_INJECT)
    }
    saved = os.environ.get(ENV_LD_LIBRARY_PATH)
    if saved is not None:
        env["LD_LIBRARY_PATH"] = saved
    return env


class _Wrapper:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        out: Path | None,
        consumerd: str,
        interpose_monitor: bool,
        interpose_relayd: bool = True,
        relay: _Relay | None = None,
    ) -> None:
        """``out``: the capture file (``None``: nothing recorded); ``relay``: what moves
        the bytes (default: a plain :class:`_Relay`)."""
        self.argv = tuple(argv)
        self.out = out
        self.consumerd = consumerd
        self.interpose_monitor = interpose_monitor
        self.interpose_relayd = interpose_relayd
        self.private_dir = Path(tempfile.mkdtemp(prefix="ustref-capture-"))
        self.private_cmd = str(self.private_dir / "command")
        self.private_err = str(self.private_dir / "error")
        self.redirect = redirect_argv(argv, cmd_path=self.private_cmd, err_path=self.private_err)
        self.child: Child | None = None
        self._saved_handlers: dict[int, Any] = {}
        self.recorder = Recorder(None)
        self.relay = relay or _Relay(
            self.recorder,
            interpose_monitor=interpose_monitor,
            interpose_relayd=interpose_relayd,
        )
        self._cmd_connections = 0

    def run(self) -> int:
        err_listener = cmd_listener = None
        try:
            err_listener = listen(self.private_err)
            cmd_listener = listen(self.redirect.sessiond_cmd)
            child = self._spawn()
            self.recorder = Recorder(self._open_writer(child.pid) if self.out else None)
            self.relay.recorder = self.recorder
            into = f"recording into {self.out}" if self.out else "not recording"
            _log(f"relaying lttng-consumerd pid {child.pid} ({self.consumerd}), {into}")
            self._serve(child, err_listener, cmd_listener)
            status = child.proc.wait()
            self._drain()
            self.recorder.close(status)
            _log(f"lttng-consumerd exited with status {status}; {self.recorder.records} records")
            return status
        finally:
            for signum, handler in self._saved_handlers.items():
                signal.signal(signum, handler)
            for listener in (err_listener, cmd_listener):
                if listener is not None:
                    listener.close()
            shutil.rmtree(self.private_dir, ignore_errors=True)
            if self.child is not None and self.child.alive():
                self.child.stop(0, first=None)

    def _spawn(self) -> Child:
        try:
            self.child = Child.spawn(
                [CONSUMERD_ARGV0, *self.redirect.argv],
                executable=self.consumerd,
                env=_child_env(),
                death_signal=signal.SIGTERM,
            )
        except LaunchError as exc:
            raise CaptureSetupError(f"cannot start {self.consumerd}: {exc.reason}") from None
        if threading.current_thread() is threading.main_thread():
            for sig in _FORWARDED_SIGNALS:
                self._saved_handlers[sig] = signal.signal(sig, self._forward_signal)
        return self.child

    def _forward_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.child is not None:
            self.child.send_signal(signum)

    def _open_writer(self, child_pid: int) -> CaptureWriter:
        assert self.out is not None
        header = CaptureHeader(
            realtime_offset_ns=time.time_ns() - time.monotonic_ns(),
            argv=self.argv,
            consumerd=self.consumerd,
            consumerd_argv=(CONSUMERD_ARGV0, *self.redirect.argv),
            consumerd_pid=child_pid,
            wrapper_pid=os.getpid(),
            sessiond_sockets={
                "command": self.redirect.sessiond_cmd,
                "error": self.redirect.sessiond_err,
            },
            private_sockets={"command": self.private_cmd, "error": self.private_err},
            channel_monitor="interposed" if self.interpose_monitor else "passthrough",
            extra={"relayd": "interposed" if self.interpose_relayd else "passthrough"},
        )
        return CaptureWriter.create(self.out, header)

    def _serve(
        self,
        child: Child,
        err_listener: socket.socket,
        cmd_listener: socket.socket,
    ) -> None:
        """Accept the connections until the consumer exits."""
        selector = selectors.DefaultSelector()
        pidfd: int | None = None
        try:
            with contextlib.suppress(OSError, AttributeError):
                pidfd = os.pidfd_open(child.pid)
            if pidfd is not None:
                selector.register(pidfd, selectors.EVENT_READ, "child")
            selector.register(err_listener, selectors.EVENT_READ, "error")
            selector.register(cmd_listener, selectors.EVENT_READ, "command")
            while child.alive():
                for key, _events in selector.select(timeout=None if pidfd is not None else 0.1):
                    if key.data == "child":
                        return
                    if key.data == "error":
                        self._accept_error(err_listener)
                        selector.unregister(err_listener)
                    elif key.data == "command":
                        self._accept_command(cmd_listener)
                        if self._cmd_connections >= 2:
                            # The consumer closes its listener after the metadata
                            # connection (consumer.c): so does the wrapper.
                            selector.unregister(cmd_listener)
                            cmd_listener.close()
        finally:
            selector.close()
            if pidfd is not None:
                os.close(pidfd)

    def _accept_error(self, listener: socket.socket) -> None:
        consumer_side, _ = listener.accept()
        try:
            sessiond_side = connect(self.redirect.sessiond_err)
        except TransportError as exc:
            _log(f"cannot connect to the session daemon's error socket: {exc}")
            consumer_side.close()
            return
        self.relay.start_link(_Link(Socket.ERROR, 0, sessiond_side, consumer_side))

    def _accept_command(self, listener: socket.socket) -> None:
        sessiond_side, _ = listener.accept()
        number = self._cmd_connections
        self._cmd_connections += 1
        try:
            consumer_side = connect(self.private_cmd)
        except TransportError as exc:
            _log(f"cannot connect to the consumer's command socket: {exc}")
            sessiond_side.close()
            return
        role = Socket.METADATA if number == 1 else Socket.COMMAND
        index = 0 if number < 2 else number - 1
        self.relay.start_link(_Link(role, index, sessiond_side, consumer_side))

    def _drain(self) -> None:
        """After the consumer exited: let what it sent reach the session daemon."""
        self.relay.join(Direction.TO_SESSIOND, _DRAIN_TIMEOUT)
        self.relay.join_monitor(_DRAIN_TIMEOUT)
        self.relay.join_relayd(_DRAIN_TIMEOUT)
        self.relay.closing.set()


def run_wrapper(
    argv: Sequence[str],
    *,
    out: Path | str,
    consumerd: str | None = None,
    interpose_monitor: bool = True,
    interpose_relayd: bool = True,
) -> int:
    """Run the real consumer daemon with ``argv`` (its ``argv[1:]``), relaying and
    recording into ``out``; return its exit status (negative: killed by that signal)."""
    wrapper = _Wrapper(
        argv,
        out=Path(out),
        consumerd=consumerd if consumerd is not None else find_consumerd(),
        interpose_monitor=interpose_monitor,
        interpose_relayd=interpose_relayd,
    )
    return wrapper.run()


def exit_like(status: int) -> int:
    """Exit as the consumer did: re-raise the signal that killed it."""
    if status < 0:
        sys.stdout.flush()
        sys.stderr.flush()
        signum = -status
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        return 128 + signum
    return status


#: How the injecting proxy runs (:func:`ustref.fuzz.inject.run_proxy`, given by its own
#: entry point: the capture layer does not import the fuzz layer).
ProxyRunner = Callable[..., int]


def main(argv: Sequence[str] | None = None, *, proxy: ProxyRunner | None = None) -> int:
    """Entry point of ``python3 -m ustref.capture.wrapper`` (what the session daemon runs),
    and, with ``proxy``, of ``python3 -m ustref.fuzz.inject``."""
    args = list(sys.argv[1:] if argv is None else argv)
    set_process_name(_LOG_PREFIX)
    try:
        consumerd = find_consumerd()
        out = os.environ.get(ENV_OUT)
        control = os.environ.get(ENV_INJECT)
        if not out and not control:
            _log(f"{ENV_OUT} is not set: running {consumerd} without recording")
            os.execve(consumerd, [CONSUMERD_ARGV0, *args], _child_env())
        choices = {}
        for name in (ENV_MONITOR, ENV_RELAYD):
            choices[name] = os.environ.get(name, "interpose")
            if choices[name] not in ("interpose", "passthrough"):
                raise CaptureSetupError(
                    f"{name} must be interpose or passthrough, not {choices[name]!r}"
                )
        monitor = choices[ENV_MONITOR] == "interpose"
        relayd = choices[ENV_RELAYD] == "interpose"
        if control:
            if proxy is None:
                raise CaptureSetupError(
                    f"{ENV_INJECT} is set: the injecting proxy runs as "
                    "python3 -m ustref.fuzz.inject"
                )
            status = proxy(
                args, control=Path(control), out=Path(out) if out else None,
                consumerd=consumerd, interpose_monitor=monitor, interpose_relayd=relayd,
            )  # fmt: skip
        else:
            assert out
            status = run_wrapper(
                args, out=out, consumerd=consumerd, interpose_monitor=monitor,
                interpose_relayd=relayd,
            )  # fmt: skip
    except (CaptureSetupError, OSError) as exc:
        _log(f"error: {exc}")
        return 1
    return exit_like(status)


if __name__ == "__main__":
    sys.exit(main())
