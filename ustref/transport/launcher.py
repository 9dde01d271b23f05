"""The one process launcher: a child we start, own, wait on and stop by pid.

PID 1 on the machines this project runs on does not reap orphans, so every
daemon ustref starts (a session daemon, a real or a recording consumer
daemon) is a direct child it waits on. :class:`Child` wraps
:class:`subprocess.Popen` with what the capture wrapper, the fuzzer and the
session-daemon harness need: output into a log file, a parent-death signal
(``prctl(PR_SET_PDEATHSIG)``), resource limits, a new session, waiting with
a timeout, and stopping by pid (SIGTERM, then SIGKILL). Failing to start is
a :class:`~ustref.errors.LaunchError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ustref.errors import LaunchError
from ustref.libc import libc

__all__ = ["Child", "become_subreaper", "which"]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def which(name: str) -> Path | None:
    """``name`` on PATH or beside the running interpreter (a venv's console scripts,
    e.g. ``ustref-consumerd``, when the venv is not on PATH)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    return Path(found) if found else None


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants
    (``PR_SET_CHILD_SUBREAPER``); whether the kernel accepted it."""
    try:
        return int(libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _preexec(
    death_signal: signal.Signals | None, setup: Callable[[], None] | None
) -> Callable[[], None] | None:
    """The ``preexec_fn``: libc is loaded here, in the parent, so that the forked
    child only calls ``prctl`` (and ``setup``), taking no lock."""
    if death_signal is None and setup is None:
        return None
    prctl = libc().prctl if death_signal is not None else None
    signum = int(death_signal) if death_signal is not None else 0

    def run_in_child() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if setup is not None:
            setup()

    return run_in_child


class Child:
    """One child process: start it with :meth:`spawn`, stop it with :meth:`stop`.

    ``log``: a file that gets the child's stdout and stderr (appended);
    ``None`` leaves them as ours. ``death_signal``: what the child gets when
    the thread that started it dies. ``setup``: run in the child before
    ``exec`` (e.g. ``setrlimit``); it must take no lock (start children before
    threads). ``executable`` overrides ``argv[0]`` as the program run.
    """

    def __init__(self, proc: subprocess.Popen[bytes], argv: Sequence[str], log: Path | None):
        self.proc = proc
        self.argv = tuple(argv)
        self.log = log

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        *,
        executable: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log: Path | None = None,
        death_signal: signal.Signals | None = None,
        setup: Callable[[], None] | None = None,
        new_session: bool = False,
    ) -> Child:
        preexec = _preexec(death_signal, setup)
        try:
            with contextlib.ExitStack() as stack:
                out = stack.enter_context(log.open("ab")) if log is not None else None
                proc = subprocess.Popen(
                    list(argv),
                    executable=executable,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL if log is not None else None,
                    stdout=out,
                    stderr=subprocess.STDOUT if out is not None else None,
                    start_new_session=new_session,
                    close_fds=True,
                    preexec_fn=preexec,  # noqa: PLW1509 - only prctl/setrlimit in the child
                )
        except (OSError, subprocess.SubprocessError) as exc:
            raise LaunchError(f"cannot start: {exc}", argv=tuple(argv)) from None
        return cls(proc, argv, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def status(self) -> int | None:
        """The exit status once reaped (negative: the signal that killed it)."""
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status within ``timeout`` (``None``: forever), else ``None``."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to this child, by pid, if it has not been reaped."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signum)

    def stop(self, grace: float, *, first: int | None = signal.SIGTERM) -> tuple[int, bool]:
        """Send ``first`` (``None``: nothing, e.g. after closing its sockets), wait
        ``grace`` seconds, then SIGKILL; return (exit status, whether it was killed)."""
        if first is not None:
            self.send_signal(first)
        status = self.wait(grace)
        if status is not None:
            return status, False
        self.send_signal(signal.SIGKILL)
        return self.proc.wait(), True

    def log_tail(self, size: int = 2000) -> str:
        """The last ``size`` bytes of the log, as text."""
        if self.log is None:
            return ""
        try:
            with self.log.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""
