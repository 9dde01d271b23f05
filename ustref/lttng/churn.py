"""Application churn against a consumer daemon (issue 22, load): many short-lived
per-PID applications beside one long per-UID session, under a real lttng-sessiond.

:func:`run_churn` keeps ``concurrency`` applications alive for ``seconds``: each emits
:data:`CHURN_EVENTS_PER_APP` ``ustref_test:all_types`` events into a per-PID session
and exits, and another takes its place. Meanwhile one application emits
``lttng_ust_tracef`` events at a steady pace into a per-UID session whose channel
blocks rather than discards, so that session must hold every one of them.

The consumer daemons' open fds, shared-memory objects (fds and mappings of
``/dev/shm`` objects or memfds) and resident memory are read from ``/proc`` before
the churn, at their peak, once the churn's buffers are released and once its session
is destroyed (the long one still running); the traces are
read back with babeltrace2. ``benchmarks/load_consumerd.py`` runs it for ten minutes
with each consumer; ``tests/consumerd/test_load.py`` for one.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ustref.lttng.babeltrace import count_events, count_messages
from ustref.lttng.sessiond import LttngError, SessionDaemon

#: ``comm`` of the C and of the ustref consumer daemon (15 characters at most).
CONSUMER_COMMS = ("lttng-consumerd", "ustref-consumer")

CHURN_EVENTS_PER_APP = 100
"""Events each short-lived application emits (``tp_provider_app N``): they fit in its
per-PID buffers, so none is discarded whatever the consumer's pace."""
CHURN_SUBBUF = "16384"
LONG_PERIOD_US = 2000
"""The long application's pace: one event every 2 ms."""
LONG_MARGIN = 40.0
"""Seconds the long application runs past the churn, so that the consumers' resources
are read again while it still runs."""
_POLL = 0.01
_BATCH = 128
"""Per-PID traces babeltrace2 reads in one run (three files each stay open)."""


@dataclass(frozen=True)
class Resources:
    """What the consumer daemons hold, summed over their processes."""

    fds: int
    shm: int
    """Distinct shared-memory objects (``/dev/shm/…`` or ``memfd:…``) open or mapped."""
    rss_kib: int
    cpu_ticks: int
    anon_kib: int
    """The private part of :attr:`rss_kib` (``RssAnon``): the heap, the interpreter's
    arenas. The rest is file pages (the binaries, libraries) and ``RssShmem``."""
    shmem_kib: int
    """``RssShmem``: the pages of the applications' ring buffers the consumer mapped
    and touched, counted in :attr:`rss_kib` too."""


def fd_table(pids: list[int]) -> set[str]:
    """``PID:FD -> target`` of every open fd of ``pids`` (pipes and sockets by inode)."""
    table = set()
    for pid in pids:
        try:
            entries = list(os.scandir(f"/proc/{pid}/fd"))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                table.add(f"{pid}:{entry.name} -> {os.readlink(entry.path)}")
            except OSError:
                continue
    return table


def _shm_name(target: str) -> bool:
    return target.startswith(("/dev/shm/", "memfd:"))


def resources(pids: list[int]) -> Resources:
    """Read ``/proc/PID/{fd,maps,status,stat}`` of ``pids``."""
    fds = rss = ticks = anon = shmem = 0
    shm: set[tuple[int, str]] = set()
    for pid in pids:
        base = Path(f"/proc/{pid}")
        try:
            for entry in os.scandir(base / "fd"):
                fds += 1
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    continue
                if _shm_name(target):
                    shm.add((pid, target + "#" + str(os.stat(entry.path).st_ino)))
            for line in (base / "maps").read_text().splitlines():
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and _shm_name(parts[5]):
                    shm.add((pid, parts[5] + "#" + parts[4]))
            for line in (base / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon += int(line.split()[1])
                elif line.startswith("RssShmem:"):
                    shmem += int(line.split()[1])
            stat = (base / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(stat[11]) + int(stat[12])
        except FileNotFoundError:
            continue
    return Resources(fds, len(shm), rss, ticks, anon, shmem)


@dataclass(frozen=True)
class ChurnResult:
    consumer: str
    seconds: float
    concurrency: int
    lifetimes: int
    churn_events_expected: int
    churn_events: int
    """Events read in the per-PID traces babeltrace2 reads."""
    churn_unreadable: int
    """Per-PID traces babeltrace2 cannot read."""
    long_events_expected: int
    long_events: int
    before: Resources
    peak: Resources
    ended: Resources
    """Once the last churn application ended and its buffers went: the churn session
    (and its trace chunk) still exists."""
    after: Resources
    """Once the churn session was destroyed, the long session still running."""
    settle_seconds: float
    """How long the churn's buffers took to be released once the last app ended."""
    fds_left: list[str]
    """Fds open after the churn that were not before it (``PID:FD -> target``)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def per_app_events(root: Path) -> tuple[int, int]:
    """Events in the per-PID traces under ``root`` (one per application), and how many
    of those traces babeltrace2 cannot read. Read :data:`_BATCH` traces per babeltrace2
    run; a batch that fails is read again one trace at a time."""
    apps = sorted(root.glob("ust/pid/*"))
    events = unreadable = 0
    for start in range(0, len(apps), _BATCH):
        batch = apps[start : start + _BATCH]
        try:
            events += count_messages(batch).get("Event", 0)
            continue
        except LttngError:
            pass
        for app in batch:
            try:
                events += count_messages(app).get("Event", 0)
            except LttngError:
                unreadable += 1
    return events, unreadable


def consumer_pids(sd: SessionDaemon) -> list[int]:
    return [info.pid for info in sd.children() if info.comm in CONSUMER_COMMS]


def _long_session_ready(pids: list[int], long_out: Path, timeout: float) -> Resources:
    """The consumers' resources once the long session's per-UID buffers are set up: its
    metadata and data files exist and the consumers' fd and shm counts held still for a
    few polls (the churn is measured against this level)."""
    start = time.monotonic()
    last: Resources | None = None
    still = 0
    while time.monotonic() - start < timeout:
        files = [p.name for p in long_out.glob("ust/uid/*/*/*") if p.is_file()]
        now = resources(pids)
        ready = "metadata" in files and any(name.startswith("chan_") for name in files)
        same = last is not None and (now.fds, now.shm) == (last.fds, last.shm)
        still = still + 1 if ready and same else 0
        if still >= 10:
            return now
        last = now
        time.sleep(_POLL)
    raise LttngError(f"the long session's buffers were not set up after {timeout:g} s")


def _settle(pids: list[int], target: Resources, timeout: float) -> tuple[Resources, float]:
    """Poll until the consumers hold no more fds and shm objects than ``target``."""
    start = time.monotonic()
    now = resources(pids)
    while (now.fds > target.fds or now.shm > target.shm) and time.monotonic() - start < timeout:
        time.sleep(_POLL)
        now = resources(pids)
    return now, time.monotonic() - start


def run_churn(
    sd: SessionDaemon,
    churn_app: Path,
    long_app: Path,
    out: Path,
    *,
    seconds: float,
    concurrency: int = 64,
    consumer: str = "",
    settle_timeout: float = LONG_MARGIN / 2,
) -> ChurnResult:
    """Run the churn (see the module's docstring) on a started ``sd``."""
    long_out, churn_out = out / "long", out / "churn"
    sd.run_lttng("create", "long", f"--output={long_out}")
    sd.run_lttng(
        "enable-channel", "--userspace", "--session=long", "--buffers-uid",
        "--blocking-timeout=inf", "chan",
    )  # fmt: skip
    sd.run_lttng("enable-event", "--userspace", "--session=long", "--channel=chan",
                 "lttng_ust_tracef:*")  # fmt: skip
    sd.run_lttng("create", "churn", f"--output={churn_out}")
    sd.run_lttng(
        "enable-channel", "--userspace", "--session=churn", "--buffers-pid",
        f"--subbuf-size={CHURN_SUBBUF}", "chan",
    )  # fmt: skip
    sd.run_lttng("enable-event", "--userspace", "--session=churn", "--channel=chan",
                 "ustref_test:*")  # fmt: skip
    for name in ("long", "churn"):
        sd.run_lttng("start", name)
    pids = consumer_pids(sd)
    if not pids:
        raise LttngError("no consumer daemon under the session daemon")

    # Each application waits for its registration to finish before its main() (-1: no
    # timeout), so that it traces all its events however loaded the session daemon is.
    env = {**sd.env, "LTTNG_UST_REGISTER_TIMEOUT": "-1"}
    long_env = {**env, "LTTNG_UST_ALLOW_BLOCKING": "1"}
    long_events = max(1, int((seconds + LONG_MARGIN) * 1e6 / LONG_PERIOD_US))
    long_proc = subprocess.Popen(
        [str(long_app), str(long_events), str(LONG_PERIOD_US)], env=long_env
    )
    running: list[subprocess.Popen[bytes]] = []
    lifetimes = 0
    failed = 0
    try:
        before = _long_session_ready(pids, long_out, 60.0)
        table = fd_table(pids)
        peak = before
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline or running:
            still = []
            for proc in running:
                status = proc.poll()
                if status is None:
                    still.append(proc)
                    continue
                lifetimes += 1
                failed += status != 0
            running = still
            if time.monotonic() < deadline:
                while len(running) < concurrency:
                    running.append(
                        subprocess.Popen([str(churn_app), str(CHURN_EVENTS_PER_APP)], env=env)
                    )
            now = resources(pids)
            peak = Resources(
                max(peak.fds, now.fds), max(peak.shm, now.shm),
                max(peak.rss_kib, now.rss_kib), now.cpu_ticks,
                max(peak.anon_kib, now.anon_kib), max(peak.shmem_kib, now.shmem_kib),
            )  # fmt: skip
            time.sleep(_POLL)
        if failed:
            raise LttngError(f"{failed} of {lifetimes} churn applications failed")
        # Measured while the long application still runs: it holds per-PID buffers of
        # the churn session too (every session sets up its channels for every app), as
        # it did when the level to return to was read.
        ended, settle = _settle(pids, before, settle_timeout)
        left = sorted(fd_table(pids) - table)
        # The churn session's trace chunk lists every file it created (trace-chunk.c
        # `lttng_trace_chunk_add_file`, C and ustref alike) until the session goes.
        sd.run_lttng("stop", "churn", timeout=300)
        sd.run_lttng("destroy", "churn", timeout=300)
        after, _ = _settle(pids, before, settle_timeout)
        if long_proc.poll() is not None:
            raise LttngError("the long application ended before the churn's buffers went")
        if long_proc.wait(timeout=seconds + LONG_MARGIN + 60) != 0:
            raise LttngError("the long application failed")
    finally:
        for proc in [*running, long_proc]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sd.run_lttng("stop", "long", timeout=300)
    sd.run_lttng("destroy", "long", timeout=300)
    churn_events, unreadable = per_app_events(churn_out)
    return ChurnResult(
        consumer=consumer,
        seconds=seconds,
        concurrency=concurrency,
        lifetimes=lifetimes,
        churn_events_expected=lifetimes * CHURN_EVENTS_PER_APP,
        churn_events=churn_events,
        churn_unreadable=unreadable,
        long_events_expected=long_events,
        long_events=count_events(long_out, "lttng_ust_tracef:*"),
        before=before,
        peak=peak,
        ended=ended,
        after=after,
        settle_seconds=round(settle, 3),
        fds_left=left,
    )
