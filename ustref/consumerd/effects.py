"""The shell's half of the core's actions: the system calls the core asks for.

:func:`perform` carries out one :data:`~ustref.consumerd.exchange.Action` other than
``Send`` and ``Handover`` (which need the shell's sockets) and ``ReleaseMemory`` (the
shell calls :func:`release_memory`, and decides when it freezes) and returns the
result of a request. With :mod:`ustref.consumerd.loop` and :mod:`ustref.consumerd.cli` this is the
only module under ``ustref/consumerd/`` that makes these system calls (a test checks it).

The stream shm functions mirror, at lttng-tools v2.13.9, ``open_ust_stream_fd()``
(src/common/ust-consumer/ust-consumer.c): each stream's fd is an anonymous POSIX shm
object (``shm_create_anonymous("ust-consumer")``, src/common/shm.c:
``shm_open("/shm-ust-consumer-<pid>", O_CREAT|O_EXCL|O_RDWR, 0700)`` then
``shm_unlink``: an unlinked tmpfs file under ``/dev/shm``) or, with ``--shm-path``, the
file ``<shm_path><cpu>`` opened ``O_RDWR|O_CREAT|O_EXCL`` mode ``0600``; and the
removal of those files with the channel (``lttng_ustconsumer_del_channel``).

Deliberate difference, opt-in only: ``anonymous="memfd"`` creates sealable memfds (see
:class:`ustref.ring.channel.PureChannel`'s ``seal``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import logging
import os
import socket
from collections.abc import Sequence

from ustref.consumerd.exchange import (
    Action,
    CreatePipe,
    OpenStreamFds,
    PeerFamily,
    Received,
    RemoveShmFiles,
    Request,
    SetNonBlocking,
    WriteMonitor,
)
from ustref.errors import LocalProtocolError, UstrefError
from ustref.libc import libc

log = logging.getLogger("ustref.consumerd")


def answer(request: Request) -> Received | OSError:
    """Perform ``request``; what :meth:`~ustref.consumerd.core.Core.complete` takes
    back: the fds it made, or the ``OSError`` it met."""
    try:
        result = perform(request)
    except OSError as exc:
        return exc
    assert result is not None
    return result


def perform(action: Action) -> Received | None:
    """Do ``action`` (not ``Send``/``Handover``/``ReleaseMemory``); a request's fds,
    else ``None``. A request's ``OSError`` propagates (the shell hands it to
    ``Core.complete``)."""
    if isinstance(action, WriteMonitor):
        try:
            os.write(action.fd, action.data)
        except BlockingIOError:
            pass  # the pipe is full: the sample is dropped, as in C
        except OSError as exc:
            log.error("monitor pipe: %s", exc)
        return None
    if isinstance(action, SetNonBlocking):
        try:
            flags = fcntl.fcntl(action.fd, fcntl.F_GETFL)
            fcntl.fcntl(action.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        except OSError as exc:
            log.error("fd %d: cannot make it non-blocking: %s", action.fd, exc)
        return None
    if isinstance(action, RemoveShmFiles):
        remove_stream_files(action.nr, action.shm_path, action.root_shm_path)
        return None
    if isinstance(action, CreatePipe):
        return Received(fds=os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK))
    if isinstance(action, OpenStreamFds):
        try:
            fds = open_stream_fds(action.nr, shm_path=action.shm_path, owner=action.owner)
        except UstrefError as exc:
            raise OSError(str(exc)) from exc
        return Received(fds=tuple(fds))
    if isinstance(action, PeerFamily):
        return Received(data=peer_family(action.fd).to_bytes(2, "little"))
    raise LocalProtocolError(f"{type(action).__name__} is the shell's to perform")


def release_memory(*, freeze: bool = False) -> int:
    """:class:`~ustref.consumerd.exchange.ReleaseMemory`: collect the garbage cycles,
    then hand the C library's free pages back (``malloc_trim(0)``, where the C library
    has it: glibc does, musl does not). Returns the number of objects collected.

    The collection matters: every construct parse leaves a cycle (its top context's
    ``_root`` is itself, and the context holds the parsed values), and a command's
    message outlives a young collection whenever its handler waits, so those cycles
    reach the oldest generation, which the interpreter collects rarely. In the
    10-minute load run (issue 22) the daemon ended 8.5 MiB above its start with the
    collection and 19.3 MiB without it.

    ``freeze``: then move what survived the collection into the collector's permanent
    generation (``gc.freeze``), as the daemon does at its first release
    (:attr:`ustref.consumerd.loop.Shell.freeze_at_release`): the modules, classes and
    grammars live as long as the daemon, and every full collection walked them all,
    ~5 ms each time (this one's, and the interpreter's own oldest-generation ones
    while streams are drained); later collections walk only what the daemon made
    since. A frozen object is still freed when its last reference goes; only a cycle
    of frozen objects would outlive its use."""
    collected = gc.collect()
    if freeze:
        gc.freeze()
    trim = getattr(libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
    return collected


#: The ``/dev/shm`` directory glibc's ``shm_open`` creates its objects in.
DEV_SHM = "/dev/shm"


def shm_create_anonymous(owner_name: str = "ust-consumer") -> int:
    """``shm_create_anonymous()`` (lttng-tools src/common/shm.c @ v2.13.9)."""
    path = os.path.join(DEV_SHM, f"shm-{owner_name}-{os.getpid()}")
    flags = os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o700)
    except OSError as exc:
        raise UstrefError(f"cannot create shm object {path}: {exc.strerror}") from exc
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return fd


def memfd_create_sealable(name: str = "ust-consumer") -> int:
    """A memfd that accepts seals (ustref's opt-in replacement for the shm object)."""
    return os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)


def stream_shm_path(shm_path: str, cpu: int) -> str:
    """``get_stream_shm_path()`` (ust-consumer.c): the channel path with the CPU appended."""
    return f"{shm_path}{cpu}"


def open_stream_fds(
    nr: int,
    *,
    shm_path: str = "",
    anonymous: str = "shm",
    owner: tuple[int, int] | None = None,
) -> list[int]:
    """``open_ust_stream_fd()`` for CPUs ``0 .. nr-1``; on error closes (and unlinks) the
    ones already opened, like ``create_ust_channel()``.

    With ``shm_path`` each stream is the file ``<shm_path><cpu>`` (``O_CREAT |
    O_EXCL``, mode 0600). C opens it through ``run_as_open`` with the session's
    credentials; ``owner`` (uid, gid) gives the same ownership here."""
    fds: list[int] = []
    try:
        for cpu in range(nr):
            if shm_path:
                fd = os.open(
                    stream_shm_path(shm_path, cpu), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600
                )
                fds.append(fd)
                if owner is not None and (os.geteuid(), os.getegid()) != owner:
                    os.fchown(fd, *owner)
            elif anonymous == "memfd":
                fds.append(memfd_create_sealable())
            elif anonymous == "shm":
                fds.append(shm_create_anonymous())
            else:
                raise LocalProtocolError(f"unknown anonymous shm kind {anonymous!r}")
    except OSError as exc:
        _undo(fds, shm_path)
        raise UstrefError(f"cannot open stream shm {shm_path!r}: {exc.strerror}") from exc
    except BaseException:
        _undo(fds, shm_path)
        raise
    return fds


def remove_stream_files(nr: int, shm_path: str, root_shm_path: str) -> None:
    """Mirrors ``lttng_ustconsumer_del_channel`` / ``_free_channel``: unlink each stream's
    ``<shm_path><cpu>`` file, then remove ``root_shm_path`` and the directories under it that hold
    no file (``run_as_rmdir_recursive`` with ``LTTNG_DIRECTORY_HANDLE_SKIP_NON_EMPTY_FLAG``,
    directory-handle.c: deepest first; a directory with a file stays, and so do its parents)."""
    if shm_path:
        for cpu in range(nr):
            with contextlib.suppress(OSError):
                os.unlink(stream_shm_path(shm_path, cpu))
    if not root_shm_path:
        return
    for dirpath, _dirnames, _files in os.walk(root_shm_path, topdown=False):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def _undo(fds: list[int], shm_path: str) -> None:
    for cpu, fd in enumerate(fds):
        os.close(fd)
        if shm_path:
            with contextlib.suppress(OSError):
                os.unlink(stream_shm_path(shm_path, cpu))


def peer_family(fd: int) -> int:
    """The address family of the peer of socket ``fd``: what ``getpeername`` leaves in
    ``ss_family`` (``lttcomm_populate_sock_from_open_socket``, sessiond-comm.c; for a
    connected socket it is the socket's own domain, ``SO_DOMAIN``). The ``OSError`` of a
    descriptor that is not a socket (ENOTSOCK) or of an unconnected socket (ENOTCONN)
    propagates. ``fd`` stays open and unchanged."""
    sock = socket.socket(fileno=fd)  # reads SO_DOMAIN: ENOTSOCK for a non-socket
    try:
        sock.getpeername()
        return int(sock.family)
    finally:
        sock.detach()


# -- relay daemon sockets: writes that never block -------------------------------------


def send_nowait(fd: int, parts: Sequence[bytes | memoryview]) -> int:
    """Write what the socket ``fd`` takes now of ``parts``, gathered (one
    ``sendmsg``; ``MSG_DONTWAIT``: the descriptor's own flags are left alone); 0
    when its send buffer is full. The family and type are given, not asked of the
    kernel (``sendmsg`` does not use them), so this is one system call. A
    descriptor that is not a socket (a pipe in a test) is written with
    ``os.writev``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fileno=fd)
    try:
        return sock.sendmsg(parts, (), socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    except BlockingIOError:
        return 0
    except OSError as exc:
        if exc.errno != errno.ENOTSOCK:
            raise
    finally:
        sock.detach()
    try:
        return os.writev(fd, parts)
    except BlockingIOError:
        return 0


def ack_now(fd: int) -> None:
    """Acknowledge at once what the TCP socket ``fd`` received (``TCP_QUICKACK``:
    the acknowledgement the kernel holds back for up to 40 ms goes now). The
    relay daemon writes its replies with Nagle's algorithm on: a reply written
    while the one before is not acknowledged waits for that acknowledgement, so
    the replies to pipelined commands (:func:`~ustref.consumerd.relayd.send_indexes`)
    would come 40 ms apart. Not a TCP socket (a pipe in a test): nothing to do."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fileno=fd)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except OSError:
        pass
    finally:
        sock.detach()


class RelayOutbox:
    """The bytes queued for each relay daemon socket (control and data), written
    without blocking: what a socket does not take now waits here, in order, until
    it is writable again (:meth:`flush`). C writes these sockets with blocking
    ``sendmsg`` calls from its data and metadata threads (a relay that stops
    reading blocks them); ustref has one thread, which must never block, so a
    relay's backlog is kept here and the core stops consuming that relay's streams
    while there is one (see ``spec/consumerd.md``)."""

    def __init__(self) -> None:
        self._queues: dict[int, bytearray] = {}

    def send(self, fd: int, parts: Sequence[bytes]) -> None:
        """Queue ``parts`` behind what ``fd`` still has queued, and write what the
        socket takes now. An ``OSError`` is the relay's (the caller cleans it up)."""
        queue = self._queues.get(fd)
        if queue is not None:
            for part in parts:
                queue += part
            return
        written = send_nowait(fd, parts)
        left = bytearray()
        for part in parts:
            if written >= len(part):
                written -= len(part)
                continue
            left += memoryview(part)[written:]
            written = 0
        if left:
            self._queues[fd] = left

    def flush(self, fd: int) -> None:
        """``fd`` is writable: write what it takes of its queue."""
        queue = self._queues.get(fd)
        while queue:
            written = send_nowait(fd, (memoryview(queue),))
            if not written:
                return
            del queue[:written]
        self._queues.pop(fd, None)

    def pending(self, fd: int) -> int:
        """Bytes still queued for ``fd``."""
        return len(self._queues.get(fd, b""))

    def fds(self) -> list[int]:
        """The descriptors with bytes queued."""
        return list(self._queues)

    def drop(self, fd: int) -> None:
        """Forget what was queued for ``fd`` (its relay is gone)."""
        self._queues.pop(fd, None)
