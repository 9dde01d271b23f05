"""The decoder invariant and its fuzz loop (``ustref fuzz decode``).

Invariant: for any bytes, every ustref decoder either decodes or raises
:class:`~ustref.errors.RemoteProtocolError` — never another exception — and
returns within :data:`TIME_BOUND` seconds. The decoders (:func:`targets`):
``parse`` of every registered struct of both ABIs, the :class:`FastCodec`
fast path of each, the metadata-socket reply decoder, the close-trace-chunk
path check, and the conversation machine fed framed event lists
(:func:`ustref.fuzz.conversation.unframe`).

The loop is coverage-guided with atheris when it is installed (inputs: one
selector byte naming the target, then the message); otherwise it is a seeded
loop over valid encodings drawn by Hypothesis from the grammars and damaged by
:func:`ustref.fuzz.mutations.mutate` (not coverage-guided).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.grammars import schema
from ustref.protocol.registry import StructSpec

#: A decode slower than this (seconds) is a finding.
TIME_BOUND = 0.5


@dataclasses.dataclass(frozen=True)
class Target:
    """One decoder under test: a name, a function of bytes, and the spec it decodes."""

    name: str
    run: Callable[[bytes], object]
    spec: StructSpec[Any] | None = None
    abi: Abi | None = None


@dataclasses.dataclass(frozen=True)
class Finding:
    """An input that broke the invariant."""

    target: str
    kind: str
    """``exception`` or ``slow``."""
    detail: str
    data: bytes
    elapsed: float

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "detail": self.detail,
            "elapsed": round(self.elapsed, 4),
            "input_hex": self.data.hex(),
        }


def _conversation_target(abi: Abi) -> Callable[[bytes], object]:
    from ustref.fuzz.conversation import feed, unframe

    return lambda data: feed(abi, unframe(data))


def _metadata_reply_target(abi: Abi) -> Callable[[bytes], object]:
    from ustref.protocol.consumer import parse_metadata_socket_reply

    return lambda data: parse_metadata_socket_reply(abi, data)


def _close_chunk_path(data: bytes) -> object:
    from ustref.protocol.consumer import CLOSE_TRACE_CHUNK_REPLY, close_trace_chunk_path

    return close_trace_chunk_path(CLOSE_TRACE_CHUNK_REPLY.parse(data))


@functools.cache
def targets(abis: tuple[Abi, ...] = ALL_ABIS) -> tuple[Target, ...]:
    """Every decoder of ``abis``, in a stable order."""
    from ustref.protocol.fastpath import FastCodec

    out: list[Target] = []
    for abi in abis:
        for name, spec in sorted(schema(abi).structs.items()):
            out.append(Target(f"{abi.value}:{name}", spec.parse, spec, abi))
            codec: FastCodec[Any] = FastCodec(spec)
            if codec.supported:
                out.append(Target(f"{abi.value}:{name}[fast]", codec.parse, spec, abi))
        out.append(Target(f"{abi.value}:metadata-socket-reply", _metadata_reply_target(abi)))
        out.append(Target(f"{abi.value}:conversation", _conversation_target(abi), None, abi))
    out.append(Target("close_trace_chunk_path", _close_chunk_path))
    return tuple(out)


def check(target: Target, data: bytes, bound: float = TIME_BOUND) -> Finding | None:
    """Run ``target`` on ``data``; a :class:`Finding` if the invariant breaks."""
    start = time.perf_counter()
    try:
        target.run(data)
    except RemoteProtocolError:
        pass
    except Exception as exc:  # the invariant: nothing else may escape
        elapsed = time.perf_counter() - start
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return Finding(target.name, "exception", detail, data, elapsed)
    elapsed = time.perf_counter() - start
    if elapsed > bound:
        return Finding(target.name, "slow", f"{elapsed:.3f}s > {bound}s", data, elapsed)
    return None


# ------------------------------------------------------------------ the loop


@dataclasses.dataclass
class Stats:
    """Counters of one run."""

    executions: int = 0
    findings: list[Finding] = dataclasses.field(default_factory=list)
    started: float = dataclasses.field(default_factory=time.monotonic)
    per_target: dict[str, int] = dataclasses.field(default_factory=dict)
    engine: str = ""
    seen: set[str] = dataclasses.field(default_factory=set)

    def rate(self) -> float:
        return self.executions / max(time.monotonic() - self.started, 1e-9)

    def summary(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "seconds": round(time.monotonic() - self.started, 1),
            "executions": self.executions,
            "execs_per_second": round(self.rate(), 1),
            "targets": len(self.per_target),
            "findings": [f.to_json() for f in self.findings],
        }


def _record(stats: Stats, finding: Finding, out: Path | None) -> None:
    last_line = finding.detail.splitlines()[-1] if finding.detail else ""
    key = f"{finding.target}|{finding.kind}|{last_line}"
    if key in stats.seen:
        return
    stats.seen.add(key)
    stats.findings.append(finding)
    print(f"\nFINDING {finding.kind} in {finding.target}:\n{finding.detail}", file=sys.stderr)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(finding.data).hexdigest()[:12]
        path = out / f"decode-{finding.kind}-{digest}.json"
        path.write_text(json.dumps(finding.to_json(), indent=1) + "\n")


def _progress(stats: Stats, last: list[float]) -> None:
    now = time.monotonic()
    if now - last[0] >= 1.0:
        last[0] = now
        sys.stderr.write(
            f"\r[decode/{stats.engine}] {stats.executions} execs, {stats.rate():.0f}/s, "
            f"{len(stats.per_target)} targets, {len(stats.findings)} findings   "
        )
        sys.stderr.flush()


def seed_inputs(target: Target, count: int, seed: int) -> list[bytes]:
    """Valid inputs for ``target`` drawn by Hypothesis from its grammar (or conversation table)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from ustref.fuzz.conversation import conversations, frame
    from ustref.fuzz.grammar_strategies import valid_bytes_for

    collected: list[bytes] = []
    if target.spec is not None:
        strategy: Any = valid_bytes_for(target.spec)
    elif target.abi is not None and target.name.endswith(":conversation"):
        strategy = conversations(target.abi).map(frame)
    else:
        return [b""]

    @hseed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(data: bytes) -> None:
        collected.append(data)

    collect()
    return collected or [b""]


def run_random(
    seconds: float, seed: int, out: Path | None, select: Sequence[Target] | None = None
) -> Stats:
    """The fallback loop: grammar-drawn seeds, field-level mutations, seeded ``random``."""
    from ustref.fuzz.mutations import RandomChooser, mutate

    rng = random.Random(seed)
    chooser = RandomChooser(rng)
    pool = list(select or targets())
    stats = Stats(engine="hypothesis+mutations")
    corpus: dict[str, list[bytes]] = {}
    deadline = time.monotonic() + seconds
    last = [0.0]
    while time.monotonic() < deadline:
        target = rng.choice(pool)
        seeds = corpus.get(target.name)
        if seeds is None:
            seeds = corpus[target.name] = seed_inputs(target, 4, rng.randrange(1 << 30))
        data = rng.choice(seeds)
        for _ in range(rng.randint(0, 3)):
            if target.spec is not None:
                data, _what = mutate(target.spec, data, chooser)
            else:
                pos = rng.randrange(len(data) + 1)
                data = data[:pos] + bytes([rng.randrange(256)]) + data[pos + rng.randint(0, 1) :]
        finding = check(target, data)
        stats.executions += 1
        stats.per_target[target.name] = stats.per_target.get(target.name, 0) + 1
        if finding is not None:
            _record(stats, finding, out)
        _progress(stats, last)
    return stats


def atheris_available() -> bool:
    try:
        import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def run_atheris(seconds: float, seed: int, out: Path | None) -> None:
    """The coverage-guided loop (never returns: exits with 1 on a finding, else 0)."""
    import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

    pool = targets()
    stats = Stats(engine="atheris")
    deadline = [0.0]  # set when fuzzing starts (after seeding and instrumentation)
    last = [0.0]
    work = (out or Path(".")) / "decode-corpus"
    work.mkdir(parents=True, exist_ok=True)
    for index, target in enumerate(pool):
        for n, data in enumerate(seed_inputs(target, 2, seed + index)):
            (work / f"seed-{index}-{n}").write_bytes(index.to_bytes(2, "little") + data)

    def one_input(raw: bytes) -> None:
        if not deadline[0]:
            stats.started = time.monotonic()
            deadline[0] = stats.started + seconds
        elif time.monotonic() >= deadline[0]:
            _finish(stats, out)
        if len(raw) < 2:
            return
        target = pool[int.from_bytes(raw[:2], "little") % len(pool)]
        finding = check(target, raw[2:])
        stats.executions += 1
        stats.per_target[target.name] = stats.per_target.get(target.name, 0) + 1
        if finding is not None:
            _record(stats, finding, out)
        _progress(stats, last)

    atheris.instrument_all()
    argv = [sys.argv[0], f"-seed={seed}", "-max_len=16384", "-rss_limit_mb=4096", str(work)]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()
    _finish(stats, out)


def _finish(stats: Stats, out: Path | None) -> None:
    import os

    report(stats, out)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if stats.findings else 0)


def report(stats: Stats, out: Path | None) -> None:
    """Print (and save) the JSON summary."""
    doc = stats.summary()
    sys.stderr.write("\n")
    print(json.dumps(doc, indent=1))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "decode-summary.json").write_text(json.dumps(doc, indent=1) + "\n")


def decode_main(seconds: float, seed: int, out: Path | None, engine: str) -> int:
    """``ustref fuzz decode``: returns the exit status (1 on a finding)."""
    if engine == "atheris" or (engine == "auto" and atheris_available()):
        run_atheris(seconds, seed, out)  # exits
    stats = run_random(seconds, seed, out)
    report(stats, out)
    return 1 if stats.findings else 0
