"""Drive a real root ``lttng-sessiond`` as a direct child of this process.

The daemon is started with :class:`subprocess.Popen` and *without*
``--daemonize``: on the machines this project runs on, PID 1 does not reap
orphans, so a daemonized session daemon that is killed stays behind as a zombie
that ``pgrep`` still matches. As our child, it is reaped by us.

Only one root session daemon can run on a machine at a time (as root the run
directory is ``/var/run/lttng`` whatever ``LTTNG_HOME`` says), so
:class:`SessionDaemon` holds an exclusive :func:`fcntl.flock` on
:data:`DEFAULT_LOCK_PATH` for the daemon's lifetime: concurrent test processes
wait for each other instead of colliding. A session daemon that is alive and not
ours is refused with :class:`SessiondConflictError`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ustref.errors import LaunchError, UstrefError
from ustref.transport.launcher import Child, become_subreaper

__all__ = [
    "DEFAULT_LOCK_PATH",
    "LttngCommandError",
    "LttngError",
    "ProcessInfo",
    "SessionDaemon",
    "SessiondConflictError",
    "become_subreaper",
    "descendants",
    "find_sessiond_processes",
    "parse_discarded_events",
    "process_info",
]

DEFAULT_LOCK_PATH = Path("/tmp/ustref-sessiond.lock")
"""The lock every :class:`SessionDaemon` of this machine serialises on."""

_POLL_INTERVAL = 0.02
_LOG_TAIL_LINES = 40


class LttngError(UstrefError):
    """The real LTTng stack failed: a daemon would not start, was not ready in
    time, or a command or tool exited with an error."""


class LttngCommandError(LttngError):
    """A command (``lttng``, ``babeltrace2``, ``gcc``, an app) exited non-zero or timed out.

    ``returncode`` is ``None`` when the command timed out.
    """

    def __init__(
        self,
        reason: str,
        *,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        log_tail: str = "",
    ) -> None:
        self.reason = reason
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.log_tail = log_tail
        parts = [f"{reason}: {' '.join(self.argv)}"]
        if stderr.strip():
            parts.append(f"stderr:\n{stderr.rstrip()}")
        elif stdout.strip():
            parts.append(f"stdout:\n{stdout.rstrip()}")
        if log_tail.strip():
            parts.append(f"session daemon log (tail):\n{log_tail.rstrip()}")
        super().__init__("\n".join(parts))


class SessiondConflictError(LttngError):
    """Another root ``lttng-sessiond`` that is not ours is alive on this machine."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = tuple(pids)
        listed = ", ".join(str(pid) for pid in self.pids)
        super().__init__(
            f"another lttng-sessiond is already running (pid {listed}); "
            "only one root session daemon can run at a time: stop it first"
        )


@dataclass(frozen=True)
class ProcessInfo:
    """What ``/proc/<pid>/stat`` says of a process.

    ``starttime`` (clock ticks after boot) tells a process from a later one that
    reuses its pid.
    """

    pid: int
    comm: str
    state: str
    ppid: int
    starttime: int

    @property
    def is_zombie(self) -> bool:
        return self.state in ("Z", "X")


def process_info(pid: int) -> ProcessInfo | None:
    """Read ``/proc/<pid>/stat``; ``None`` when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may hold spaces and parentheses: it ends at the last ')'.
    open_paren = raw.find("(")
    close_paren = raw.rfind(")")
    if open_paren < 0 or close_paren < 0:
        return None
    rest = raw[close_paren + 2 :].split()
    # rest[0] is field 3 (state); field n is rest[n - 3].
    if len(rest) < 20:
        return None
    return ProcessInfo(
        pid=pid,
        comm=raw[open_paren + 1 : close_paren],
        state=rest[0],
        ppid=int(rest[1]),
        starttime=int(rest[19]),
    )


def _proc_uid(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return None


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (any thread's), via ``/proc/<pid>/task/*/children``.

    Falls back to scanning every ``/proc/*/stat`` for the parent pid when the
    kernel has no ``children`` files.
    """
    task_dir = Path(f"/proc/{pid}/task")
    found: list[int] = []
    saw_children_file = False
    try:
        tasks = list(task_dir.iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    for task in tasks:
        try:
            text = (task / "children").read_text(encoding="ascii")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        saw_children_file = True
        found.extend(int(word) for word in text.split())
    if saw_children_file:
        return sorted(set(found))
    children = []
    for other in _all_pids():
        info = process_info(other)
        if info is not None and info.ppid == pid:
            children.append(other)
    return children


def descendants(pid: int) -> list[ProcessInfo]:
    """Every live descendant of ``pid`` (children, grandchildren, …), parents first."""
    result: list[ProcessInfo] = []
    seen: set[int] = set()
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for child in _children(parent):
            if child in seen or child == pid:
                continue
            seen.add(child)
            info = process_info(child)
            if info is None:
                continue
            result.append(info)
            queue.append(child)
    return result


def find_sessiond_processes(*, uid: int | None = 0) -> list[ProcessInfo]:
    """Live (non-zombie) ``lttng-sessiond`` processes, of ``uid`` unless it is ``None``.

    Matching by name is for *detection* only: nothing here kills by name.
    """
    found = []
    for pid in _all_pids():
        info = process_info(pid)
        if info is None or info.comm != "lttng-sessiond" or info.is_zombie:
            continue
        if uid is not None and _proc_uid(pid) != uid:
            continue
        found.append(info)
    return found


def _same_process(info: ProcessInfo) -> bool:
    """``info`` still names a live, non-zombie process (not a pid reused since)."""
    now = process_info(info.pid)
    return now is not None and now.starttime == info.starttime and not now.is_zombie


def _reap(info: ProcessInfo) -> None:
    """Collect ``info`` if it is a zombie child of ours (we are its subreaper)."""
    now = process_info(info.pid)
    if (
        now is not None
        and now.starttime == info.starttime
        and now.is_zombie
        and now.ppid == os.getpid()
    ):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.pid, os.WNOHANG)


def _kill(info: ProcessInfo, sig: signal.Signals) -> None:
    if info.pid <= 1 or not _same_process(info):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, sig)


def _settled(info: ProcessInfo) -> bool:
    """``info`` is gone for good: exited and reaped, or a zombie nobody of ours can reap.

    A zombie whose parent is still there is not settled yet: the parent reaps it
    or dies, and then it is reparented to us (the subreaper) and we reap it.
    """
    _reap(info)
    now = process_info(info.pid)
    if now is None or now.starttime != info.starttime:
        return True
    if not now.is_zombie:
        return False
    # Init here never reaps; any other parent (ourselves included, after the
    # _reap above) will reap it or die and hand it to us.
    return now.ppid == 1 or process_info(now.ppid) is None


def _wait_gone(infos: Sequence[ProcessInfo], timeout: float) -> list[ProcessInfo]:
    """Wait until every one of ``infos`` has exited and, if it was ours to, been reaped;
    return those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    pending = [info for info in infos if not _settled(info)]
    while pending and time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL)
        pending = [info for info in pending if not _settled(info)]
    return [info for info in pending if _same_process(info)]


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_LIST_CHANNEL = re.compile(r"^- (?P<name>\S+): \[(?:enabled|disabled)\]")
_LIST_DISCARDED = re.compile(r"^\s*Discarded events:\s*(?P<count>\d+)\s*$")


def parse_discarded_events(listing: str) -> dict[str, int]:
    """Channel name → "Discarded events" in the Statistics of ``lttng list SESSION``
    (lttng-tools 2.13's text output, one block per channel of each domain; the
    session daemon asks the consumer for the count)."""
    found: dict[str, int] = {}
    channel: str | None = None
    for line in listing.splitlines():
        if (match := _LIST_CHANNEL.match(line)) is not None:
            channel = match["name"]
        elif channel is not None and (match := _LIST_DISCARDED.match(line)) is not None:
            found[channel] = found.get(channel, 0) + int(match["count"])
    return found


class SessionDaemon:
    """A root ``lttng-sessiond --no-kernel``, our direct child, as a context manager.

    ``extra_args`` are appended to the daemon's argv (e.g.
    ``--consumerd64-path=PATH``); ``env`` is laid over :data:`os.environ` for
    the daemon and for every command run through :meth:`run` and
    :meth:`run_lttng`. ``LTTNG_HOME`` is a private directory under ``workdir``
    (a new temporary directory, removed on :meth:`stop`, unless given) so that
    configuration and default trace outputs do not collide. The daemon's
    stdout and stderr go to ``workdir/sessiond.log``.

    With ``die_with_parent`` (the default) the daemon gets SIGTERM if the thread
    that started it dies, so a killed test run leaves no live root daemon behind;
    start it from a thread that outlives it (the main thread). With
    ``subreaper`` (the default) :meth:`start` makes this process the reaper of
    its orphaned descendants (see :func:`become_subreaper`), so that consumer
    daemons orphaned by a killed session daemon are reaped too, not left as
    zombies.
    """

    def __init__(
        self,
        *,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        workdir: Path | None = None,
        sessiond: str = "lttng-sessiond",
        lttng: str = "lttng",
        ready_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        lock_path: Path | None = DEFAULT_LOCK_PATH,
        lock_timeout: float = 300.0,
        die_with_parent: bool = True,
        subreaper: bool = True,
    ) -> None:
        self.extra_args = tuple(extra_args)
        self.sessiond = sessiond
        self.lttng = lttng
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.lock_path = lock_path
        self.lock_timeout = lock_timeout
        self.die_with_parent = die_with_parent
        self.subreaper = subreaper
        self._env_overlay = dict(env or {})
        self._given_workdir = workdir
        self._workdir: Path | None = None
        self._proc: Child | None = None
        self._lock_fd: int | None = None
        self._children_seen: dict[int, ProcessInfo] = {}
        self.startup_seconds: float | None = None
        """How long the last :meth:`start` waited for ``lttng list`` to succeed."""

    # ------------------------------------------------------------------ paths

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise LttngError("the session daemon has not been started")
        return self._workdir

    @property
    def home(self) -> Path:
        """The daemon's private ``LTTNG_HOME``."""
        return self.workdir / "home"

    @property
    def log_path(self) -> Path:
        return self.workdir / "sessiond.log"

    @property
    def env(self) -> dict[str, str]:
        """The full environment of the daemon, its clients and traced apps."""
        env = dict(os.environ)
        env.update(self._env_overlay)
        env["LTTNG_HOME"] = str(self.home)
        return env

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise LttngError("the session daemon is not running")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the daemon's log."""
        if self._workdir is None:
            return ""
        return _tail(self.log_path, lines)

    def children(self) -> list[ProcessInfo]:
        """Live descendants of the daemon (consumer daemons, run-as workers)."""
        if not self.running:
            return []
        return descendants(self.pid)

    def consumerd_pids(self) -> list[int]:
        """Pids of the live ``lttng-consumerd`` processes the daemon spawned."""
        return [info.pid for info in self.children() if info.comm == "lttng-consumerd"]

    # -------------------------------------------------------------- lifecycle

    def __enter__(self) -> SessionDaemon:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Take the machine lock, start the daemon and wait until it answers."""
        if self._proc is not None:
            raise LttngError("the session daemon is already started")
        self._acquire_lock()
        try:
            self._check_no_other_sessiond()
            if self.subreaper:
                become_subreaper()
            self._make_workdir()
            self._spawn()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the daemon and every process it spawned; release the lock.

        SIGTERM, then SIGKILL after ``stop_timeout``. The consumer daemons are
        the daemon's children and it reaps them when it exits normally; if it
        had to be killed they are killed by pid. Safe to call more than once.
        """
        try:
            if self._proc is not None:
                self._stop_process(self._proc)
        finally:
            self._proc = None
            self._children_seen.clear()
            self._cleanup_workdir()
            self._release_lock()

    def kill(self, timeout: float = 30.0) -> list[ProcessInfo]:
        """SIGKILL the session daemon, as a machine's OOM killer would, and wait up to
        ``timeout`` seconds for the consumer daemons it leaves behind to exit on their
        own (their command socket hangs up); return those still running.

        The daemon is reaped and the lock kept until :meth:`stop`, which then kills
        what is left, by pid."""
        if self._proc is None:
            raise LttngError("the session daemon is not started")
        self._remember_children()
        kids = list(self._children_seen.values())
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()
        return _wait_gone(kids, timeout)

    def _acquire_lock(self) -> None:
        if self.lock_path is None:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise LttngError(f"cannot lock {self.lock_path}: {exc}") from exc
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LttngError(
                    f"another session daemon user held {self.lock_path} "
                    f"for more than {self.lock_timeout:g} s"
                )
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is None:
            return
        fd, self._lock_fd = self._lock_fd, None
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _check_no_other_sessiond(self) -> None:
        if os.geteuid() != 0:
            # A non-root daemon's run directory is under its private LTTNG_HOME.
            return
        others = find_sessiond_processes(uid=0)
        if others:
            raise SessiondConflictError([info.pid for info in others])

    def _make_workdir(self) -> None:
        if self._given_workdir is not None:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self._workdir = self._given_workdir
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="ustref-sessiond-"))
        self.home.mkdir(exist_ok=True)

    def _cleanup_workdir(self) -> None:
        if self._workdir is not None and self._given_workdir is None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    def _spawn(self) -> None:
        argv = [self.sessiond, "--no-kernel", *self.extra_args]
        try:
            self._proc = Child.spawn(
                argv,
                env=self.env,
                cwd=self.workdir,
                log=self.log_path,
                new_session=True,
                death_signal=signal.SIGTERM if self.die_with_parent else None,
            )
        except LaunchError as exc:
            raise LttngError(f"cannot start {' '.join(argv)}: {exc.reason}") from None

    def _wait_ready(self) -> None:
        """Poll ``lttng list`` until it succeeds, the daemon dies, or the deadline."""
        assert self._proc is not None
        start = time.monotonic()
        deadline = start + self.ready_timeout
        argv = [self.lttng, "--no-sessiond", "list"]
        last = ""
        while True:
            if not self._proc.alive():
                status = self._proc.status
                raise LttngError(
                    f"lttng-sessiond exited with status {status} during start-up\n"
                    f"session daemon log (tail):\n{self.log_tail()}"
                )
            try:
                probe = subprocess.run(
                    argv,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=max(1.0, deadline - time.monotonic()),
                    check=False,
                )
            except subprocess.TimeoutExpired:
                probe = None
            if probe is not None and probe.returncode == 0:
                self.startup_seconds = time.monotonic() - start
                self._remember_children()
                return
            if probe is not None:
                last = probe.stderr.strip() or probe.stdout.strip()
            if time.monotonic() >= deadline:
                raise LttngError(
                    f"lttng-sessiond (pid {self._proc.pid}) not ready after "
                    f"{self.ready_timeout:g} s; last `lttng list`: {last}\n"
                    f"session daemon log (tail):\n{self.log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)

    def _remember_children(self) -> None:
        if self._proc is None or not self._proc.alive():
            return
        for info in descendants(self._proc.pid):
            self._children_seen[info.pid] = info

    def _stop_process(self, proc: Child) -> None:
        if proc.alive():
            self._remember_children()
        kids = list(self._children_seen.values())
        _status, killed = proc.stop(self.stop_timeout)
        if killed:
            for info in kids:
                _kill(info, signal.SIGKILL)
            _wait_gone(kids, self.stop_timeout)
            return
        # A normal exit reaps the consumer daemons; whatever outlived it is
        # an orphan now: ask it, then force it, by pid.
        left = _wait_gone(kids, 2.0)
        for info in left:
            _kill(info, signal.SIGTERM)
        left = _wait_gone(left, self.stop_timeout)
        for info in left:
            _kill(info, signal.SIGKILL)
        _wait_gone(left, self.stop_timeout)

    # --------------------------------------------------------------- commands

    def run(
        self,
        *argv: str | os.PathLike[str],
        timeout: float = 60.0,
        check: bool = True,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run any program (a traced app, a tool) in the daemon's environment.

        ``env`` is laid over :attr:`env`. With ``check``, a non-zero exit or a
        timeout raises :class:`LttngCommandError` carrying stderr and the
        daemon's log tail.
        """
        words = [os.fspath(arg) for arg in argv]
        full_env = self.env
        if env:
            full_env.update(env)
        try:
            done = subprocess.run(
                words,
                env=full_env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LttngCommandError(
                f"timed out after {timeout:g} s",
                argv=words,
                returncode=None,
                stdout=_text(exc.stdout),
                stderr=_text(exc.stderr),
                log_tail=self.log_tail(),
            ) from exc
        except OSError as exc:
            raise LttngCommandError(
                f"cannot run ({exc})", argv=words, returncode=None, log_tail=self.log_tail()
            ) from exc
        if check and done.returncode != 0:
            reason = f"exited with status {done.returncode}"
            if not self.running:
                reason += " (the session daemon is not running)"
            raise LttngCommandError(
                reason,
                argv=words,
                returncode=done.returncode,
                stdout=done.stdout,
                stderr=done.stderr,
                log_tail=self.log_tail(),
            )
        self._remember_children()
        return done

    def run_lttng(
        self, *args: str | os.PathLike[str], timeout: float = 60.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``lttng`` client against this daemon (never spawning another)."""
        return self.run(self.lttng, "--no-sessiond", *args, timeout=timeout, check=check)

    @contextlib.contextmanager
    def recording_session(
        self,
        name: str,
        output: Path,
        *,
        events: Sequence[str] = ("lttng_ust_tracef:*",),
        create_args: Sequence[str] = (),
        enable_args: Sequence[str] = (),
    ) -> Iterator[Path]:
        """Create, enable user-space ``events``, start; yield ``output``.

        On exit the session is stopped (which waits until its data is flushed)
        and destroyed, even when the body raised.
        """
        self.run_lttng("create", name, f"--output={output}", *create_args)
        try:
            for event in events:
                self.run_lttng("enable-event", "--userspace", *enable_args, event)
            self.run_lttng("start", name)
            try:
                yield output
            finally:
                self.run_lttng("stop", name)
        finally:
            self.run_lttng("destroy", name)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data
