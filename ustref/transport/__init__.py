"""ustref's one transport layer: Unix sockets, descriptors and child processes.

Everything that touches a real socket or starts a process goes through here;
the protocol cores (:mod:`ustref.protocol.conversation`) never do.

* :mod:`.framing` — lttcomm framing on ``AF_UNIX`` stream sockets:
  :func:`~.framing.send_all`, :func:`~.framing.recv_exact`,
  :func:`~.framing.recv_some` (one ``recvmsg`` with its descriptors),
  descriptors on their 1-byte carrier (:func:`~.framing.send_fds`,
  :func:`~.framing.recv_fds`), messages that own their descriptors
  (:func:`~.framing.hand_over`), :func:`~.framing.listen`,
  :func:`~.framing.connect`.
* :mod:`.argv` — the consumer daemon's command line
  (:class:`~.argv.ConsumerdOptions`, :class:`~.argv.ConsumerdArgv`,
  :func:`~.argv.redirect_argv`).
* :mod:`.startup` — the consumer's socket start-up from either side
  (:func:`~.startup.consumerd_side`, :func:`~.startup.sessiond_side`) and its
  health socket (:class:`~.startup.HealthSocket`).
* :mod:`.launcher` — the one process launcher (:class:`~.launcher.Child`).
* :mod:`.procname` — this process's name (:func:`~.procname.set_process_name`).

A consumer daemon sits on it like this (the machine decides, the transport moves)::

    from ustref.protocol.conversation import Conversation, Role, Socket

    args = ConsumerdArgv.parse(sys.argv[1:])      # what lttng-sessiond passed
    conv = Conversation(our_role=Role.CONSUMERD)
    ready = conv.send(Socket.ERROR, ErrorSocketCode(code=READY))
    sockets = consumerd_side(args, ready=ready)    # connect, report ready, accept twice
    got = recv_some(sockets.command)               # one recvmsg: bytes + real fds
    for event in conv.receive(Socket.COMMAND, got.data, got.fds):
        ...                                        # event.value, event.descriptors
    send_all(sockets.command, conv.send(Socket.COMMAND, status))
    send_all(sockets.command, conv.send(Socket.COMMAND, None, [fd]), [fd])  # fd carrier

Errors are :class:`~ustref.errors.TransportError` and
:class:`~ustref.errors.LaunchError`, never a bare :class:`OSError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ustref._lazy import lazy_getattr

if TYPE_CHECKING:
    from ustref.transport.argv import ConsumerdArgv, ConsumerdOptions, UsageError, redirect_argv
    from ustref.transport.framing import (
        FD_CARRIER,
        Received,
        close_fds,
        connect,
        hand_over,
        listen,
        recv_exact,
        recv_fds,
        recv_some,
        send_all,
        send_fds,
    )
    from ustref.transport.launcher import Child
    from ustref.transport.startup import HealthSocket, Sockets, consumerd_side, sessiond_side

__all__ = [
    "FD_CARRIER",
    "Child",
    "ConsumerdArgv",
    "ConsumerdOptions",
    "HealthSocket",
    "Received",
    "Sockets",
    "UsageError",
    "close_fds",
    "connect",
    "consumerd_side",
    "hand_over",
    "listen",
    "recv_exact",
    "recv_fds",
    "recv_some",
    "redirect_argv",
    "send_all",
    "send_fds",
    "sessiond_side",
]

__getattr__ = lazy_getattr(__name__, ("argv", "framing", "launcher", "startup"), __all__)
