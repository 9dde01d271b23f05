"""Drain a full ring buffer: pure reader vs liblttng-ust-ctl via ctypes vs plain memcpy.

A metadata channel of liblttng-ust-ctl (lttng-ust 2.13.5) is filled to the
brim with ``lttng_ust_ctl_write_one_packet_to_channel`` (one packet per
sub-buffer), then drained — ``get_next_subbuf``, copy the padded sub-buffer
out, ``put_next_subbuf`` — once by ustref's pure reader and once by the
library through ctypes (``lttng_ust_ctl_get_mmap_base`` + read offset +
``ctypes.string_at``). The limit is a ``memmove`` of the same sub-buffers into
a preallocated buffer, with no ring-buffer protocol at all. Prints MB/s and
the ratios of one run::

    python3 benchmarks/bench_ring.py [--subbuf-size 4096] [--num-subbuf 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import ctypes
import time
from collections.abc import Callable

from ustref.ring.reader import Status, StreamReader
from ustref.ring.ustctl import OracleChannel, OracleStream

HEADER = 37  # metadata packet header


def fill(channel: OracleChannel, subbuf_size: int, num_subbuf: int) -> int:
    """Fill every sub-buffer; close the last one. Returns how many are ready."""
    chunk = bytes(range(256)) * (subbuf_size // 256)
    while channel.write_one_packet(chunk[: subbuf_size - HEADER]) > 0:
        pass
    return num_subbuf


def drain_pure(reader: StreamReader) -> tuple[int, int]:
    total = count = 0
    while reader.get_next_subbuf() is Status.OK:
        total += len(reader.read_subbuf())
        count += 1
        reader.put_next_subbuf()
    return total, count


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


def main() -> None:
    parser = argparse.ArgumentParser(description="Drain a full ring buffer three ways.")
    parser.add_argument("--subbuf-size", type=int, default=4096)
    parser.add_argument("--num-subbuf", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3, help="best of N fills per back end")
    args = parser.parse_args()
    best: dict[str, float] = {}
    with OracleChannel(
        metadata=True, subbuf_size=args.subbuf_size, num_subbuf=args.num_subbuf
    ) as channel:
        stream = channel.create_stream(0)
        with StreamReader.from_fd(stream.shm_fd) as reader:
            dest = bytearray(args.subbuf_size)
            for _ in range(args.rounds):
                runs: tuple[tuple[str, Callable[[], tuple[int, int]]], ...] = (
                    ("pure", lambda: drain_pure(reader)),
                    ("liblttng-ust-ctl", lambda: drain_oracle(stream)),
                    ("memcpy", lambda: drain_memcpy(reader, dest)),
                )
                for name, run in runs:
                    if name != "memcpy":
                        fill(channel, args.subbuf_size, args.num_subbuf)
                    start = time.perf_counter()
                    total, count = run()
                    elapsed = time.perf_counter() - start
                    assert count >= args.num_subbuf - 1, (name, count)
                    rate = total / elapsed / 1e6
                    best[name] = max(best.get(name, 0.0), rate)
                    per_subbuf = elapsed * 1e6 / count
                    print(
                        f"{name:18s} {count:6d} sub-buffers {total / 1e6:7.2f} MB "
                        f"{per_subbuf:7.2f} us/sub-buffer {rate:9.1f} MB/s"
                    )
    print()
    print(f"sub-buffer {args.subbuf_size} B x {args.num_subbuf}; best of {args.rounds} (MB/s):")
    for name, rate in best.items():
        print(f"  {name:18s} {rate:9.1f}")
    print("ratios:")
    print(f"  pure / liblttng-ust-ctl  {best['pure'] / best['liblttng-ust-ctl']:.2f}")
    print(f"  pure / memcpy            {best['pure'] / best['memcpy']:.3f}")
    print(f"  liblttng-ust-ctl / memcpy {best['liblttng-ust-ctl'] / best['memcpy']:.3f}")


if __name__ == "__main__":
    main()
