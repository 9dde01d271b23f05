"""Faults of real machines, the C lttng-consumerd and ustref-consumerd side by side
under the real lttng-sessiond 2.13.9 (issue 22, item 3):

- the session daemon is SIGKILLed (an OOM kill, a crash) while buffers hold events: the
  consumer writes what it can read, closes its files and exits; the trace reads with
  babeltrace2 and holds at least what the C consumer keeps;
- the output file system of one session fills up (a small tmpfs): the daemon stays up,
  reports the failure without a traceback, and a session writing to another file
  system loses nothing; the ``lttng`` commands that follow answer as with C.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.consumerd.test_relayd_faults import _alive, _run
from tests.consumerd.test_side_by_side import _listing, _mask, ustref_consumerd
from tests.ring.test_lttng_buffers import wait_for
from ustref.lttng import SessionDaemon
from ustref.lttng.churn import consumer_pids, per_app_events, resources
from ustref.lttng.sessiond import LttngError

pytestmark = pytest.mark.lttng

EVENT = "lttng_ust_tracef:*"


@pytest.fixture(scope="module")
def tracef_app(app_builder: Callable[[str], Path]) -> Path:
    return app_builder("tracef_app")


@dataclass(frozen=True)
class Answers:
    """The ``lttng`` commands that followed a fault: words, exit code, masked output."""

    commands: list[tuple[str, int, str]]
    consumers_alive: bool
    tracebacks: int
    """``Traceback`` lines in the session daemon's log (where the consumers' go)."""


def _answers(
    sd: SessionDaemon, tmp: Path, consumers: list[int], *commands: tuple[str, ...]
) -> Answers:
    results = [_run(sd, *words) for words in commands]
    return Answers(
        [(w, rc, _masked_text(text, tmp)) for w, rc, text in results],
        all(_alive(pid) for pid in consumers),
        sd.log_path.read_text(errors="replace").count("Traceback"),
    )


def _without_counts(commands: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """The commands without what depends on the drain's pace: how many events a full
    buffer discarded or packets were lost (a warning line when not 0), any number."""
    return [
        (words, rc, re.sub(r"\d+", "<n>", "\n".join(
            line for line in text.splitlines() if not _PACE.search(line)
        )))
        for words, rc, text in commands
    ]  # fmt: skip


_PACE = re.compile(r"discarded|lost", re.IGNORECASE)


def _masked_text(text: str, tmp: Path) -> str:
    return "\n".join(_mask(line) for line in text.replace(str(tmp), "<tmp>").splitlines())


def _events(trace: Path) -> int:
    """Events babeltrace2 reads in ``trace`` (it must read it: no error)."""
    return len(_listing(trace))


# ------------------------------------------------------------------ session daemon


KILLED_EVENTS = 2000
"""Few enough to sit in the consumer's buffers, in sub-buffers nothing has switched."""


@dataclass(frozen=True)
class Orphaned:
    consumers_exited: bool
    events: int


KILLED_EVENT = b"lttng_ust_tracef:event"


def _declares(trace: Path, event: bytes) -> bool:
    """Whether a metadata file under ``trace`` declares ``event`` yet."""
    return any(event in path.read_bytes() for path in trace.rglob("metadata"))


def kill_sessiond(consumer: str | None, tmp: Path, app: Path) -> Orphaned:
    """A per-UID session traced by one application, which ends; then the session
    daemon is killed (SIGKILL) with the events still in the buffers."""
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    trace = tmp / "trace"
    with SessionDaemon(extra_args=extra, workdir=tmp / "sessiond", lock_timeout=1800) as sd:
        sd.run_lttng("create", "s", f"--output={trace}")
        sd.run_lttng("enable-event", "--userspace", "--session=s", EVENT)
        sd.run_lttng("start", "s")
        sd.run(app, str(KILLED_EVENTS), "0")
        assert consumer_pids(sd), "no consumer"
        # The event's metadata reaches the consumer only when the session daemon tears
        # the ended application down (ust-app.cpp `delete_ust_app_session` pushes it),
        # a moment after the process exits; killed before that, neither consumer has
        # a readable trace. Wait until the consumer wrote it.
        wait_for(lambda: _declares(trace, KILLED_EVENT), "the event's metadata", 60)
        left = sd.kill(timeout=60)
    return Orphaned(not left, _events(trace))


def test_a_killed_session_daemon(tmp_path: Path, tracef_app: Path) -> None:
    c = kill_sessiond(None, tmp_path / "c", tracef_app)
    u = kill_sessiond(ustref_consumerd(), tmp_path / "ustref", tracef_app)
    print(c, u, sep="\n")
    assert u.consumers_exited, "ustref-consumerd outlived its session daemon"
    assert u.events >= c.events
    assert u.events == KILLED_EVENTS, "ustref-consumerd lost events it could read"


# ------------------------------------------------------------------ full file system


FULL_EVENTS = 20_000
"""About 1.5 MB of events per session, far more than the small file system holds."""
SMALL_FS = "256k"


@contextmanager
def small_tmpfs(where: Path) -> Iterator[Path]:
    where.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_FS}", "tmpfs", str(where)], check=True
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


@dataclass(frozen=True)
class Filled:
    answers: Answers
    other_events: int
    full_trace_reads: bool


def fill_disk(consumer: str | None, tmp: Path, app: Path) -> Filled:
    """Two per-UID sessions trace the same application: ``full`` to a small tmpfs,
    ``other`` to the test's directory. Then ``stop``, ``list`` and ``destroy``."""
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    other = tmp / "other"
    with small_tmpfs(tmp / "small") as small:
        with SessionDaemon(
            extra_args=[*extra, "--verbose-consumer"],
            workdir=tmp / "sessiond",
            lock_timeout=1800,
        ) as sd:
            for name, output in (("full", small / "trace"), ("other", other)):
                sd.run_lttng("create", name, f"--output={output}")
                sd.run_lttng("enable-event", "--userspace", f"--session={name}", EVENT)
                sd.run_lttng("start", name)
            consumers = consumer_pids(sd)
            sd.run(app, str(FULL_EVENTS), "20", timeout=120)
            answers = _answers(
                sd,
                tmp,
                consumers,
                ("stop", "full"),
                ("stop", "other"),
                ("list", "full"),
                ("destroy", "full"),
                ("destroy", "other"),
                ("list",),
            )
        try:
            _events(small / "trace")
            reads = True
        except LttngError:
            reads = False
    return Filled(answers, _events(other), reads)


def test_a_full_file_system(tmp_path: Path, tracef_app: Path) -> None:
    c = fill_disk(None, tmp_path / "c", tracef_app)
    u = fill_disk(ustref_consumerd(), tmp_path / "ustref", tracef_app)
    print(c, u, sep="\n")
    assert c.answers.consumers_alive and c.other_events == FULL_EVENTS, c
    assert u.answers.consumers_alive, "ustref-consumerd died of a full file system"
    assert u.answers.tracebacks == 0
    assert u.other_events == FULL_EVENTS, "the other session lost events"
    # The full session's destroy runs a quiet rotation whose outcome depends on what was
    # still unwritten then: the C consumer itself answers 0 or 141 ("Rotation failure on
    # consumer") from one run to the next (2 of 6 runs, 2026-12-06).
    unsure = ("destroy full",)
    assert [a for a in _without_counts(u.answers.commands) if a[0] not in unsure] == [
        a for a in _without_counts(c.answers.commands) if a[0] not in unsure
    ]
    (destroyed,) = [rc for words, rc, _ in u.answers.commands if words in unsure]
    assert destroyed in (0, 141)


# ------------------------------------------------------------------ stopped application


STOPPED_EVENTS = 2_000_000
"""Enough for the application to be writing (in a reserve–commit) when it is stopped."""
PACED_EVENTS = 2000
IDLE_SECONDS = 6.0
"""Longer than the session daemon's application socket timeout."""


@dataclass(frozen=True)
class Frozen:
    cpu_percent: float
    """The consumer daemons' CPU over :data:`IDLE_SECONDS` while the app is stopped."""
    paced_events: int
    stop_other: tuple[int, str]
    resumed: int
    """The stopped application's exit status once continued."""
    frozen_events: int
    """Events in the per-PID traces of session ``frozen`` that babeltrace2 reads. How
    many of the stopped application's events are kept depends on the drain's pace (it
    writes at full speed, in discard mode), and whether its trace reads at all on the
    session daemon's timing: when it gave up on the stopped application (its socket
    timeout), that application's per-PID metadata lacks the stream class, with the C
    consumer as with ustref."""


def stop_app(consumer: str | None, tmp: Path, app: Path) -> Frozen:
    """Per-PID session ``frozen``: an application writing at full speed is stopped
    (SIGSTOP), most likely between reserving and committing an event. Then the
    consumer's CPU is measured while nothing else happens, and another application
    traces into session ``other``, which is stopped (its data drained) while the first
    is still stopped. Then the first continues (SIGCONT) and ends."""
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    frozen, other = tmp / "frozen", tmp / "other"
    with SessionDaemon(extra_args=extra, workdir=tmp / "sessiond", lock_timeout=1800) as sd:
        for name, output in (("frozen", frozen), ("other", other)):
            sd.run_lttng("create", name, f"--output={output}")
            sd.run_lttng("enable-channel", "--userspace", f"--session={name}", "--buffers-pid",
                         "chan")  # fmt: skip
            sd.run_lttng("enable-event", "--userspace", f"--session={name}", "--channel=chan",
                         EVENT)  # fmt: skip
        sd.run_lttng("start", "frozen")
        consumers = consumer_pids(sd)
        writer = subprocess.Popen([str(app), str(STOPPED_EVENTS)], env=sd.env)
        try:
            while not list(frozen.glob("ust/pid/*/chan_*")):
                assert writer.poll() is None, "the application ended before it was stopped"
                time.sleep(0.01)
            writer.send_signal(signal.SIGSTOP)
            # The session daemon gives up on the stopped application after its socket
            # timeout (5 s): it unregisters it, and the application registers again
            # once continued, into a new per-PID directory.
            sd.run_lttng("start", "other")
            ticks = resources(consumers).cpu_ticks
            time.sleep(IDLE_SECONDS)  # the measurement window, not a readiness wait
            used = (resources(consumers).cpu_ticks - ticks) / os.sysconf("SC_CLK_TCK")
            sd.run(app, str(PACED_EVENTS), "100")
            _, rc, text = _run(sd, "stop", "other")
            writer.send_signal(signal.SIGCONT)
            resumed = writer.wait(300)
        finally:
            if writer.poll() is None:
                writer.send_signal(signal.SIGCONT)
                writer.kill()
                writer.wait()
        for words in (("stop", "frozen"), ("destroy", "frozen"), ("destroy", "other")):
            _run(sd, *words)
    return Frozen(
        100 * used / IDLE_SECONDS,
        _events(other),
        (rc, _masked_text(text, tmp)),
        resumed,
        per_app_events(frozen)[0],
    )


def test_a_stopped_application(tmp_path: Path, tracef_app: Path) -> None:
    c = stop_app(None, tmp_path / "c", tracef_app)
    u = stop_app(ustref_consumerd(), tmp_path / "ustref", tracef_app)
    print(c, u, sep="\n")
    assert c.paced_events == PACED_EVENTS and c.resumed == 0, c
    # A busy loop shows as a whole core (100 %). The window holds the moment the session
    # daemon gives up on the stopped application and tears its channels down, which
    # drains what its buffers hold: measured 0–7 % with ustref-consumerd under coverage.
    assert u.cpu_percent < 50, "ustref-consumerd spins on the stopped application's buffers"
    assert u.paced_events == PACED_EVENTS
    assert u.stop_other == c.stop_other
    assert u.resumed == 0
    assert u.frozen_events >= PACED_EVENTS


# ------------------------------------------------------------------ truncated buffers


def _buffer_fds(pid: int) -> list[str]:
    """``/proc/PID/fd`` entries of application ``pid`` that are consumer shm objects (its
    per-PID ring buffers)."""
    found = []
    for entry in os.scandir(f"/proc/{pid}/fd"):
        try:
            if "shm-ust-consumer" in os.readlink(entry.path):
                found.append(entry.path)
        except OSError:
            continue
    return found


def _truncate_buffers(pid: int) -> int:
    """Shrink to nothing every consumer shm object application ``pid`` holds: what a
    buggy or hostile application can do. Returns how many."""
    done = 0
    for path in _buffer_fds(pid):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            os.ftruncate(fd, 0)
            done += 1
        finally:
            os.close(fd)
    return done


@dataclass(frozen=True)
class Truncated:
    truncated: int
    answers: Answers
    other_events: int


def truncate_app_buffers(consumer: str | None, tmp: Path, app: Path) -> Truncated:
    """Per-PID session ``victim``: once its application writes at full speed, the
    application's buffers are truncated (the application then dies of SIGBUS at its
    next write; the consumer faults when it reads them). Then a second session,
    ``other``, traces another application; ``lttng`` commands on both follow."""
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    victim, other = tmp / "victim", tmp / "other"
    with SessionDaemon(
        extra_args=[*extra, "--verbose-consumer"], workdir=tmp / "sessiond", lock_timeout=1800
    ) as sd:
        sd.run_lttng("create", "victim", f"--output={victim}")
        sd.run_lttng("enable-channel", "--userspace", "--session=victim", "--buffers-pid",
                     "chan")  # fmt: skip
        sd.run_lttng("enable-event", "--userspace", "--session=victim", "--channel=chan", EVENT)
        sd.run_lttng("start", "victim")
        consumers = consumer_pids(sd)
        writer = subprocess.Popen([str(app), str(STOPPED_EVENTS)], env=sd.env)
        try:
            # The consumer creates the stream files before the session daemon hands the
            # application its buffers: wait until the application holds them.
            deadline = time.monotonic() + 60
            while not _buffer_fds(writer.pid):
                assert writer.poll() is None, "the application ended before its buffers were cut"
                assert time.monotonic() < deadline, "the application never got its buffers"
                time.sleep(0.01)
            truncated = _truncate_buffers(writer.pid)
            writer.wait(120)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        sd.run_lttng("create", "other", f"--output={other}")
        sd.run_lttng("enable-event", "--userspace", "--session=other", EVENT)
        sd.run_lttng("start", "other")
        sd.run(app, str(PACED_EVENTS), "100")
        answers = _answers(
            sd,
            tmp,
            consumers,
            ("stop", "other"),
            ("stop", "victim"),
            ("destroy", "victim"),
            ("destroy", "other"),
            ("list",),
        )
    return Truncated(truncated, answers, _events(other))


def test_an_application_truncates_its_buffers(tmp_path: Path, tracef_app: Path) -> None:
    """Not run with the C consumer: it does not survive this fault. Tried on
    2026-12-06: its last log line was ``UST consumer flush channel key 1``
    (``flush_channel``, the flush the session daemon asks for when the application
    died), nothing followed for 70 s, and ``lttng start other`` timed out waiting
    for it (spec/fuzzing.md, faults)."""
    u = truncate_app_buffers(ustref_consumerd(), tmp_path / "ustref", tracef_app)
    print(u)
    assert u.truncated > 0, "nothing truncated: the test tests nothing"
    assert u.answers.consumers_alive, "ustref-consumerd died of a truncated buffer"
    assert u.answers.tracebacks == 0
    assert u.other_events == PACED_EVENTS
    commands = u.answers.commands
    assert [rc for _, rc, _ in commands] == [0] * len(commands), commands
