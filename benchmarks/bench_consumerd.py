"""Trace a max-rate app through the C consumer and through ustref-consumerd, interleaved.

Each run starts a real root ``lttng-sessiond`` (:class:`ustref.lttng.sessiond.SessionDaemon`)
with one consumer daemon: Debian's ``lttng-consumerd`` (the session daemon's
default) or ``ustref-consumerd`` (``--consumerd64-path``). In it, one session
per sub-buffer size, one after the other: a user-space channel in discard mode
with 4 sub-buffers per stream (per-UID buffers, the default), the event
``ustref_bench:record`` enabled, and the sample ``bench_app`` emitting N events
of 64 bytes (a 4-byte compact header and a 60-byte payload) as fast as one
thread can. Rounds alternate which consumer goes first.

Per session it measures

``recorded``
    events in the trace, counted by ``babeltrace2 -c sink.utils.counter -p step=+0``
    (:func:`ustref.lttng.babeltrace.count_messages`: the totals, not the first
    of the running counts printed every 10,000 messages by default), after
    ``lttng destroy`` returned (it waits until the consumer wrote everything);
``discarded``
    the channel's "Discarded events" in ``lttng list SESSION`` after
    ``lttng stop`` (the session daemon asks the consumer); recorded plus
    discarded must equal the N the app emitted, or the run is flagged;
``CPU``
    the consumer process's ``utime + stime + cutime + cstime`` from
    ``/proc/<pid>/stat`` (all its threads, and any children it reaped), read
    just before ``lttng start`` and again just after ``lttng destroy``
    returned — the consumer is idle then and stays alive until the session
    daemon stops, so the difference is exactly what this session cost it
    (start-up, e.g. Python's imports, is left out). The consumer is the
    session daemon's direct child whose command line carries
    ``--consumerd-cmd-sock``; the clock tick is 10 ms;
``MiB``
    the size of the trace's data stream files (metadata and index files
    left out: the consumers need not write the same index);
``stop`` / ``destroy``
    wall-clock latency of ``lttng stop`` and ``lttng destroy`` (client
    start-up included, the same for both consumers).

ustref-consumerd runs with the ust-ctl backend ``--backend`` names (``pure``,
the daemon's default, or ``lib``: liblttng-ust-ctl creates the ring buffers and
runs their timers), passed down as ``USTREF_UST_CTL`` (the session daemon
launches the consumer with a fixed argv); each run records its ``backend``.
``--backends pure,lib`` runs ustref once per backend in every round,
interleaved with C, prints the pure/lib ratio of recorded events per size, and
exits with status 1 when pure's median records fewer events than lib's by more
than the run-to-run spread (the larger of the two backends' max - min over
rounds): the same-run comparison of the two backends.

``--relayd`` streams every session to Debian's ``lttng-relayd``, started by the
benchmark for each session daemon (inside its lock) on free loopback ports
(``--set-url=net://127.0.0.1:CTRL:DATA``); the events are counted in what the
relay stored, and the results go to
``benchmarks/results/consumerd-relayd-<UTC time>.json`` (issue 21, item 6).

**Scale mode** (issue 24): ``--apps 1,8,32,128`` runs, per N, one session with
per-PID buffers in which N ``bench_app`` processes emit at full rate for
``--seconds`` (one stream per CPU per app, plus its metadata); ``--uid-threads``
one session with per-UID buffers and one ``bench_app`` with one thread pinned on
each CPU for the same time. Per session: events emitted (the apps' own counts)
and recorded, the consumer's CPU per MiB, its wake-ups (voluntary context
switches of all its threads, ``/proc/PID/task/*/status``) and CPU per wake-up,
against the number of streams (data and metadata files in the trace). Sub-buffer
size: ``--sizes`` (64K unless given). Results go to
``benchmarks/results/consumerd-scale-<UTC time>.json``.

Prints per size the median over rounds of each consumer and the ratio
ustref/C, and writes every run and the machine's description to
``benchmarks/results/consumerd-<UTC time>.json``. Takes the session daemon
lock (``/tmp/ustref-sessiond.lock``) for each daemon, and waits while
``/tmp/ustref-ci-running`` exists::

    python3 benchmarks/bench_consumerd.py [--events 5000000] [--rounds 3] [--quick]
        [--backend pure|lib | --backends pure,lib] [--sizes 4K,64K,1M]
        [--apps 1,8,32,128] [--uid-threads] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ustref.consumerd import ring_backend
from ustref.lttng.apps import build_app
from ustref.lttng.babeltrace import count_messages
from ustref.lttng.churn import per_app_events
from ustref.lttng.loopback import free_tcp_ports
from ustref.lttng.sessiond import (
    DEFAULT_LOCK_PATH,
    SessionDaemon,
    parse_discarded_events,
    process_info,
)
from ustref.transport.launcher import which

SUBBUF_SIZES = (4 << 10, 64 << 10, 1 << 20)
NUM_SUBBUF = 4
EVENT = "ustref_bench:record"
CHANNEL = "bench"
C_CONSUMERD = "/usr/lib/x86_64-linux-gnu/lttng/libexec/lttng-consumerd"
CI_MARKER = Path("/tmp/ustref-ci-running")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20
#: the goals on recorded events, sub-buffer size -> ustref/C at least: issue 24's
#: for local traces, issue 21's when streaming to lttng-relayd
RECORDED_GOALS = {4 << 10: 1.5, 64 << 10: 1.2, 1 << 20: 1.0}
RELAYD_RECORDED_GOALS = {4 << 10: 1.0, 64 << 10: 1.0}


@dataclass(frozen=True)
class Run:
    """One session: one consumer, one sub-buffer size, one round."""

    consumer: str
    round: int
    subbuf_size: int
    emitted: int
    recorded: int
    discarded: int
    app_seconds: float
    cpu_seconds: float
    data_bytes: int
    stop_seconds: float
    destroy_seconds: float
    #: the machine's 1-minute load average when the session started (others' load)
    load_1min: float = 0.0
    #: ustref's ust-ctl backend (``pure`` or ``lib``); empty for the C consumer
    backend: str = ""
    #: where the trace went: ``local`` files, or ``relayd`` (streamed on loopback)
    output: str = "local"

    @property
    def label(self) -> str:
        return label(self.consumer, self.backend)

    @property
    def complete(self) -> bool:
        """Every emitted event is either in the trace or counted as discarded."""
        return self.recorded + self.discarded == self.emitted

    @property
    def cpu_ms_per_mib(self) -> float:
        return self.cpu_seconds * 1e3 / (self.data_bytes / MIB) if self.data_bytes else 0.0


@dataclass(frozen=True)
class Consumer:
    """A consumer daemon to run: C, or ustref with one ust-ctl backend."""

    consumer: str
    backend: str
    args: tuple[str, ...]
    env: dict[str, str]

    @property
    def label(self) -> str:
        return label(self.consumer, self.backend)


def label(consumer: str, backend: str) -> str:
    """``C``, or ``ustref/<backend>``."""
    return f"{consumer}/{backend}" if backend else consumer


def lock_busy() -> bool:
    """Another process holds the session daemon lock (probed, released at once)."""
    fd = os.open(DEFAULT_LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the only descriptor releases a lock we took
    return False


def wait_for_machine() -> None:
    """Start no daemon while the project's CI runs on this machine (it announces
    itself with :data:`CI_MARKER`), nor queue for the lock behind its run."""
    announced = ""
    while True:
        if CI_MARKER.exists():
            reason, pause = f"{CI_MARKER} exists (CI running)", 30.0
        elif lock_busy():
            reason, pause = f"{DEFAULT_LOCK_PATH} is held", 5.0
        else:
            return
        if reason != announced:
            print(f"waiting: {reason}", flush=True)
            announced = reason
        time.sleep(pause)


def consumer_pid(sessiond: SessionDaemon) -> int:
    """The consumer daemon: the session daemon's direct child started with
    ``--consumerd-cmd-sock`` (its run-as worker is a fork without it)."""
    for info in sessiond.children():
        if info.ppid != sessiond.pid or info.comm == "lttng-runas":
            continue
        try:
            argv = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if any(arg.startswith(b"--consumerd-cmd-sock") for arg in argv):
            return info.pid
    raise RuntimeError(f"no consumer daemon among the children of lttng-sessiond {sessiond.pid}")


def cpu_seconds(pid: int) -> float:
    """``utime + stime + cutime + cstime`` of ``pid`` (every thread), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rfind(")") + 2 :].split()
    # fields[n - 3] is field n of proc(5): utime 14, stime 15, cutime 16, cstime 17
    return sum(int(word) for word in fields[11:15]) / CLOCK_TICK


def data_bytes(trace_dir: Path) -> int:
    """Bytes of the trace's data stream files (no metadata, no index)."""
    return sum(
        path.stat().st_size
        for path in trace_dir.rglob("*")
        if path.is_file() and path.name != "metadata" and "index" not in path.parts
    )


def timed_lttng(sessiond: SessionDaemon, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = sessiond.run_lttng(*args, timeout=300)
    return time.perf_counter() - start, done.stdout


@dataclass(frozen=True)
class Relay:
    """A child ``lttng-relayd`` on loopback (:func:`relay_daemon`)."""

    url: str
    out: Path

    def trace_dir(self, session: str) -> Path:
        """Where the relay stored ``session``: ``<out>/<hostname>/<session>-<date>``."""
        found = sorted(self.out.glob(f"*/{session}-*"))
        if len(found) != 1:
            raise RuntimeError(f"{len(found)} relay directories for session {session}")
        return found[0]


@contextlib.contextmanager
def relay_daemon(out: Path) -> Iterator[Relay]:
    """Run Debian's ``lttng-relayd`` on free loopback ports, writing under ``out``,
    until the block ends (stopped by its pid); ready once both ports accept. Its
    log is ``relayd.log`` beside ``out``."""
    binary = which("lttng-relayd")
    if binary is None:
        raise SystemExit("lttng-relayd is not installed")
    control, data, live = free_tcp_ports(3)
    out.mkdir(parents=True, exist_ok=True)
    argv = [str(binary), "-C", f"tcp://127.0.0.1:{control}", "-D", f"tcp://127.0.0.1:{data}"]
    argv += ["-L", f"tcp://127.0.0.1:{live}", "-o", str(out)]
    with (out.parent / "relayd.log").open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, LTTNG_HOME=str(out.parent)),
        )
    try:
        deadline = time.monotonic() + 30
        while not all(_accepts(port) for port in (control, data)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lttng-relayd did not start (exit {proc.returncode})")
            time.sleep(0.05)  # polling a port that accepts once the relay listens
        yield Relay(f"net://127.0.0.1:{control}:{data}", out)
    finally:
        stop_child(proc)


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM our child ``proc`` (by its pid), SIGKILL it after ``timeout``, reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def create_session(
    sessiond: SessionDaemon, name: str, output: str, subbuf_size: int, *channel_args: str
) -> None:
    """``lttng create`` with ``output`` (``--output=DIR`` or ``--set-url=URL``), the
    discard-mode channel and the benchmark's event."""
    sessiond.run_lttng("create", name, output)
    sessiond.run_lttng(
        "enable-channel",
        "--userspace",
        *channel_args,
        "--discard",
        f"--subbuf-size={subbuf_size}",
        f"--num-subbuf={NUM_SUBBUF}",
        f"--session={name}",
        CHANNEL,
    )
    sessiond.run_lttng(
        "enable-event", "--userspace", f"--session={name}", f"--channel={CHANNEL}", EVENT
    )


def run_session(
    sessiond: SessionDaemon,
    app: Path,
    *,
    work: Path,
    consumer: Consumer,
    round_: int,
    subbuf_size: int,
    events: int,
    relay: Relay | None = None,
) -> Run:
    """One session of ``events`` events at ``subbuf_size`` through the daemon's consumer,
    to local files or, with ``relay``, streamed to it (counted where it stored them)."""
    name = f"bench-{consumer.label.replace('/', '-')}-{round_}-{subbuf_size}"
    trace_dir = work / name
    output = f"--output={trace_dir}" if relay is None else f"--set-url={relay.url}"
    create_session(sessiond, name, output, subbuf_size)
    pid = consumer_pid(sessiond)
    load_1min = os.getloadavg()[0]
    cpu_before = cpu_seconds(pid)
    sessiond.run_lttng("start", name)
    emitted_text, app_text = sessiond.run(app, str(events), timeout=600).stdout.split()
    stop_seconds, _ = timed_lttng(sessiond, "stop", name)
    _, listing = timed_lttng(sessiond, "list", name)
    destroy_seconds, _ = timed_lttng(sessiond, "destroy", name)
    cpu_after = cpu_seconds(pid)
    if process_info(pid) is None:
        raise RuntimeError(f"the consumer daemon (pid {pid}) exited during the session")
    if relay is not None:
        trace_dir = relay.trace_dir(name)
    run = Run(
        consumer=consumer.consumer,
        round=round_,
        subbuf_size=subbuf_size,
        emitted=int(emitted_text),
        recorded=count_messages(trace_dir).get("Event", 0),
        discarded=parse_discarded_events(listing)[CHANNEL],
        app_seconds=float(app_text),
        cpu_seconds=cpu_after - cpu_before,
        data_bytes=data_bytes(trace_dir),
        stop_seconds=stop_seconds,
        destroy_seconds=destroy_seconds,
        load_1min=load_1min,
        backend=consumer.backend,
        output="local" if relay is None else "relayd",
    )
    shutil.rmtree(trace_dir, ignore_errors=True)
    return run


def print_run(run: Run) -> None:
    flag = "" if run.complete else "  INCOMPLETE (recorded + discarded != emitted)"
    print(
        f"  {run.label:12s} round {run.round} {run.subbuf_size >> 10:5d} KiB: "
        f"recorded {run.recorded:>9,} discarded {run.discarded:>9,} "
        f"app {run.app_seconds:6.3f} s  CPU {run.cpu_seconds:6.2f} s "
        f"{run.data_bytes / MIB:7.1f} MiB  stop {run.stop_seconds * 1e3:6.0f} ms "
        f"destroy {run.destroy_seconds * 1e3:6.0f} ms  load {run.load_1min:4.2f}{flag}",
        flush=True,
    )


def bench(
    consumers: Sequence[Consumer],
    events: int,
    rounds: int,
    work: Path,
    sizes: Sequence[int] = SUBBUF_SIZES,
    *,
    relayd: bool = False,
) -> list[Run]:
    """Every round, every consumer, every size; with ``relayd``, each session daemon
    streams to a relay daemon started for it (inside the session daemon lock)."""
    app = build_app("bench_app", work / "apps")
    runs: list[Run] = []
    for round_, consumer, sessiond in daemons(consumers, rounds):
        with contextlib.ExitStack() as stack:
            relay = None
            if relayd:
                out = work / f"relayd-{round_}-{consumer.label.replace('/', '-')}"
                relay = stack.enter_context(relay_daemon(out))
            for subbuf_size in sizes:
                run = run_session(
                    sessiond,
                    app,
                    work=work,
                    consumer=consumer,
                    round_=round_,
                    subbuf_size=subbuf_size,
                    events=events,
                    relay=relay,
                )
                print_run(run)
                runs.append(run)
    return runs


def daemons(
    consumers: Sequence[Consumer], rounds: int
) -> Iterator[tuple[int, Consumer, SessionDaemon]]:
    """Each round, each consumer in a session daemon of its own (taken through the
    session daemon lock), the order alternating from one round to the next."""
    order = list(consumers)
    for round_ in range(rounds):
        for consumer in order if round_ % 2 == 0 else order[::-1]:
            wait_for_machine()
            with SessionDaemon(
                extra_args=consumer.args, env=consumer.env, lock_timeout=3600
            ) as sessiond:
                yield round_, consumer, sessiond


@dataclass(frozen=True)
class Row:
    """Medians over rounds of one consumer at one sub-buffer size."""

    consumer: str
    subbuf_size: int
    rounds: int
    recorded: float
    discarded: float
    cpu_ms_per_mib: float
    stop_ms: float
    destroy_ms: float
    all_complete: bool
    backend: str = ""

    @property
    def label(self) -> str:
        return label(self.consumer, self.backend)


def _sizes(runs: Sequence[Run]) -> list[int]:
    return sorted({r.subbuf_size for r in runs})


def _labels(runs: Sequence[Run]) -> list[tuple[str, str]]:
    """``(consumer, backend)`` pairs in first-run order, C first."""
    pairs = list(dict.fromkeys((r.consumer, r.backend) for r in runs))
    return sorted(pairs, key=lambda pair: pair[0] != "C")


def summarise(runs: Sequence[Run]) -> list[Row]:
    rows = []
    for subbuf_size in _sizes(runs):
        for consumer, backend in _labels(runs):
            mine = [
                r
                for r in runs
                if (r.consumer, r.backend) == (consumer, backend) and r.subbuf_size == subbuf_size
            ]
            if not mine:
                continue
            rows.append(
                Row(
                    consumer=consumer,
                    backend=backend,
                    subbuf_size=subbuf_size,
                    rounds=len(mine),
                    recorded=statistics.median(r.recorded for r in mine),
                    discarded=statistics.median(r.discarded for r in mine),
                    cpu_ms_per_mib=statistics.median(r.cpu_ms_per_mib for r in mine),
                    stop_ms=statistics.median(r.stop_seconds for r in mine) * 1e3,
                    destroy_ms=statistics.median(r.destroy_seconds for r in mine) * 1e3,
                    all_complete=all(r.complete for r in mine),
                )
            )
    return rows


def report(rows: Sequence[Row], runs: Sequence[Run], events: int) -> None:
    print(f"\n{events:,} events of 64 B emitted per session; medians over rounds")
    header = (
        f"{'sub-buffer':>10} {'consumer':12} {'recorded':>11} {'discarded':>11} "
        f"{'CPU ms/MiB':>11} {'stop ms':>8} {'destroy ms':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        flag = "" if row.all_complete else "  (recorded + discarded != emitted)"
        print(
            f"{row.subbuf_size >> 10:>6} KiB {row.label:12} {row.recorded:>11,.0f} "
            f"{row.discarded:>11,.0f} {row.cpu_ms_per_mib:>11.2f} {row.stop_ms:>8.0f} "
            f"{row.destroy_ms:>10.0f}{flag}"
        )
    relayd = any(run.output == "relayd" for run in runs)
    print(f"\nustref / C (goals of issue {21 if relayd else 24}):")
    for ratio in ratios(rows, runs):
        size = int(ratio["subbuf_size"])
        words = []
        for name, value in ratio.items():
            if name in ("subbuf_size", "backend") or name.endswith("_goal"):
                continue
            goal = ratio.get(f"{name}_goal")
            text = f"{name} {value}" if isinstance(value, str) else f"{name} {value:.2f}"
            if goal is not None:
                text += f" ({goal})"
            words.append(text)
        print(f"  {size >> 10:>5} KiB {ratio['backend']}: " + "; ".join(words))


def _verdict(ok: bool, goal: str) -> str:
    return f"goal {goal}: {'met' if ok else 'MISSED'}"


def ratios(rows: Sequence[Row], runs: Sequence[Run]) -> list[dict[str, float | str]]:
    """Per sub-buffer size, ustref's medians over C's, each with its goal's verdict:
    recorded events (:data:`RECORDED_GOALS`, :data:`RELAYD_RECORDED_GOALS` for runs
    streamed to a relay daemon), no event lost by ustref
    in any round at the largest size, CPU per MiB (<= 1.0 at 64 KiB and 1 MiB, local),
    ``lttng stop`` and ``lttng destroy`` latency (ustref's median no slower than
    C's slowest round)."""
    by_key = {(row.label, row.subbuf_size): row for row in rows}
    out: list[dict[str, float | str]] = []
    backends = [backend for consumer, backend in _labels(runs) if consumer == "ustref"]
    relayd = any(r.output == "relayd" for r in runs)
    for subbuf_size, backend in ((size, backend) for size in _sizes(runs) for backend in backends):
        c_row = by_key.get(("C", subbuf_size))
        u_row = by_key.get((label("ustref", backend), subbuf_size))
        if c_row is None or u_row is None:
            continue
        ratio: dict[str, float | str] = {"subbuf_size": subbuf_size, "backend": backend}
        recorded = u_row.recorded / c_row.recorded if c_row.recorded else float("inf")
        ratio["recorded"] = recorded
        goal = (RELAYD_RECORDED_GOALS if relayd else RECORDED_GOALS).get(subbuf_size)
        if goal is not None:
            ratio["recorded_goal"] = _verdict(recorded >= goal, f">= {goal}")
        if subbuf_size == SUBBUF_SIZES[-1]:
            mine = [r for r in runs if r.label == u_row.label and r.subbuf_size == subbuf_size]
            lossy = sum(1 for r in mine if r.discarded)
            ratio["lost"] = f"{lossy} of {len(mine)} rounds"
            ratio["lost_goal"] = _verdict(lossy == 0, "none")
        cpu = u_row.cpu_ms_per_mib / c_row.cpu_ms_per_mib if c_row.cpu_ms_per_mib else 0.0
        ratio["CPU/MiB"] = cpu
        if not relayd and subbuf_size >= 64 << 10:  # issue 24: at 64 KiB and 1 MiB
            ratio["CPU/MiB_goal"] = _verdict(cpu <= 1.0, "<= 1.0")
        c_runs = [r for r in runs if r.consumer == "C" and r.subbuf_size == subbuf_size]
        for name, mine_ms, c_ms, c_slowest in (
            ("stop", u_row.stop_ms, c_row.stop_ms, max(r.stop_seconds for r in c_runs) * 1e3),
            (
                "destroy",
                u_row.destroy_ms,
                c_row.destroy_ms,
                max(r.destroy_seconds for r in c_runs) * 1e3,
            ),
        ):
            # "no slower": ustref's median within C's own spread (at most its slowest
            # round), not a fraction of a millisecond over C's median
            ratio[name] = mine_ms / c_ms if c_ms else float("inf")
            ratio[f"{name}_goal"] = _verdict(mine_ms <= c_slowest, "<= C's slowest round")
        out.append(ratio)
    return out


def compare_backends(runs: Sequence[Run]) -> list[dict[str, float | str | bool]]:
    """Per sub-buffer size where ustref ran with both backends in the same run:
    the medians of recorded events, pure/lib, the run-to-run spread (the larger
    max - min over rounds of the two backends) and whether pure kept up with lib
    (``ok``: pure's median is at most one spread below lib's)."""
    out: list[dict[str, float | str | bool]] = []
    for subbuf_size in _sizes(runs):
        recorded = {
            backend: [
                r.recorded
                for r in runs
                if (r.consumer, r.backend) == ("ustref", backend) and r.subbuf_size == subbuf_size
            ]
            for backend in (ring_backend.PURE, ring_backend.LIB)
        }
        if not all(recorded.values()):
            continue
        pure, lib = (statistics.median(recorded[b]) for b in (ring_backend.PURE, ring_backend.LIB))
        spread = max(max(values) - min(values) for values in recorded.values())
        out.append(
            {
                "subbuf_size": subbuf_size,
                "pure_recorded": pure,
                "lib_recorded": lib,
                "pure/lib": pure / lib if lib else float("inf"),
                "spread": spread,
                "ok": pure >= lib - spread,
            }
        )
    return out


def report_backends(comparison: Sequence[dict[str, float | str | bool]]) -> bool:
    """Print the pure/lib comparison; ``True`` when pure kept up at every size."""
    if not comparison:
        return True
    print("\nustref pure / lib, same run (recorded events, medians):")
    for row in comparison:
        verdict = "ok" if row["ok"] else "PURE BEHIND LIB beyond the run-to-run spread"
        print(
            f"  {int(row['subbuf_size']) >> 10:>5} KiB: pure {row['pure_recorded']:>11,.0f} "
            f"lib {row['lib_recorded']:>11,.0f}  pure/lib {row['pure/lib']:.3f}  "
            f"spread {row['spread']:,.0f}: {verdict}"
        )
    return all(bool(row["ok"]) for row in comparison)


# -- scale mode ---------------------------------------------------------------------------

PER_PID, PER_UID_THREADS = "per-pid", "per-uid-threads"
SCALE_SUBBUF = 64 << 10


@dataclass(frozen=True)
class ScaleRun:
    """One scale session: N per-PID apps, or one app with a thread per CPU."""

    consumer: str
    backend: str
    round: int
    mode: str
    apps: int
    threads: int
    streams: int
    """Data and metadata stream files in the trace."""
    subbuf_size: int
    seconds: float
    emitted: int
    recorded: int
    discarded: int
    cpu_seconds: float
    data_bytes: int
    wakeups: int
    """Voluntary context switches of the consumer's threads during the session."""
    load_1min: float
    unreadable: int = 0
    """Per-PID traces babeltrace2 could not read (their events are not in ``recorded``):
    with 128 apps sharing 2 CPUs, an app can end before its trace's metadata is
    complete."""

    @property
    def label(self) -> str:
        return label(self.consumer, self.backend)

    @property
    def cpu_ms_per_mib(self) -> float:
        return self.cpu_seconds * 1e3 / (self.data_bytes / MIB) if self.data_bytes else 0.0

    @property
    def cpu_us_per_wakeup(self) -> float:
        return self.cpu_seconds * 1e6 / self.wakeups if self.wakeups else 0.0


def wakeups(pid: int) -> int:
    """Voluntary context switches of every thread of ``pid`` (each one a sleep in
    ``poll``/``select`` or on a lock, then a wake-up)."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def stream_files(trace_dir: Path) -> int:
    """Stream files in the trace: one per data stream, one metadata per trace."""
    return sum(1 for path in trace_dir.rglob("*") if path.is_file() and "index" not in path.parts)


def run_scale_session(
    sessiond: SessionDaemon,
    app: Path,
    *,
    work: Path,
    consumer: Consumer,
    round_: int,
    mode: str,
    apps: int,
    subbuf_size: int,
    seconds: float,
) -> ScaleRun:
    """One scale session (see the module docstring)."""
    name = f"scale-{consumer.label.replace('/', '-')}-{round_}-{mode}-{apps}-{subbuf_size}"
    trace_dir = work / name
    buffers = "--buffers-pid" if mode == PER_PID else "--buffers-uid"
    create_session(sessiond, name, f"--output={trace_dir}", subbuf_size, buffers)
    pid = consumer_pid(sessiond)
    load_1min = os.getloadavg()[0]
    threads = 0 if mode == PER_PID else os.cpu_count() or 1
    cpu_before, woken_before = cpu_seconds(pid), wakeups(pid)
    sessiond.run_lttng("start", name)
    # bench_app 0 THREADS SECONDS: no event limit, full rate for SECONDS
    argv = [str(app), "0", str(threads), str(seconds)]
    procs = [
        subprocess.Popen(
            argv, env=sessiond.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        for _ in range(apps)
    ]
    emitted = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 600)
        if proc.returncode != 0:
            raise RuntimeError(f"bench_app exited with {proc.returncode}")
        emitted += int(out.split()[0])
    sessiond.run_lttng("stop", name)
    listing = sessiond.run_lttng("list", name).stdout
    sessiond.run_lttng("destroy", name)
    cpu_after, woken_after = cpu_seconds(pid), wakeups(pid)
    if process_info(pid) is None:
        raise RuntimeError(f"the consumer daemon (pid {pid}) exited during the session")
    if mode == PER_PID:
        recorded, unreadable = per_app_events(trace_dir)
    else:
        recorded, unreadable = count_messages(trace_dir).get("Event", 0), 0
    run = ScaleRun(
        consumer=consumer.consumer,
        backend=consumer.backend,
        round=round_,
        mode=mode,
        apps=apps,
        threads=threads,
        streams=stream_files(trace_dir),
        subbuf_size=subbuf_size,
        seconds=seconds,
        emitted=emitted,
        recorded=recorded,
        discarded=parse_discarded_events(listing).get(CHANNEL, 0),
        cpu_seconds=cpu_after - cpu_before,
        data_bytes=data_bytes(trace_dir),
        wakeups=woken_after - woken_before,
        load_1min=load_1min,
        unreadable=unreadable,
    )
    shutil.rmtree(trace_dir, ignore_errors=True)
    return run


def print_scale_run(run: ScaleRun) -> None:
    print(
        f"  {run.label:12s} round {run.round} {run.mode:15s} apps {run.apps:3d} "
        f"streams {run.streams:4d} {run.subbuf_size >> 10:5d} KiB: emitted {run.emitted:>11,} "
        f"recorded {run.recorded:>11,} CPU {run.cpu_seconds:6.2f} s "
        f"{run.cpu_ms_per_mib:6.2f} ms/MiB wake-ups {run.wakeups:>8,} "
        f"{run.cpu_us_per_wakeup:7.1f} us/wake-up load {run.load_1min:4.2f}"
        + (f" unreadable traces {run.unreadable}" if run.unreadable else ""),
        flush=True,
    )


def bench_scale(
    consumers: Sequence[Consumer],
    rounds: int,
    work: Path,
    *,
    apps: Sequence[int],
    uid_threads: bool,
    sizes: Sequence[int],
    seconds: float,
) -> list[ScaleRun]:
    app = build_app("bench_app", work / "apps")
    sessions = [(PER_PID, n) for n in apps] + ([(PER_UID_THREADS, 1)] if uid_threads else [])
    runs: list[ScaleRun] = []
    for round_, consumer, sessiond in daemons(consumers, rounds):
        for (mode, n), size in ((session, size) for session in sessions for size in sizes):
            run = run_scale_session(
                sessiond,
                app,
                work=work,
                consumer=consumer,
                round_=round_,
                mode=mode,
                apps=n,
                subbuf_size=size,
                seconds=seconds,
            )
            print_scale_run(run)
            runs.append(run)
    return runs


def summarise_scale(runs: Sequence[ScaleRun]) -> list[dict[str, float | str | int]]:
    """Medians per session kind, sub-buffer size and consumer, with ustref/C ratios
    of recorded events, of the share of emitted events recorded (``kept``: the apps
    run for a fixed time, so what they emit depends on the machine's load), CPU
    per MiB and CPU per wake-up; ``unreadable``: the most per-PID traces babeltrace2
    could not read in one round."""
    rows: list[dict[str, float | str | int]] = []
    keys = list(dict.fromkeys((r.mode, r.apps, r.subbuf_size) for r in runs))
    for mode, apps, size in keys:
        same = [r for r in runs if (r.mode, r.apps, r.subbuf_size) == (mode, apps, size)]
        medians: dict[str, dict[str, float]] = {}
        for name in dict.fromkeys(r.label for r in same):
            mine = [r for r in same if r.label == name]
            medians[name] = {
                "streams": statistics.median(r.streams for r in mine),
                "emitted": statistics.median(r.emitted for r in mine),
                "recorded": statistics.median(r.recorded for r in mine),
                "kept": statistics.median(r.recorded / r.emitted if r.emitted else 0 for r in mine),
                "cpu_ms_per_mib": statistics.median(r.cpu_ms_per_mib for r in mine),
                "cpu_us_per_wakeup": statistics.median(r.cpu_us_per_wakeup for r in mine),
                "wakeups": statistics.median(r.wakeups for r in mine),
                "unreadable": max(r.unreadable for r in mine),
            }
        for name, row in medians.items():
            out: dict[str, float | str | int] = {
                "mode": mode,
                "apps": apps,
                "subbuf_size": size,
                "consumer": name,
                "rounds": sum(1 for r in same if r.label == name),
                **row,
            }
            c = medians.get("C")
            if c is not None and name != "C":
                for field in ("recorded", "kept", "cpu_ms_per_mib", "cpu_us_per_wakeup"):
                    out[f"{field}/C"] = row[field] / c[field] if c[field] else float("inf")
            rows.append(out)
    return rows


def report_scale(rows: Sequence[dict[str, float | str | int]]) -> None:
    print("\nscale: medians over rounds")
    header = (
        f"{'mode':15} {'apps':>4} {'sub-buf':>7} {'consumer':12} {'streams':>7} "
        f"{'emitted':>12} {'recorded':>12} {'kept':>5} {'ms/MiB':>7} {'us/wake':>8} "
        f"{'rec/C':>6} {'kept/C':>6} {'MiB/C':>6} {'wake/C':>6} {'unread':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratios = " ".join(
            f"{float(row[key]):>6.2f}" if key in row else f"{'':>6}"
            for key in ("recorded/C", "kept/C", "cpu_ms_per_mib/C", "cpu_us_per_wakeup/C")
        )
        print(
            f"{row['mode']!s:15} {int(row['apps']):>4} {int(row['subbuf_size']) >> 10:>4} KiB "
            f"{row['consumer']!s:12} {float(row['streams']):>7.0f} {float(row['emitted']):>12,.0f} "
            f"{float(row['recorded']):>12,.0f} {float(row['kept']):>5.2f} "
            f"{float(row['cpu_ms_per_mib']):>7.2f} "
            f"{float(row['cpu_us_per_wakeup']):>8.1f} {ratios} {float(row['unreadable']):>6.0f}"
        )


def _parse_size(text: str) -> int:
    units = {"K": 10, "M": 20}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    shift = units.get(text[-1:], 0)
    return int(text[:-1] if shift else text) << shift


def _first_line(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return lines[0] if lines else "?"


def machine() -> dict[str, object]:
    """What the figures depend on: CPU, cores, kernel, Python, package versions."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    packages = {
        name: _first_line("dpkg-query", "-W", "-f=${Version}", name)
        for name in ("lttng-tools", "liblttng-ust1", "liblttng-ust-ctl5", "babeltrace2")
    }
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ustref": importlib.metadata.version("ustref"),
        "ustref_commit": _first_line("git", "-C", str(RESULTS_DIR.parent), "rev-parse", "HEAD"),
        "packages": packages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None, help="default 5,000,000")
    parser.add_argument("--rounds", type=int, default=None, help="default 3")
    parser.add_argument(
        "--quick", action="store_true", help="200,000 events, 1 round (under a minute)"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON")
    which_backend = parser.add_mutually_exclusive_group()
    which_backend.add_argument(
        "--backend",
        choices=ring_backend.CHOICES,
        default=ring_backend.DEFAULT,
        help=f"ustref-consumerd's ust-ctl backend (default {ring_backend.DEFAULT})",
    )
    which_backend.add_argument(
        "--backends",
        default="",
        help="comma-separated backends run side by side in each round, e.g. pure,lib; "
        "with both, exit 1 when pure records fewer events than lib beyond the spread",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated sub-buffer sizes (default 4K,64K,1M; 64K in scale mode)",
    )
    parser.add_argument("--no-c", action="store_true", help="leave the C consumer out")
    parser.add_argument(
        "--apps",
        default="",
        help="scale mode: comma-separated numbers of concurrent per-PID apps, e.g. 1,8,32,128",
    )
    parser.add_argument(
        "--uid-threads",
        action="store_true",
        help="scale mode: per-UID buffers, one app with one thread pinned on each CPU",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="scale mode: how long the apps emit"
    )
    parser.add_argument(
        "--relayd",
        action="store_true",
        help="stream every session to a real lttng-relayd on loopback (events counted "
        "where the relay stored them)",
    )
    args = parser.parse_args()
    events = args.events or (200_000 if args.quick else 5_000_000)
    rounds = args.rounds or (1 if args.quick else 3)
    apps = [int(word) for word in args.apps.split(",") if word.strip()]
    scale = bool(apps) or args.uid_threads
    default_sizes = (SCALE_SUBBUF,) if scale else SUBBUF_SIZES
    size_words = args.sizes.split(",") if args.sizes else [f"{s >> 10}K" for s in default_sizes]
    sizes = [_parse_size(word) for word in size_words if word.strip()]
    backends = [word.strip() for word in args.backends.split(",") if word.strip()] or [args.backend]
    for backend in backends:
        if backend not in ring_backend.CHOICES:
            choices = ", ".join(ring_backend.CHOICES)
            parser.error(f"unknown backend {backend!r}: choose from {choices}")
    ours = which("ustref-consumerd")
    if ours is None:
        raise SystemExit("ustref-consumerd is not installed beside this Python or on PATH")
    consumers = [] if args.no_c else [Consumer("C", "", (), {})]
    consumers += [
        Consumer("ustref", backend, (f"--consumerd64-path={ours}",), {ring_backend.ENV: backend})
        for backend in backends
    ]
    started = time.time()
    load_before = os.getloadavg()
    if scale:
        with tempfile.TemporaryDirectory(prefix="ustref-bench-scale-") as tmp:
            scale_runs = bench_scale(
                consumers,
                rounds,
                Path(tmp),
                apps=apps,
                uid_threads=args.uid_threads,
                sizes=sizes,
                seconds=args.seconds,
            )
        scale_rows = summarise_scale(scale_runs)
        report_scale(scale_rows)
        if not args.no_save:
            save_scale(
                started=started,
                load_before=load_before,
                runs=scale_runs,
                rows=scale_rows,
                rounds=rounds,
                seconds=args.seconds,
                ours=ours,
            )
        return
    with tempfile.TemporaryDirectory(prefix="ustref-bench-consumerd-") as tmp:
        runs = bench(consumers, events, rounds, Path(tmp), sizes, relayd=args.relayd)
    rows = summarise(runs)
    report(rows, runs, events)
    comparison = compare_backends(runs)
    kept_up = report_backends(comparison)
    if not args.no_save:
        save(
            args,
            started=started,
            load_before=load_before,
            runs=runs,
            rows=rows,
            comparison=comparison,
            events=events,
            rounds=rounds,
            sizes=sizes,
            ours=ours,
        )
    if not kept_up:
        raise SystemExit(1)


def save(
    args: argparse.Namespace,
    *,
    started: float,
    load_before: tuple[float, float, float],
    runs: Sequence[Run],
    rows: Sequence[Row],
    comparison: Sequence[dict[str, float | str | bool]],
    events: int,
    rounds: int,
    sizes: Sequence[int],
    ours: Path,
) -> None:
    """Write every run, the summary and the machine to ``benchmarks/results/``."""
    write_result(
        "consumerd-relayd" if args.relayd else "consumerd",
        "bench_consumerd",
        started,
        load_before,
        suffix="-quick" if args.quick else "",
        parameters={
            "events": events,
            "event_bytes": 64,
            "rounds": rounds,
            "num_subbuf": NUM_SUBBUF,
            "subbuf_sizes": list(sizes),
            "backends": sorted({r.backend for r in runs if r.backend}),
            "mode": "discard",
            "trace_dir_fs": _first_line("stat", "-f", "-c", "%T", tempfile.gettempdir()),
            "buffers": "per-uid",
            "output": "relayd (loopback)" if args.relayd else "local",
            "consumers": {"C": C_CONSUMERD, "ustref": str(ours)},
            "cpu_method": "/proc/<consumer pid>/stat utime+stime+cutime+cstime, "
            "before lttng start and after lttng destroy",
        },
        runs=[asdict(run) | {"complete": run.complete} for run in runs],
        summary=[asdict(row) for row in rows],
        ratios=ratios(rows, runs),
        backends_compared=list(comparison),
    )


def write_result(
    kind: str,
    benchmark: str,
    started: float,
    load_before: tuple[float, float, float],
    *,
    suffix: str = "",
    **sections: object,
) -> Path:
    """Write ``benchmarks/results/<kind>-<UTC start><suffix>.json``: the benchmark's
    name, when it started and how long it took, the machine (with its load before
    and after), then ``sections`` (parameters, runs, summary…) in order."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{kind}-{stamp}{suffix}.json"
    document = {
        "benchmark": benchmark,
        "started_utc": stamp,
        "seconds": round(time.time() - started, 1),
        "machine": machine() | {"loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        **sections,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {path}")
    return path


def save_scale(
    *,
    started: float,
    load_before: tuple[float, float, float],
    runs: Sequence[ScaleRun],
    rows: Sequence[dict[str, float | str | int]],
    rounds: int,
    seconds: float,
    ours: Path,
) -> None:
    """Write every scale run and the summary to ``benchmarks/results/``."""
    write_result(
        "consumerd-scale",
        "bench_consumerd --apps/--uid-threads",
        started,
        load_before,
        parameters={
            "rounds": rounds,
            "app_seconds": seconds,
            "event_bytes": 64,
            "num_subbuf": NUM_SUBBUF,
            "mode": "discard",
            "backends": sorted({r.backend for r in runs if r.backend}),
            "consumers": {"C": C_CONSUMERD, "ustref": str(ours)},
            "wakeups_method": "voluntary_ctxt_switches of /proc/<consumer>/task/*/status, "
            "before lttng start and after lttng destroy",
        },
        runs=[
            asdict(run)
            | {"cpu_ms_per_mib": run.cpu_ms_per_mib, "cpu_us_per_wakeup": run.cpu_us_per_wakeup}
            for run in runs
        ],
        summary=list(rows),
    )


if __name__ == "__main__":
    main()
