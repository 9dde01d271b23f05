"""Run regression scripts one at a time, under the machine's LTTng lock.

The scripts stop and kill every LTTng daemon they find *by name*, so each one
runs alone, while this process holds the exclusive :func:`fcntl.flock` on
``/tmp/ustref-sessiond.lock`` that every real-daemon user of ustref takes; the
lock is taken per script, so other users interleave between scripts.

The scripts start their session daemons with ``--background``: this process
makes itself a child subreaper so that those daemons stay its descendants, reaps
them when they exit, and kills by pid whatever a script left behind. While a
script runs, it samples the consumer-daemon processes (``/proc/PID/exe`` and
``cmdline``) for the consumer check of :mod:`ustref.conformance.report`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ustref.conformance.lists import Script
from ustref.conformance.prepare import TestTree
from ustref.conformance.report import ConsumerSighting, ScriptResult
from ustref.conformance.tap import TapParser
from ustref.errors import UstrefError
from ustref.lttng.sessiond import (
    DEFAULT_LOCK_PATH,
    ProcessInfo,
    become_subreaper,
    descendants,
    process_info,
)

__all__ = ["RunError", "Runner", "ensure_user", "machine_lock"]

_TICK = 0.2
_DAEMON_NAMES = ("lttng-sessiond", "lttng-relayd", "lttng-consumerd")
_CONSUMERD = "lttng-consumerd"
_LEFTOVER_TIMEOUT = 10.0
_FOREIGN_GRACE = 60.0


class RunError(UstrefError):
    """The harness itself could not run a script (lock, user, foreign daemons)."""


@contextlib.contextmanager
def machine_lock(path: Path = DEFAULT_LOCK_PATH, *, note: Callable[[str], None]) -> Iterator[None]:
    """Hold the exclusive flock that serialises every LTTng daemon user of the machine."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RunError(f"cannot lock {path}: {exc}") from exc
            note(f"waiting for {path} (another LTTng daemon user holds it)")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def ensure_user(name: str, *, create: bool) -> pwd.struct_passwd:
    """The unprivileged user the ``user`` scripts run as; created when ``create``."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if not create:
        raise RunError(
            f"scripts marked 'user' must run as an unprivileged user and {name!r} does not "
            "exist: pass --create-user (CI does) or --user NAME of an existing user"
        )
    done = subprocess.run(
        [
            "useradd",
            "--create-home",
            "--shell",
            "/bin/bash",
            "--comment",
            "ustref conformance",
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RunError(f"useradd {name} failed: {done.stderr.strip()}")
    return pwd.getpwnam(name)


def _cmdline(pid: int) -> tuple[str, ...] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None
    return tuple(word.decode(errors="replace") for word in raw.rstrip(b"\0").split(b"\0"))


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return "?"


def _uid(pid: int) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def _daemon_name(cmdline: tuple[str, ...] | None) -> str:
    """The basename of the first command-line word: what ``lttng_pgrep`` matches on."""
    return os.path.basename(cmdline[0]) if cmdline else ""


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def lttng_daemons() -> list[ProcessInfo]:
    """Live LTTng daemons of any user, found the way the scripts' ``lttng_pgrep`` does."""
    found = []
    for pid in _pids():
        name = _daemon_name(_cmdline(pid))
        if any(name.startswith(d) for d in _DAEMON_NAMES):
            info = process_info(pid)
            if info is not None and not info.is_zombie:
                found.append(info)
    return found


@dataclass
class _Sampler:
    """Records every consumer-daemon process among our descendants.

    The scripts' daemons are our descendants (we are their subreaper), so a
    consumer that other work on the machine runs is never mistaken for one of
    theirs. A consumer is a process named like one (``lttng_pgrep``'s rule), or
    a child of a session daemon that is not its run-as helper.
    """

    script: str
    seen: dict[tuple[int, int], ConsumerSighting]

    def sample(self) -> None:
        infos = {info.pid: info for info in descendants(os.getpid())}
        sessiond_pids = {pid for pid, info in infos.items() if info.comm == "lttng-sessiond"}
        for pid, info in infos.items():
            key = (pid, info.starttime)
            if key in self.seen or info.is_zombie:
                continue
            cmdline = _cmdline(pid)
            if cmdline is None:
                continue
            by_name = _daemon_name(cmdline).startswith(_CONSUMERD)
            by_parent = info.ppid in sessiond_pids and not info.comm.startswith("lttng-runas")
            if not (by_name or by_parent):
                continue
            exe = _exe(pid)
            if exe == "?":
                continue  # gone (or going) already
            if not by_name and Path(exe).name.startswith("lttng-sessiond"):
                # A session daemon's own fork: its run-as helper, its
                # --background child, or a fork not yet exec'd.
                continue
            self.seen[key] = ConsumerSighting(pid, exe, cmdline, _uid(pid), self.script)


def fit(line: str, width: int) -> str:
    """``line`` cut to ``width`` characters (ending in "…" when cut)."""
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def progress_line(tag: str, script: str, state: str) -> str:
    """``[3/36] regression/ust/test_event_basic: 12 points, 40 s`` (no script: tag and state)."""
    head = f"{tag} {script}".rstrip()
    return f"{head}: {state}"


class Runner:
    """Runs scripts of one prepared tree one at a time and returns their results."""

    def __init__(
        self,
        tree: TestTree,
        logs: Path,
        *,
        user: pwd.struct_passwd | None,
        timeout: float,
        stall_timeout: float = 600.0,
        out: Callable[[str], None] | None = None,
        lock_path: Path = DEFAULT_LOCK_PATH,
    ) -> None:
        self.tree = tree
        self.logs = logs
        self.user = user
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self.lock_path = lock_path
        self._tty = sys.stdout.isatty()
        self._out = out or self._print
        become_subreaper()

    def _progress(self, line: str) -> None:
        """Replace the progress line (on a terminal only)."""
        width = shutil.get_terminal_size().columns - 1
        sys.stdout.write(f"\r{fit(line, width)}\033[K")
        sys.stdout.flush()

    def _print(self, text: str) -> None:
        # On a terminal, a progress line may be showing: replace it.
        print(f"\r\033[K{text}" if self._tty else text, flush=True)

    # ---------------------------------------------------------------- public

    def run(self, scripts: Sequence[Script]) -> Iterator[ScriptResult]:
        """Run each script in turn, yielding its result as soon as it is known."""
        self.logs.mkdir(parents=True, exist_ok=True)
        os.chmod(self.logs, 0o755)
        for index, script in enumerate(scripts, start=1):
            yield self.run_one(script, f"[{index}/{len(scripts)}]")

    def run_one(self, script: Script, tag: str = "") -> ScriptResult:
        path = self.tree.script(script.path)
        if not path.is_file():
            raise RunError(f"no script {script.path} in {self.tree.tests}")
        as_user = self.user if (script.as_user and os.geteuid() == 0) else None
        who = as_user.pw_name if as_user is not None else pwd.getpwuid(os.geteuid()).pw_name
        tap_log = self.logs / f"{script.slug}.tap"
        err_log = self.logs / f"{script.slug}.log"
        with machine_lock(self.lock_path, note=self._out):
            if self._tty:
                self._progress(progress_line(tag, script.path, f"starting, as {who}"))
            foreign = self._foreign_daemons()
            if foreign:
                result = ScriptResult(
                    script, TapParser().counts, 0.0, None, who, stopped=f"not run: {foreign}"
                )
            else:
                result = self._execute(
                    script,
                    path,
                    as_user=as_user,
                    who=who,
                    tap_log=tap_log,
                    err_log=err_log,
                    tag=tag,
                )
        verdict = "PASS" if result.passed else "FAIL: " + "; ".join(result.problems)
        c = result.counts
        self._out(
            f"{tag} {script.path}: {c.ok} ok, {c.not_ok} not ok, {c.skip} skip "
            f"in {result.seconds:.1f} s — {verdict}"
        )
        if result.passed:
            tap_log.unlink(missing_ok=True)
            err_log.unlink(missing_ok=True)
            result.tap_log = result.stderr_log = ""
        return result

    # --------------------------------------------------------------- private

    def _foreign_daemons(self) -> str:
        """Why the script must not run: LTTng daemons that outlive a grace period
        although we hold the lock (the script would kill them by name); else ""."""
        deadline = time.monotonic() + _FOREIGN_GRACE
        while (daemons := lttng_daemons()) and time.monotonic() < deadline:
            self._reap_orphans(None)
            time.sleep(_TICK)
        if not daemons:
            return ""
        listed = ", ".join(f"{d.comm} pid {d.pid}" for d in daemons)
        return f"LTTng daemons alive outside {self.lock_path} ({listed})"

    def _environment(self, as_user: pwd.struct_passwd | None) -> dict[str, str]:
        env = dict(os.environ)
        if as_user is not None:
            env.update(
                HOME=as_user.pw_dir,
                USER=as_user.pw_name,
                LOGNAME=as_user.pw_name,
                SHELL=as_user.pw_shell,
            )
            for name in ("LTTNG_HOME", "XDG_RUNTIME_DIR", "TMPDIR"):
                env.pop(name, None)
        return env

    def _execute(
        self,
        script: Script,
        path: Path,
        *,
        as_user: pwd.struct_passwd | None,
        who: str,
        tap_log: Path,
        err_log: Path,
        tag: str,
    ) -> ScriptResult:
        parser = TapParser()
        sampler = _Sampler(script.path, {})
        started = time.monotonic()
        before = {info.pid for info in self._descendants()}
        with tap_log.open("wb") as tap_out, err_log.open("wb") as err_out:
            if as_user is not None:
                os.chown(tap_log, as_user.pw_uid, as_user.pw_gid)
                os.chown(err_log, as_user.pw_uid, as_user.pw_gid)
            try:
                # Relative to tests/, as LTTng's own runner starts them: some
                # scripts run their helpers as `./$(dirname $0)/helper`.
                proc = subprocess.Popen(
                    [script.path],
                    cwd=self.tree.tests,
                    stdin=subprocess.DEVNULL,
                    stdout=tap_out,
                    stderr=err_out,
                    env=self._environment(as_user),
                    start_new_session=True,
                    user=as_user.pw_uid if as_user is not None else None,
                    group=as_user.pw_gid if as_user is not None else None,
                    extra_groups=[] if as_user is not None else None,
                )
            except OSError as exc:
                raise RunError(f"cannot run {path}: {exc}") from exc
            try:
                returncode, stopped = self._follow(
                    proc,
                    tap_log=tap_log,
                    parser=parser,
                    sampler=sampler,
                    started=started,
                    tag=f"{tag} {script.path}",
                )
            except BaseException:
                # Interrupted (SIGINT, SIGTERM, a bug): leave nothing running.
                self._kill_new(before, proc, include_script=True)
                raise
        parser.close()
        self._kill_new(before, proc, include_script=returncode is None)
        return ScriptResult(
            script=script,
            counts=parser.counts,
            seconds=time.monotonic() - started,
            returncode=returncode,
            user=who,
            tap_log=str(tap_log),
            stderr_log=str(err_log),
            consumers=list(sampler.seen.values()),
            stopped=stopped,
        )

    def _follow(
        self,
        proc: subprocess.Popen[bytes],
        *,
        tap_log: Path,
        parser: TapParser,
        sampler: _Sampler,
        started: float,
        tag: str,
    ) -> tuple[int | None, str]:
        """Follow the TAP file and sample consumers until the script exits.

        Returns its exit status, or ``None`` and why it was stopped: it ran
        longer than the timeout, or printed nothing for the stall timeout (a
        session daemon waits forever for a consumer that died before it
        connected its error socket).
        """
        last_note = last_output = started
        with tap_log.open("rb") as reader:
            while True:
                returncode = proc.poll()
                data = reader.read()
                parser.feed_bytes(data)
                sampler.sample()
                self._reap_orphans(proc.pid)
                now = time.monotonic()
                if data:
                    last_output = now
                if returncode is not None:
                    parser.feed_bytes(reader.read())
                    return returncode, ""
                stopped = ""
                if now - started > self.timeout:
                    stopped = f"timed out after {self.timeout:g} s"
                elif now - last_output > self.stall_timeout:
                    stopped = f"stalled: no output for {self.stall_timeout:g} s"
                if stopped:
                    self._out(f"{tag} {stopped}: stopping the script and its daemons")
                    return None, stopped
                if self._tty and now - last_note >= 0.5:
                    c = parser.counts
                    self._progress(
                        progress_line(tag, "", f"{c.points} points, {now - started:.0f} s")
                    )
                    last_note = now
                time.sleep(_TICK)

    def _descendants(self) -> list[ProcessInfo]:
        return descendants(os.getpid())

    def _reap_orphans(self, script_pid: int | None) -> None:
        """Reap the zombies reparented to us (we are their subreaper), not the script."""
        for info in self._descendants():
            if info.is_zombie and info.ppid == os.getpid() and info.pid != script_pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(info.pid, os.WNOHANG)

    def _kill_new(
        self, before: set[int], proc: subprocess.Popen[bytes], *, include_script: bool
    ) -> None:
        """SIGTERM, then SIGKILL, every process the script started (and the script
        itself if ``include_script``), by pid; it then reaps them all."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = [
                info
                for info in self._descendants()
                if info.pid not in before
                and (include_script or info.pid != proc.pid)
                and not info.is_zombie
            ]
            if not left:
                break
            self._out(
                f"killing ({sig.name}) what the script left: "
                + ", ".join(f"{i.comm} pid {i.pid}" for i in left)
            )
            for info in left:
                now = process_info(info.pid)
                if now is not None and now.starttime == info.starttime:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(info.pid, sig)
            deadline = time.monotonic() + _LEFTOVER_TIMEOUT
            while time.monotonic() < deadline and any(
                (p := process_info(i.pid)) is not None and not p.is_zombie for i in left
            ):
                self._reap_orphans(proc.pid)
                time.sleep(_TICK)
        if include_script:
            proc.wait()
        self._reap_orphans(proc.pid)
