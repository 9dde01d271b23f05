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
writable, and everything else read-only. What the consumer needs to start and that
lives under ``/tmp`` (a checkout or virtualenv there: the interpreter, the console
script, the ``ustref`` package) is bound back over the fresh ``/tmp``
(:func:`kept_under_tmp`). It is a direct child of this process
(``unshare`` and ``sh`` exec into it) and is killed by its pid only.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ustref.errors import LaunchError
from ustref.transport.argv import ConsumerdArgv
from ustref.transport.framing import listen
from ustref.transport.launcher import Child
from ustref.transport.startup import sessiond_side

__all__ = ["ADDRESS_SPACE_LIMIT", "Consumerd", "LaunchError", "command_words", "ustref_consumerd"]

#: Address-space limit of the consumer (bytes): a fuzzed channel size fails
#: cleanly instead of exhausting the shared machine.
ADDRESS_SPACE_LIMIT = 2 << 30

_SANDBOX = """set -e
IFS='
'
mount -t tmpfs -o size=64m tmpfs /run/lttng
mkdir -p /run/lttng/ustconsumerd64 /run/lttng/.work
mount --bind "$USTREF_WORK" /run/lttng/.work
i=0
for keep in $USTREF_KEEP; do
  mkdir -p "/run/lttng/.keep$i"; mount --bind "$keep" "/run/lttng/.keep$i"; i=$((i + 1))
done
mount -t tmpfs -o size=256m tmpfs /dev/shm
mount -t tmpfs -o size=64m tmpfs /tmp
i=0
for keep in $USTREF_KEEP; do
  mkdir -p "$keep"; mount --bind "/run/lttng/.keep$i" "$keep"; i=$((i + 1))
done
mkdir -p "$USTREF_WORK"
mount --bind /run/lttng/.work "$USTREF_WORK"
mount -o remount,bind,ro /
exec "$@"
"""


def command_words(binary: str | Sequence[str]) -> list[str]:
    """The words that start a consumer given as a path or as words."""
    return [binary] if isinstance(binary, str) else list(binary)


def ustref_consumerd() -> list[str]:
    """The words that start ustref-consumerd: the console script installed beside this
    Python, else this Python running the package."""
    script = Path(sys.executable).parent / "ustref-consumerd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ustref.consumerd"]


def kept_under_tmp(words: Sequence[str]) -> list[str]:
    """The top directories under ``/tmp`` that hold what starting the consumer needs:
    its program (``words[0]``), this interpreter's prefixes and the ``ustref``
    package (an editable install reads its sources there). The sandbox's fresh
    ``/tmp`` would hide them."""
    import ustref

    needed = [Path(words[0]), Path(sys.prefix), Path(sys.base_prefix)]
    needed.append(Path(ustref.__file__).parent)
    tops: list[str] = []
    for path in needed:
        for candidate in {path.absolute(), path.resolve()}:
            parts = candidate.parts
            if len(parts) > 2 and parts[:2] == ("/", "tmp"):
                top = str(Path(*parts[:3]))
                if top not in tops:
                    tops.append(top)
    return tops


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Consumerd:
    """One private ``lttng-consumerd -u`` and the session daemon's three sockets."""

    def __init__(
        self, binary: str | Sequence[str], work: Path, *, ready_timeout: float = 10.0
    ) -> None:
        self.binary = binary
        """The consumer's path, or the words that start it (an interpreter and a script)."""
        self.work = work
        self.ready_timeout = ready_timeout
        self.child: Child | None = None
        self.command: socket.socket | None = None
        self.metadata: socket.socket | None = None
        self.error: socket.socket | None = None
        self.log_path = work / "consumerd.log"

    def start(self) -> Consumerd:
        if shutil.which("unshare") is None:
            raise LaunchError("unshare(1) is needed to isolate the consumer daemon")
        self.work.mkdir(parents=True, exist_ok=True)
        args = ConsumerdArgv(cmd_sock=str(self.work / "command"), err_sock=str(self.work / "error"))
        with contextlib.suppress(FileNotFoundError):
            Path(args.cmd_sock).unlink()
        words = command_words(self.binary)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "USTREF_WORK": str(self.work),
            "USTREF_KEEP": "\n".join(kept_under_tmp(words)),
            "LTTNG_HOME": str(self.work),
            "HOME": str(self.work),
        }
        # sh runs the sandbox script with "$@" = the consumer's argv, argv[0] the binary.
        sandbox = ["unshare", "-m", "--propagation", "private", "sh", "-c", _SANDBOX, "sh"]
        listener = listen(args.err_sock, 1)
        try:
            self.child = Child.spawn(
                [*sandbox, *words, *args.words()[1:]],
                env=env,
                log=self.log_path,
                setup=_limits,
            )
            sockets = sessiond_side(
                listener, args.cmd_sock, self.ready_timeout, why=f"; log: {self.log_tail()}"
            )
        finally:
            listener.close()
        self.error, self.command, self.metadata = sockets.error, sockets.command, sockets.metadata
        return self

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()

    def wait(self, timeout: float) -> int | None:
        """The exit status (negative: signal) within ``timeout``, else ``None``."""
        return self.child.wait(timeout) if self.child is not None else None

    def log_tail(self, size: int = 2000) -> str:
        return self.child.log_tail(size) if self.child is not None else ""

    def stop(self) -> int | None:
        """Close our sockets, give the consumer a moment, then kill it by pid."""
        for sock in (self.command, self.metadata, self.error):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        if self.child is None:
            return None
        status, _killed = self.child.stop(1.0, first=None)
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
