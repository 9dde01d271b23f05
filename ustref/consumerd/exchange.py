"""The vocabulary between ustref-consumerd's core, its handlers and its shell.

* **Actions** (:data:`Action`): what the core wants done in the world. The core
  only queues them (:meth:`ustref.consumerd.state.ConsumerState.take_actions`);
  the shell (:mod:`ustref.consumerd.loop`, through :mod:`ustref.consumerd.effects`)
  performs them, in order.
* **Requests** (:data:`Request`): actions whose result a handler needs (the fds of
  new shm objects, a pipe, the address family of a received socket's peer). A handler
  *yields* one; the shell performs it and answers
  :meth:`ustref.consumerd.core.Core.complete` with a :class:`Received` carrying the
  new fds or the bytes asked for (or the ``OSError`` it met, thrown into the handler).
* **Waits** (:class:`Need`, :class:`Acquire`, :class:`Release`): a handler
  generator yields them to wait for bytes/fds on a socket it holds, to take the
  exchange slot of another socket (the metadata socket, later a relay daemon's
  control socket), or to give it back.

This module imports nothing of the core or the handlers, so both can import it.
"""

from __future__ import annotations

import enum
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ustref.consumerd.ring_backend import UstChannel, UstStream


class HandedOverStream(Protocol):
    """What the hand-over needs of a stream (a :class:`~ustref.consumerd.registry.Stream`)."""

    @property
    def ust(self) -> UstStream: ...


class HandedOverChannel(Protocol):
    """What the hand-over needs of a channel (a :class:`~ustref.consumerd.registry.Channel`;
    named by this protocol so that this module imports nothing of the registry, whose
    streams hold relay outputs that use this vocabulary)."""

    @property
    def ust(self) -> UstChannel: ...

    @property
    def streams(self) -> Sequence[HandedOverStream]: ...


class Sock(enum.Enum):
    """The consumer's sockets to the session daemon, each with its own exchange slot
    (each relay daemon's control socket has its own too: :class:`RelaydSock`)."""

    COMMAND = "command"
    METADATA = "metadata"
    ERROR = "error"


@dataclass(frozen=True)
class RelaydSock:
    """The control socket of the relay daemon connection ``net_index`` (the
    ``control_sock`` of ``struct consumer_relayd_sock_pair``, consumer.h): a peer with
    its own exchange slot, so a stalled relay delays only the exchanges that talk to
    it. Its data socket is not a slot: nothing is ever read from it
    (:class:`SendRelaydData`)."""

    net_index: int

    @property
    def value(self) -> str:
        """Named like :class:`Sock` members in messages."""
        return f"relayd {self.net_index} control"


Peer = Sock | RelaydSock
"""Any socket with an exchange slot."""


# -- actions: fire and forget -----------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Write ``data`` (with ``fds`` as SCM_RIGHTS) on ``sock``."""

    sock: Peer
    data: bytes
    fds: tuple[int, ...] = ()


@dataclass(frozen=True)
class SendRelaydData:
    """Write ``parts`` (each a ``lttcomm_relayd_data_hdr`` and a packet's content) on
    the data socket of relay daemon connection ``net_index`` (the data half of
    ``lttng_consumer_on_read_subbuffer_mmap``'s relay branch, consumer.c), in order,
    gathered (one ``sendmsg``, no joined copy). The shell sends them whole: nothing
    is read back on a data socket."""

    net_index: int
    parts: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        """All the bytes, joined."""
        return b"".join(self.parts)


@dataclass(frozen=True)
class Handover:
    """The GET_CHANNEL ust-ctl hand-over of ``channel`` and its streams on the command
    socket (``send_channel_to_sessiond_and_relayd`` after its first status)."""

    channel: HandedOverChannel


@dataclass(frozen=True)
class WriteMonitor:
    """Write one ``lttcomm_consumer_channel_monitor_msg`` sample to the monitor pipe
    ``fd`` (``monitor_timer``, consumer-timer.c); a full pipe drops it, as in C."""

    fd: int
    data: bytes


@dataclass(frozen=True)
class SetNonBlocking:
    """``fcntl(fd, F_SETFL, O_NONBLOCK)`` (SET_CHANNEL_MONITOR_PIPE's case of
    ``lttng_ustconsumer_recv_cmd``)."""

    fd: int


@dataclass(frozen=True)
class RemoveShmFiles:
    """``lttng_ustconsumer_del_channel`` / ``_free_channel``: unlink ``<shm_path><cpu>`` for ``cpu <
    nr``, then the empty directories under ``root_shm_path``."""

    nr: int
    shm_path: str
    root_shm_path: str


@dataclass(frozen=True)
class ReleaseMemory:
    """Give the memory freed since the last release back to the system: collect the
    garbage cycles, then ``malloc_trim(0)``. No C counterpart: the C consumer frees
    with ``free()``, and glibc returns the heap's free top at once (its trim
    threshold); CPython keeps the pools it freed, and glibc the free pages amid its
    heap, until asked. Queued after the start-up, after a channel went and after
    ``CLOSE_TRACE_CHUNK`` (:meth:`~ustref.consumerd.state.ConsumerState.memory_freed`),
    at most once per :data:`~ustref.consumerd.state.RELEASE_MEMORY_INTERVAL`."""


# -- requests: actions with a result ---------------------------------------------------


@dataclass(frozen=True, eq=False)
class OpenStreamFds:
    """``open_ust_stream_fd`` for CPUs ``0 .. nr-1``:
    anonymous shm objects, or ``<shm_path><cpu>`` files owned by ``owner``.
    Answered with the fds."""

    nr: int
    shm_path: str
    owner: tuple[int, int] | None


@dataclass(frozen=True, eq=False)
class CreatePipe:
    """``pipe2(O_CLOEXEC | O_NONBLOCK)``: a metadata stream's ``ust_metadata_poll_pipe``
    (``create_ust_streams``). Answered with (read, write) fds."""


@dataclass(frozen=True, eq=False)
class PeerFamily:
    """``getpeername(fd)`` on a received relay daemon socket
    (``lttcomm_populate_sock_from_open_socket``, sessiond-comm.c): the address family
    of its peer. Answered with ``ss_family`` in ``data`` (2 bytes, little-endian), or
    the ``OSError`` ``getpeername`` met (a descriptor that is not a socket: ENOTSOCK;
    a socket that is not connected: ENOTCONN)."""

    fd: int


Request = OpenStreamFds | CreatePipe | PeerFamily
Action = (
    Send
    | SendRelaydData
    | Handover
    | WriteMonitor
    | SetNonBlocking
    | RemoveShmFiles
    | ReleaseMemory
    | Request
)


# -- waits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """Yielded by a handler: ``nbytes`` bytes and ``nfds`` fds from ``sock`` (a socket
    whose slot the handler holds: the command socket, or the metadata socket after
    :class:`Acquire`)."""

    nbytes: int
    nfds: int = 0
    sock: Peer = Sock.COMMAND


@dataclass(frozen=True)
class Acquire:
    """Yielded by a handler: take ``sock``'s exchange slot (wait in its queue while
    another exchange holds it). Held until :class:`Release` or the handler's end."""

    sock: Peer


@dataclass(frozen=True)
class Release:
    """Yielded by a handler: give ``sock``'s slot back to the next one queued."""

    sock: Peer


@dataclass(frozen=True)
class Received:
    """What a handler gets back for a :class:`Need` (the bytes and fds), a request
    (its fds) or an :class:`Acquire`/:class:`Release` (nothing)."""

    data: bytes = b""
    fds: tuple[int, ...] = ()


Wait = Need | Acquire | Release | Request
HandlerGen = Generator[Wait, Received, None]
"""A handler that waits: it yields :data:`Wait` and gets a :class:`Received` back."""
