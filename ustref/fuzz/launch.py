"""Start a real consumer daemon privately and do the session daemon's start-up exchange.

Mirrors what ``lttng-sessiond`` does (``spawn_consumerd`` / ``start_consumerd``,
src/bin/lttng-sessiond/main.c and manage-consumer.c @ v2.13.9): listen on an
error socket, spawn ``lttng-consumerd -u --consumerd-cmd-sock … --consumerd-err-sock …
--group tracing``, wait for the 4-byte ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``
on the error socket (``consumer_thread_sessiond_poll``, consumer.c), then
connect to the command socket twice: commands first, then the metadata socket
(``set_metadata_socket``).

Isolation: as root, the C consumer creates its health socket at the fixed
path ``/var/run/lttng/ustconsumerd64/health`` (``setup_health_path``,
health-consumerd.c) — where a real session daemon's consumer lives — and a
fuzzed command may name arbitrary paths (``pathname``, ``shm_path``). So the
consumer runs in a private mount namespace (``unshare -m``): a fresh tmpfs on
``/run/lttng``, ``/dev/shm`` and ``/tmp``, the work directory bind-mounted
writable, and everything else read-only. It is a direct child of this process
(``unshare`` and ``sh`` exec into it) and is killed by its pid only.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

#: Address-space limit of the consumer (bytes): a fuzzed channel size fails
#: cleanly instead of exhausting the shared machine.
ADDRESS_SPACE_LIMIT = 2 << 30

_SANDBOX = """set -e
mount -t tmpfs -o size=64m tmpfs /run/lttng
mkdir -p /run/lttng/ustconsumerd64 /run/lttng/.work
mount --bind "$USTREF_WORK" /run/lttng/.work
mount -t tmpfs -o size=256m tmpfs /dev/shm
mount -t tmpfs -o size=64m tmpfs /tmp
mkdir -p "$USTREF_WORK"
mount --bind /run/lttng/.work "$USTREF_WORK"
mount -o remount,bind,ro /
exec "$@"
"""

#: ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY`` (sessiond-comm.h).
SOCK_READY = 100


class LaunchError(Exception):
    """The consumer daemon could not be started or did not get ready."""


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Consumerd:
    """One private ``lttng-consumerd -u`` and the session daemon's three sockets."""

    def __init__(self, binary: str, work: Path, *, ready_timeout: float = 10.0) -> None:
        self.binary = binary
        self.work = work
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.command: socket.socket | None = None
        self.metadata: socket.socket | None = None
        self.error: socket.socket | None = None
        self.ready_code = b""
        self.log_path = work / "consumerd.log"

    def start(self) -> Consumerd:
        if shutil.which("unshare") is None:
            raise LaunchError("unshare(1) is needed to isolate the consumer daemon")
        self.work.mkdir(parents=True, exist_ok=True)
        err_path = self.work / "error"
        cmd_path = self.work / "command"
        for path in (err_path, cmd_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(err_path))
            listener.listen(1)
            listener.settimeout(self.ready_timeout)
            env = {
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "USTREF_WORK": str(self.work),
                "LTTNG_HOME": str(self.work),
                "HOME": str(self.work),
            }
            argv = [
                "unshare", "-m", "--propagation", "private", "sh", "-c", _SANDBOX, "sh",
                self.binary, "-u",
                "--consumerd-cmd-sock", str(cmd_path),
                "--consumerd-err-sock", str(err_path),
                "--group", "tracing",
            ]  # fmt: skip
            with self.log_path.open("wb") as log:
                self.proc = subprocess.Popen(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    preexec_fn=_limits,  # noqa: PLW1509  (no threads are started here)
                    close_fds=True,
                )
            try:
                self.error, _ = listener.accept()
            except TimeoutError:
                raise LaunchError(f"no connection on the error socket: {self.log_tail()}") from None
        finally:
            listener.close()
        self.error.settimeout(self.ready_timeout)
        self.ready_code = _recv_exact(self.error, 4)
        if int.from_bytes(self.ready_code.ljust(4, b"\0"), "little") != SOCK_READY:
            raise LaunchError(f"expected COMMAND_SOCK_READY, got {self.ready_code.hex()}")
        self.command = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.command.connect(str(cmd_path))
        self.metadata = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.metadata.connect(str(cmd_path))
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int | None:
        """The exit status (negative: signal) within ``timeout``, else ``None``."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, size: int = 2000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-size:].decode("utf-8", "replace")

    def stop(self) -> int | None:
        """Close our sockets, give the consumer a moment, then kill it by pid."""
        for sock in (self.command, self.metadata, self.error):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        status = None
        if self.proc is not None:
            status = self.wait(1.0)
            if status is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                status = self.wait(5.0)
        return status

    def __enter__(self) -> Consumerd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    deadline = time.monotonic() + (sock.gettimeout() or 10.0)
    while len(data) < count and time.monotonic() < deadline:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data
