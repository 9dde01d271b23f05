"""Start-up and idle footprint of the C consumer and of ustref-consumerd, interleaved.

No session daemon runs: the benchmark plays its side of the start-up
(:func:`ustref.transport.startup.sessiond_side`), as ``spawn_consumerd`` and
``consumerd_thread_manage`` (lttng-sessiond, main.c/manage-consumer.c @ v2.13.9)
do. Per run:

1. listen on an error socket, spawn the consumer with the argv lttng-sessiond
   writes (``"" -u --consumerd-cmd-sock P --consumerd-err-sock P --group tracing``):
   Debian's ``lttng-consumerd``, or the ``ustref-consumerd`` script (the path
   ``--consumerd64-path`` names, so Python's start-up and every import count);
2. ``ready``: spawn until ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY`` arrived on the
   error socket (and the command and metadata connections were made);
3. ``first_reply``: spawn until the status answering ``LTTNG_CONSUMER_INIT``, the
   session daemon's first command, arrived (what a consumer that is "ready" but
   still importing would cost the session daemon);
4. idle ``rss``: after :data:`IDLE_SECONDS` idle, ``VmRSS`` of the consumer plus
   every descendant (the C consumer's run-as worker, ustref's if it has one), from
   ``/proc``; also ``VmHWM`` (peak) of the consumer itself;
5. SIGTERM, reap.

Before the first run, the package the ``ustref-consumerd`` script imports is
byte-compiled (:func:`byte_compile`), as ``pip install`` leaves an installed one:
otherwise, under ``PYTHONDONTWRITEBYTECODE``, every spawn would compile every module
from source again (~80 ms here) and time the compiler, not the consumer.

Rounds alternate which consumer goes first. As root, the consumers' health sockets
(``/var/run/lttng/ustconsumerd64/health`` for C, which has no option to move it) are
kept off the machine's: the benchmark enters a mount namespace of its own with a
private tmpfs on ``/var/run/lttng`` (its children inherit it). Not as root, ``HOME``
points into a temporary directory.

Prints the medians and the ratios ustref/C (goals of issue 24: ready ≤ 1.5× C's,
idle RSS ≤ 20 MB), and writes every run to
``benchmarks/results/startup-<UTC time>.json``::

    python3 benchmarks/bench_startup.py [--rounds 5] [--no-save] [--backend pure|lib]
        [--ustref PATH]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_consumerd import C_CONSUMERD, stop_child, write_result

from ustref.consumerd import ring_backend
from ustref.consumerd.startup import HEALTH_PATH_ENV
from ustref.libc import libc as shared_libc
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    STATUS_MSG,
    ConsumerMsgV2139,
    InitMember,
    LttngConsumerCommand,
)
from ustref.transport.framing import recv_exact
from ustref.transport.launcher import which
from ustref.transport.startup import sessiond_side

TIMEOUT = 30.0
IDLE_SECONDS = 0.5
"""How long the consumer sits idle (after its first reply) before its RSS is read."""
RUNDIR = "/var/run/lttng"
RSS_GOAL_MB = 20.0
READY_GOAL = 1.5
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18


@dataclass(frozen=True)
class Run:
    """One start-up of one consumer."""

    consumer: str
    round: int
    ready_ms: float
    first_reply_ms: float
    rss_kb: int
    """Idle ``VmRSS`` of the consumer and all its descendants."""
    own_rss_kb: int
    hwm_kb: int
    processes: int
    """The consumer and its descendants when the RSS was read."""
    backend: str = ""
    load_1min: float = 0.0


def isolate_rundir() -> str:
    """Give this process (and its children) a private, empty ``/var/run/lttng``;
    returns how the health sockets were kept apart."""
    if os.getuid() != 0:
        return "HOME in a temporary directory (not root)"
    libc = shared_libc()
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
    rundir = os.path.realpath(RUNDIR)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise SystemExit(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise SystemExit(f"mount --make-rprivate /: {os.strerror(ctypes.get_errno())}")
    target = rundir if os.path.isdir(rundir) else os.path.dirname(rundir)
    if libc.mount(b"tmpfs", target.encode(), b"tmpfs", 0, None) != 0:
        raise SystemExit(f"mount tmpfs on {target}: {os.strerror(ctypes.get_errno())}")
    # lttng-sessiond makes the consumers' run directories (the health socket's home).
    os.makedirs(os.path.join(rundir, "ustconsumerd64"), exist_ok=True)
    return f"private mount namespace, tmpfs on {target}"


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (``/proc/PID/task/TID/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                text = Path(f"/proc/{current}/task/{tid}/children").read_text()
            except FileNotFoundError:
                continue
            todo.extend(int(child) for child in text.split())
    return found


def status_kb(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/PID/status`` (0 when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def byte_compile(program: str) -> str:
    """Byte-compile the ``ustref`` package that the console script ``program`` runs
    (with the interpreter of its ``#!`` line), as an installed package is; returns
    that interpreter."""
    with open(program, "rb") as script:
        first = script.readline()
    interpreter = first[2:].strip().decode() if first.startswith(b"#!") else sys.executable
    code = (
        "import compileall, os, ustref\n"
        "compileall.compile_dir(os.path.dirname(ustref.__file__), quiet=1)"
    )
    subprocess.run([interpreter, "-c", code], check=True)
    return interpreter


def init_command() -> bytes:
    """``LTTNG_CONSUMER_INIT``, the first command lttng-sessiond sends a consumer."""
    msg = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_INIT,
        u=InitMember(sessiond_uuid=bytes(range(16))),
    )
    return bytes(CONSUMER_MSG[Abi.V2_13_9].build(msg))


def start_once(consumer: str, program: str, backend: str, round_: int, tmp: Path) -> Run:
    """Spawn one consumer, time its start-up, read its idle RSS, stop it."""
    workdir = Path(tempfile.mkdtemp(dir=tmp))
    err_path, cmd_path = str(workdir / "error"), str(workdir / "command")
    env = dict(os.environ, HOME=str(workdir), LTTNG_HOME=str(workdir))
    env[HEALTH_PATH_ENV] = str(workdir / "health")
    if backend:
        env[ring_backend.ENV] = backend
    argv = [program, "", "-u", "--consumerd-cmd-sock", cmd_path]
    argv += ["--consumerd-err-sock", err_path, "--group", "tracing"]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(err_path)
    listener.listen(1)
    load = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
    try:
        sockets = sessiond_side(listener, cmd_path, TIMEOUT, why=f" ({consumer})")
        ready = time.monotonic()
        sockets.command.settimeout(TIMEOUT)
        sockets.command.sendall(init_command())
        STATUS_MSG.parse(recv_exact(sockets.command, STATUS_MSG.size))
        first_reply = time.monotonic()
        time.sleep(IDLE_SECONDS)  # idle: nothing to wait for, the consumer only sits
        pids = descendants(proc.pid)
        rss = sum(status_kb(pid, "VmRSS") for pid in pids)
        own, hwm = status_kb(proc.pid, "VmRSS"), status_kb(proc.pid, "VmHWM")
    finally:
        stop_child(proc, TIMEOUT)
        listener.close()
    for sock in (sockets.command, sockets.metadata, sockets.error):
        sock.close()
    return Run(
        consumer=consumer,
        round=round_,
        ready_ms=(ready - started) * 1e3,
        first_reply_ms=(first_reply - started) * 1e3,
        rss_kb=rss,
        own_rss_kb=own,
        hwm_kb=hwm,
        processes=len(pids),
        backend=backend,
        load_1min=load,
    )


def summarise(runs: Sequence[Run]) -> dict[str, dict[str, float]]:
    """Medians per consumer."""
    out: dict[str, dict[str, float]] = {}
    for consumer in dict.fromkeys(r.consumer for r in runs):
        mine = [r for r in runs if r.consumer == consumer]
        out[consumer] = {
            "ready_ms": statistics.median(r.ready_ms for r in mine),
            "first_reply_ms": statistics.median(r.first_reply_ms for r in mine),
            "rss_mb": statistics.median(r.rss_kb for r in mine) / 1024,
            "own_rss_mb": statistics.median(r.own_rss_kb for r in mine) / 1024,
            "hwm_mb": statistics.median(r.hwm_kb for r in mine) / 1024,
            "processes": statistics.median(r.processes for r in mine),
        }
    return out


def report(summary: dict[str, dict[str, float]]) -> dict[str, float]:
    """Print the medians and the ratios; return the ratios."""
    print(
        f"\n{'consumer':<8} {'ready ms':>9} {'1st reply ms':>12} {'RSS MB':>7} {'own':>6} "
        f"{'peak':>6} {'procs':>5}"
    )
    for consumer, row in summary.items():
        print(
            f"{consumer:<8} {row['ready_ms']:>9.1f} {row['first_reply_ms']:>12.1f} "
            f"{row['rss_mb']:>7.1f} {row['own_rss_mb']:>6.1f} {row['hwm_mb']:>6.1f} "
            f"{row['processes']:>5.0f}"
        )
    if "C" not in summary or "ustref" not in summary:
        return {}
    c, ours = summary["C"], summary["ustref"]
    ratios = {
        "ready": ours["ready_ms"] / c["ready_ms"],
        "first_reply": ours["first_reply_ms"] / c["first_reply_ms"],
        "rss": ours["rss_mb"] / c["rss_mb"],
    }
    ok = "met" if ratios["ready"] <= READY_GOAL else "missed"
    print(f"\nready, ustref/C: {ratios['ready']:.2f}x (goal <= {READY_GOAL}, {ok})")
    print(f"first reply, ustref/C: {ratios['first_reply']:.2f}x")
    ok = "met" if ours["rss_mb"] <= RSS_GOAL_MB else "missed"
    print(
        f"idle RSS: ustref {ours['rss_mb']:.1f} MB, C {c['rss_mb']:.1f} MB "
        f"({ratios['rss']:.2f}x; goal <= {RSS_GOAL_MB:.0f} MB, {ok})"
    )
    return ratios


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="default 5")
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON")
    parser.add_argument(
        "--backend",
        choices=ring_backend.CHOICES,
        default=ring_backend.DEFAULT,
        help=f"ustref-consumerd's ust-ctl backend (default {ring_backend.DEFAULT})",
    )
    parser.add_argument("--no-c", action="store_true", help="leave the C consumer out")
    parser.add_argument(
        "--ustref",
        type=Path,
        default=None,
        help="the ustref-consumerd to start (default: the one beside this Python or on PATH; "
        "another build's, to compare)",
    )
    args = parser.parse_args(argv)
    ours = args.ustref or which("ustref-consumerd")
    if ours is None:
        raise SystemExit("ustref-consumerd is not installed beside this Python or on PATH")
    consumers = [] if args.no_c else [("C", C_CONSUMERD, "")]
    consumers.append(("ustref", str(ours), args.backend))
    interpreter = byte_compile(str(ours))
    isolation = isolate_rundir()
    started = time.time()
    load_before = os.getloadavg()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="ustref-bench-startup-") as tmp:
        for round_ in range(args.rounds):
            order = consumers if round_ % 2 == 0 else consumers[::-1]
            for consumer, program, backend in order:
                run = start_once(consumer, program, backend, round_, Path(tmp))
                print(
                    f"round {round_} {consumer:<7} ready {run.ready_ms:7.1f} ms, first reply "
                    f"{run.first_reply_ms:7.1f} ms, RSS {run.rss_kb / 1024:5.1f} MB "
                    f"({run.processes} processes)",
                    flush=True,
                )
                runs.append(run)
    summary = summarise(runs)
    ratios = report(summary)
    if args.no_save:
        return
    write_result(
        "startup",
        "bench_startup",
        started,
        load_before,
        parameters={
            "rounds": args.rounds,
            "idle_seconds": IDLE_SECONDS,
            "backend": args.backend,
            "consumers": {name: program for name, program, _ in consumers},
            "health_isolation": isolation,
            "python": sys.executable,
            "bytecode": f"ustref byte-compiled ahead by {interpreter} (compileall)",
        },
        runs=[asdict(run) for run in runs],
        summary=summary,
        ratios=ratios,
    )


if __name__ == "__main__":
    main()
