"""Before any LTTng script: does the chosen consumer start and connect at all?

A consumer that exits at once would leave every script's session daemon
waiting for it until the stall timeout (600 s by default) stops the script.
:func:`check_consumer_connects` starts the consumer as a session daemon would
(``-u --consumerd-cmd-sock … --consumerd-err-sock …``, sockets in a private
directory), with its error socket listened on here, and fails within seconds
if the consumer exits before connecting to it. The consumer is then stopped
(by its pid: it is our child). It runs under the machine's LTTng lock
(:func:`~ustref.conformance.run.machine_lock`): a consumer run as root binds
the global health socket, which a session daemon's consumer elsewhere on the
machine uses.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ustref.conformance.prepare import PrepareError
from ustref.conformance.run import machine_lock
from ustref.lttng.sessiond import DEFAULT_LOCK_PATH

__all__ = ["CONNECT_TIMEOUT", "check_consumer_connects"]

CONNECT_TIMEOUT = 10.0
"""Seconds the consumer has to connect its error socket (a slow one is let through)."""

_STOP_TIMEOUT = 5.0


def check_consumer_connects(
    path: str, *, timeout: float = CONNECT_TIMEOUT, lock_path: Path = DEFAULT_LOCK_PATH
) -> bool:
    """Start ``path`` as a UST consumer daemon; ``True`` once it connects its error
    socket, ``False`` if it is still alive but silent after ``timeout`` seconds.

    Raises :class:`~ustref.conformance.prepare.PrepareError` ("the consumer exited
    before connecting") when it exits first.
    """
    with (
        machine_lock(lock_path, note=print),
        tempfile.TemporaryDirectory(prefix="ustref-preflight-") as tmp,
    ):
        err_path = Path(tmp) / "error"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with listener:
            listener.bind(str(err_path))
            listener.listen(1)
            argv = [
                path,
                "-u",
                "--consumerd-cmd-sock",
                str(Path(tmp) / "command"),
                "--consumerd-err-sock",
                str(err_path),
            ]
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                    env={**os.environ, "LTTNG_HOME": tmp},
                )
            except OSError as exc:
                raise PrepareError(f"the consumer {path} cannot be started: {exc}") from exc
            try:
                return _wait_for_connection(proc, listener, path, timeout)
            finally:
                _stop(proc)


def _wait_for_connection(
    proc: subprocess.Popen[bytes], listener: socket.socket, path: str, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([listener], [], [], 0.05)
        if ready:
            conn, _ = listener.accept()
            conn.close()
            return True
        status = proc.poll()
        if status is not None:
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            raise PrepareError(
                f"the consumer exited before connecting (exit status {status}): {path}"
                + (f": {tail}" if tail else "")
            )
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr is not None:
        with contextlib.suppress(OSError):
            proc.stderr.close()
