"""ustref-consumerd up to ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``: the socket paths,
the health socket and the start-up itself, before the daemon imports its core.

lttng-consumerd.c (lttng-tools v2.13.9) starts its threads and
``consumer_thread_sessiond_poll`` (consumer.c) says ready as soon as the command
socket listens. ustref does the same steps (:func:`start_up`, steps 1–5 of
:mod:`ustref.consumerd.loop`) with only this module, the argv parser and
:mod:`ustref.transport.startup` imported; :mod:`ustref.consumerd.cli` imports the
core, the handlers and the ring-buffer backends after it (a command that arrives
meanwhile waits in the socket, as it would for a busy C consumer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ustref.consumerd import testpoint
from ustref.transport.argv import ConsumerdArgv
from ustref.transport.startup import HealthSocket, Sockets, consumerd_side

__all__ = [
    "HEALTH_MSG_SIZE",
    "HEALTH_PATH_ENV",
    "HEALTH_REPLY",
    "Paths",
    "Started",
    "health_path",
    "health_socket",
    "start_up",
]

HEALTH_MSG_SIZE = 4
"""``sizeof(struct health_comm_msg)`` (``uint32_t cmd``, packed)."""
HEALTH_REPLY = bytes(8)
"""``struct health_comm_reply`` with ``ret_code`` 0: every thread is healthy."""

HEALTH_PATH_ENV = "USTREF_CONSUMERD_HEALTH_SOCK"
"""ustref extension: where to bind the health socket instead of the C default
(tests run beside a real consumer that owns the default path)."""


@dataclass(frozen=True)
class Paths:
    """The consumer's socket paths (lttng-consumerd.c options, defaults.h)."""

    command: str
    error: str
    health: str


def health_path() -> str:
    """``setup_health_path()`` (health-consumerd.c) for the 64-bit UST consumer."""
    override = os.environ.get(HEALTH_PATH_ENV)
    if override:
        return override
    if os.getuid() == 0:
        return "/var/run/lttng/ustconsumerd64/health"
    home = os.environ.get("LTTNG_HOME") or os.environ.get("HOME") or "/"
    return f"{home}/.lttng/ustconsumerd64/health"


def health_socket(path: str) -> HealthSocket:
    """The health socket of ``thread_manage_health`` (health-consumerd.c): queries of
    :data:`HEALTH_MSG_SIZE` bytes, answered :data:`HEALTH_REPLY`; ``0660`` when root."""
    return HealthSocket(
        path, HEALTH_MSG_SIZE, HEALTH_REPLY, mode=0o660 if os.getuid() == 0 else None
    )


@dataclass
class Started:
    """What :func:`start_up` opened, for :class:`ustref.consumerd.loop.Shell` to serve."""

    sockets: Sockets
    health: HealthSocket
    """Open: the shell goes on answering it."""
    pause_pipe: testpoint.PausePipe | None
    """The ``consumerd_thread_data`` testpoint's pipe, under LTTng's tests only."""


def start_up(paths: Paths) -> Started:
    """The testpoint pipe when LTTng's tests ask for it (C's data thread makes it when
    it starts, before the session thread says ready), then steps 1–5: connect the
    error socket, listen on the health and the command sockets, send
    ``COMMAND_SOCK_READY``, accept the command then the metadata connection (health
    queries answered meanwhile).

    lttng-consumerd.c: "Cannot connect to error socket (is lttng-sessiond
    started?)" is a ``TransportError("connect", …)`` from here; on any failure the
    pipe is removed again."""
    pause_pipe = testpoint.open_from_env(os.environ)
    health = health_socket(paths.health)
    try:
        sockets = consumerd_side(
            ConsumerdArgv(cmd_sock=paths.command, err_sock=paths.error), health=health
        )
    except BaseException:
        if pause_pipe is not None:
            pause_pipe.close()
        raise
    return Started(sockets, health, pause_pipe)
