"""The load run of issue 22 (item 4), with the C consumer and with ustref-consumerd:
64 concurrent per-PID applications that start, trace and exit in a loop for ten
minutes (about a thousand lifetimes) beside one long per-UID session, under a real
lttng-sessiond (:mod:`ustref.lttng.churn`).

For each consumer it prints and records: lifetimes, events recorded against expected
in the per-PID traces and in the long session, the consumer daemons' open fds,
shared-memory objects and resident memory before the churn, at its peak, once its
applications ended and once its session is destroyed, and their CPU time. Default
options: the consumers as lttng-sessiond launches them (ustref-consumerd with its
default, pure, ust-ctl backend). Writes
``benchmarks/results/load-<UTC time>.json``. Run it alone (2 cores)::

    python3 benchmarks/load_consumerd.py [--seconds 600] [--concurrency 64] [--no-save]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_consumerd import write_result

from ustref.lttng import SessionDaemon
from ustref.lttng.apps import build_app
from ustref.lttng.churn import ChurnResult, run_churn
from ustref.transport.launcher import which


def run_one(consumer: str | None, work: Path, seconds: float, concurrency: int) -> ChurnResult:
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    apps = work / "apps"
    with SessionDaemon(extra_args=extra, workdir=work / "sessiond", lock_timeout=1800) as sd:
        return run_churn(
            sd,
            build_app("tp_provider_app", apps),
            build_app("tracef_app", apps),
            work / "out",
            seconds=seconds,
            concurrency=concurrency,
            consumer="ustref" if consumer else "c",
        )


def _row(r: ChurnResult) -> str:
    return (
        f"{r.consumer:>6}  lifetimes {r.lifetimes:5d}  "
        f"per-PID events {r.churn_events}/{r.churn_events_expected} "
        f"({r.churn_unreadable} unreadable)  "
        f"long events {r.long_events}/{r.long_events_expected}  "
        f"fds {r.before.fds}→{r.peak.fds}→{r.ended.fds}→{r.after.fds}  "
        f"shm {r.before.shm}→{r.peak.shm}→{r.ended.shm}→{r.after.shm}  "
        f"RSS MiB {r.before.rss_kib / 1024:.1f}→{r.peak.rss_kib / 1024:.1f}→"
        f"{r.ended.rss_kib / 1024:.1f}→{r.after.rss_kib / 1024:.1f} "
        f"(anon {r.before.anon_kib / 1024:.1f}→{r.peak.anon_kib / 1024:.1f}→"
        f"{r.ended.anon_kib / 1024:.1f}→{r.after.anon_kib / 1024:.1f}, "
        f"shmem {r.before.shmem_kib / 1024:.1f}→{r.peak.shmem_kib / 1024:.1f}→"
        f"{r.ended.shmem_kib / 1024:.1f}→{r.after.shmem_kib / 1024:.1f})  "
        f"CPU s {(r.after.cpu_ticks - r.before.cpu_ticks) / os.sysconf('SC_CLK_TCK'):.1f}  "
        f"settled in {r.settle_seconds:.1f} s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument(
        "--only", choices=("c", "ustref"), help="run one consumer (implies --no-save)"
    )
    args = parser.parse_args(argv)
    ours = which("ustref-consumerd")
    if ours is None:
        raise SystemExit("ustref-consumerd is not installed")
    started = time.time()
    load = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="ustref-load-") as tmp:
        for name, consumer in (("c", None), ("ustref", str(ours))):
            if args.only not in (None, name):
                continue
            result = run_one(consumer, Path(tmp) / name, args.seconds, args.concurrency)
            print(_row(result), flush=True)
            results.append(result.to_json())
    if not args.no_save and args.only is None:
        write_result(
            "load",
            "load_consumerd",
            started,
            load,
            parameters={
                "seconds": args.seconds,
                "concurrency": args.concurrency,
                "ust_ctl": "pure (default)",
            },
            runs=results,
        )


if __name__ == "__main__":
    main()
