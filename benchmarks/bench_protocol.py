"""Typed parse/build rate of the full ``lttcomm_consumer_msg``, per command kind.

Prints, for several commands, messages per second of

* the interpreted typed grammar (``spec.parse`` / ``spec.build``),
* the flat fast path derived from the same grammar (``FastCodec``),
* a ``ctypes.Structure.from_buffer_copy`` mirror — the speed-of-light
  reference (one memcpy, no typed objects, no checks),

and the ratios to the mirror, all measured in the same run. Goal: ≥ 20,000
typed parses/s. Run alone (the machine has 2 cores)::

    python benchmarks/bench_protocol.py [--abi v2.13.9] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG
from ustref.protocol.ctypes_mirror import ctypes_mirror
from ustref.protocol.fastpath import FastCodec
from ustref.protocol.fields import StrictEnum, unwrap

COMMANDS = (
    "LTTNG_CONSUMER_ASK_CHANNEL_CREATION",
    "LTTNG_CONSUMER_PUSH_METADATA",
    "LTTNG_CONSUMER_GET_CHANNEL",
    "LTTNG_CONSUMER_SNAPSHOT_CHANNEL",
    "LTTNG_CONSUMER_CLOSE_TRACE_CHUNK",
)


def rate(func: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``func`` over about ``seconds``."""
    calls = 0
    batch = 50
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            func()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abi", default=Abi.V2_13_9.value)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    spec = CONSUMER_MSG[Abi.from_name(args.abi)]
    key_con = unwrap(spec.grammar.subcon.subcons[0])
    assert isinstance(key_con, StrictEnum)
    fast = FastCodec(spec)
    print(f"lttcomm_consumer_msg @ {args.abi}: {spec.size} bytes; fast path: {fast.supported}")
    header = (
        f"{'command':<36}{'parse':>9}{'fast':>9}{'build':>9}{'fastbld':>9}{'ctypes':>10}"
        f"{'fast/ctypes':>12}"
    )
    print(header)
    print("-" * len(header))
    fast_rates = []
    for name in COMMANDS:
        command = key_con.enum_type[name]
        data = struct.pack("<I", int(command)) + bytes(spec.size - 4)
        obj = spec.parse(data)
        assert fast.parse(data) == obj and fast.build(obj) == data
        mirror = ctypes_mirror(spec, command)
        parse_rate = rate(partial(spec.parse, data), args.seconds)
        fast_rate = rate(partial(fast.parse, data), args.seconds)
        build_rate = rate(partial(spec.build, obj), args.seconds)
        fast_build_rate = rate(partial(fast.build, obj), args.seconds)
        ctypes_rate = rate(partial(mirror.from_buffer_copy, data), args.seconds)
        fast_rates.append(fast_rate)
        short = name.removeprefix("LTTNG_CONSUMER_")
        print(
            f"{short:<36}{parse_rate:>9,.0f}{fast_rate:>9,.0f}{build_rate:>9,.0f}"
            f"{fast_build_rate:>9,.0f}{ctypes_rate:>10,.0f}{fast_rate / ctypes_rate:>12.3f}"
        )
    worst = min(fast_rates)
    print(
        f"\nslowest typed fast-path parse: {worst:,.0f}/s (goal ≥ 20,000/s): "
        f"{'met' if worst >= 20_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
