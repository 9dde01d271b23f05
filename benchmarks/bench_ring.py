"""Drain a full ring buffer: pure reader, batched drain, liblttng-ust-ctl, and two limits.

A metadata channel of liblttng-ust-ctl (lttng-ust 2.13.5) is filled to the
brim with ``lttng_ust_ctl_write_one_packet_to_channel``, then drained, and the
fill repeated before every timed drain:

``pure``
    ustref's :class:`~ustref.ring.reader.StreamReader` one sub-buffer at a
    time, as the C consumer calls the library: ``get_next_subbuf``, copy the
    padded sub-buffer out (``read_subbuf``), ``put_next_subbuf``.
``drain``
    ustref's consumer data path, :func:`ustref.ring.drain.drain`: every ready
    sub-buffer taken at once, written with one ``os.writev`` of views of the
    mapping into a memfd (the kernel copies into its page cache, as into a
    trace file on tmpfs), put back with one move of ``consumed``.
``liblttng-ust-ctl``
    the library through ctypes: ``get_next_subbuf``, ``get_mmap_base`` + read
    offset + ``ctypes.string_at`` of the padded size, ``put_next_subbuf``.
``memcpy``
    the limit: a ``memmove`` of the same sub-buffers into a preallocated
    buffer, with no ring-buffer protocol at all.
``writev``
    the limit of any consumer that writes a trace file: the same sub-buffers
    written by one ``os.writev`` into the memfd, with no ring-buffer protocol
    (the kernel's copy into its page cache, not a user-space ``memmove``).

Prints MB/s per round, the best of each, and the ratios of one run, for each
sub-buffer size::

    python3 benchmarks/bench_ring.py [--subbuf-size 4096 1048576] [--rounds 5]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import time
from collections.abc import Callable

from ustref.ring.drain import FdSink, drain
from ustref.ring.libustctl import OracleChannel, OracleStream
from ustref.ring.reader import Status, StreamReader

HEADER = 37  # metadata packet header
#: the issue 16 goals: (row, over row, sub-buffer size, at least)
GOALS = (
    ("drain", "liblttng-ust-ctl", 4096, 1.0),
    ("drain", "memcpy", 1 << 20, 0.5),
)


def fill(channel: OracleChannel, subbuf_size: int) -> None:
    """Write packets until the buffer refuses one: every sub-buffer but the writer's is ready."""
    chunk = bytes(range(256)) * (subbuf_size // 256)
    while channel.write_one_packet(chunk[: subbuf_size - HEADER]) > 0:
        pass


def drain_pure(reader: StreamReader) -> tuple[int, int]:
    total = count = 0
    while reader.get_next_subbuf() is Status.OK:
        total += len(reader.read_subbuf())
        count += 1
        reader.put_next_subbuf()
    return total, count


def drain_batched(reader: StreamReader, out_fd: int) -> tuple[int, int]:
    os.lseek(out_fd, 0, os.SEEK_SET)
    result = drain(reader, FdSink(out_fd), budget=reader.geometry.num_subbuf)
    return result.bytes_written, result.subbuffers


def drain_oracle(stream: OracleStream) -> tuple[int, int]:
    total = count = 0
    while stream.get_next_subbuf() is Status.OK:
        total += len(stream.read_subbuf())
        count += 1
        stream.put_next_subbuf()
    return total, count


def drain_memcpy(reader: StreamReader, dest: bytearray) -> tuple[int, int]:
    geo = reader.geometry
    base = reader.mapping.address
    out = (ctypes.c_char * len(dest)).from_buffer(dest)
    total = 0
    for data in reader.tables.data[: geo.num_subbuf]:
        ctypes.memmove(out, base + data, geo.subbuf_size)
        total += geo.subbuf_size
    del out
    return total, geo.num_subbuf


def write_memfd(reader: StreamReader, out_fd: int) -> tuple[int, int]:
    geo = reader.geometry
    octets = reader.mapping.octets
    views = [octets[data : data + geo.subbuf_size] for data in reader.tables.data[: geo.num_subbuf]]
    os.lseek(out_fd, 0, os.SEEK_SET)
    total = os.writev(out_fd, views)
    for view in views:
        view.release()
    return total, geo.num_subbuf


def bench(subbuf_size: int, num_subbuf: int, rounds: int) -> dict[str, float]:
    """Best MB/s of each row over ``rounds`` rounds, rows interleaved within a round."""
    best: dict[str, float] = {}
    with OracleChannel(metadata=True, subbuf_size=subbuf_size, num_subbuf=num_subbuf) as channel:
        stream = channel.create_stream(0)
        out_fd = os.memfd_create("bench-ring-out")
        try:
            with StreamReader.from_fd(stream.shm_fd) as reader:
                dest = bytearray(subbuf_size)
                runs: tuple[tuple[str, Callable[[], tuple[int, int]]], ...] = (
                    ("pure", lambda: drain_pure(reader)),
                    ("drain", lambda: drain_batched(reader, out_fd)),
                    ("liblttng-ust-ctl", lambda: drain_oracle(stream)),
                    ("memcpy", lambda: drain_memcpy(reader, dest)),
                    ("writev", lambda: write_memfd(reader, out_fd)),
                )
                for _ in range(rounds):
                    for name, run in runs:
                        if name not in ("memcpy", "writev"):
                            fill(channel, subbuf_size)
                        start = time.perf_counter()
                        total, count = run()
                        elapsed = time.perf_counter() - start
                        assert count >= num_subbuf - 1, (name, count)
                        rate = total / elapsed / 1e6
                        best[name] = max(best.get(name, 0.0), rate)
                        print(
                            f"{name:18s} {count:6d} sub-buffers {total / 1e6:7.2f} MB "
                            f"{elapsed * 1e6 / count:8.2f} us/sub-buffer {rate:9.1f} MB/s"
                        )
        finally:
            os.close(out_fd)
    return best


def report(subbuf_size: int, num_subbuf: int, rounds: int, best: dict[str, float]) -> None:
    print()
    print(f"sub-buffer {subbuf_size} B x {num_subbuf}; best of {rounds} (MB/s):")
    for name, rate in best.items():
        print(f"  {name:18s} {rate:9.1f}")
    print("ratios:")
    for row, over in (
        ("drain", "liblttng-ust-ctl"),
        ("drain", "memcpy"),
        ("drain", "writev"),
        ("writev", "memcpy"),
        ("pure", "liblttng-ust-ctl"),
        ("pure", "memcpy"),
        ("liblttng-ust-ctl", "memcpy"),
    ):
        ratio = best[row] / best[over]
        goal = next((g for r, o, s, g in GOALS if (r, o, s) == (row, over, subbuf_size)), None)
        verdict = ""
        if goal is not None:
            verdict = f"  (goal >= {goal}: {'met' if ratio >= goal else 'MISSED'})"
        print(f"  {row + ' / ' + over:28s} {ratio:6.3f}{verdict}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description="Drain a full ring buffer, against two limits.")
    parser.add_argument("--subbuf-size", type=int, nargs="+", default=[4096, 1 << 20])
    parser.add_argument(
        "--num-subbuf", type=int, default=None, help="default: 4 MiB worth, at least 4"
    )
    parser.add_argument("--rounds", type=int, default=5, help="best of N fills per row")
    args = parser.parse_args()
    for subbuf_size in args.subbuf_size:
        num_subbuf = args.num_subbuf or max(4, (4 << 20) // subbuf_size)
        best = bench(subbuf_size, num_subbuf, args.rounds)
        report(subbuf_size, num_subbuf, args.rounds, best)


if __name__ == "__main__":
    main()
