"""The README's Performance tables, generated from the committed benchmark results.

Each table sits between two marker comments in ``README.md`` that name its source::

    <!-- report:consumerd benchmarks/results/consumerd-<stamp>.json -->
    ...generated, never edited by hand...
    <!-- /report:consumerd -->

Kinds: ``consumerd`` (:mod:`bench_consumerd`'s JSON: per sub-buffer size and
consumer, medians of recorded and discarded events, CPU per MiB, ``lttng stop`` and
``lttng destroy`` latency; each ustref row names the ust-ctl backend it ran with, or
says the run predates that record), ``scale`` (its ``--apps``/``--uid-threads``
JSON), ``startup`` (:mod:`bench_startup`'s JSON) and
``ring`` (:mod:`bench_ring`'s text output, the "best of" lines). To show other
results, change the file a marker names and run this script.

With ``matplotlib`` (the ``bench`` extra: ``pip install -e '.[bench]'``), a
``consumerd`` table also gets a plot beside its JSON (``<stem>.png``: events recorded
and CPU per MiB against the sub-buffer size, C against ustref), linked under the
table; without it the script says so and writes the tables alone. Whether the link
is there depends only on the PNG being committed, so ``--check`` gives the same
answer with or without ``matplotlib``.

    python3 benchmarks/report.py           # rewrite README.md's tables (and plots)
    python3 benchmarks/report.py --check   # exit 1 if README.md differs from the JSON
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(
    r"(?P<open><!-- report:(?P<kind>[a-z]+) (?P<source>\S+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /report:(?P=kind) -->)",
    re.DOTALL,
)
SIZE_NAMES = {4 << 10: "4 KiB", 64 << 10: "64 KiB", 1 << 20: "1 MiB"}
NO_BACKEND = "ustref (backend not recorded)"


def size_name(size: int) -> str:
    if size in SIZE_NAMES:
        return SIZE_NAMES[size]
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"


def consumer_label(row: dict[str, Any]) -> str:
    """``C``, ``ustref/pure``, ``ustref/lib``, or ustref from a run that predates the
    ``backend`` field (issue 16's runs: liblttng-ust-ctl made the channels)."""
    if row["consumer"] == "C":
        return "C"
    backend = row.get("backend")
    return f"ustref/{backend}" if backend else NO_BACKEND


def consumerd_table(document: dict[str, Any]) -> str:
    lines = [
        "| sub-buffer | consumer | recorded | discarded | CPU ms/MiB | `lttng stop` ms "
        "| `lttng destroy` ms |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in document["summary"]:
        lines.append(
            f"| {size_name(row['subbuf_size'])} | {consumer_label(row)} "
            f"| {row['recorded']:,.0f} | {row['discarded']:,.0f} "
            f"| {row['cpu_ms_per_mib']:.2f} | {row['stop_ms']:.0f} | {row['destroy_ms']:.0f} |"
        )
    params = document["parameters"]
    lines.append("")
    lines.append(
        f"{params['events']:,} events of {params.get('event_bytes', 64)} B, "
        f"{params['rounds']} rounds, medians; machine load (1 min) "
        f"{_load_range(document)}."
    )
    return "\n".join(lines)


def _load_range(document: dict[str, Any]) -> str:
    loads = [run.get("load_1min", 0.0) for run in document["runs"]]
    return f"{min(loads):.2f}–{max(loads):.2f}" if loads else "unknown"


def startup_table(document: dict[str, Any]) -> str:
    lines = [
        "| consumer | spawn → ready ms | spawn → first reply ms | idle RSS MB | processes |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for consumer, row in document["summary"].items():
        label = consumer
        if consumer == "ustref":
            label = f"ustref/{document['parameters']['backend']}"
        lines.append(
            f"| {label} | {row['ready_ms']:.0f} | {row['first_reply_ms']:.0f} "
            f"| {row['rss_mb']:.1f} | {row['processes']:.0f} |"
        )
    ratios = document.get("ratios") or {}
    if ratios:
        lines.append("")
        lines.append(
            f"ustref/C: ready {ratios['ready']:.2f}×, first reply {ratios['first_reply']:.2f}×, "
            f"idle RSS {ratios['rss']:.2f}×; {document['parameters']['rounds']} rounds, "
            f"medians; machine load (1 min) {_load_range(document)}."
        )
    return "\n".join(lines)


def scale_table(document: dict[str, Any]) -> str:
    """:mod:`bench_consumerd`'s scale JSON (``--apps``/``--uid-threads``): per session
    kind and consumer, medians of the trace's streams, recorded events, CPU per MiB
    and per wake-up, ustref/C ratios, and the most unreadable per-PID traces of a round."""
    lines = [
        "| session | sub-buffer | consumer | streams | recorded | CPU ms/MiB | CPU µs/wake-up "
        "| recorded / C | CPU/MiB / C | unreadable traces, most in a round |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in document["summary"]:
        mode = row["mode"]
        session = f"{row['apps']} per-PID apps" if mode == "per-pid" else mode
        ratios = [
            f"{row[key]:.2f}×" if key in row else "" for key in ("recorded/C", "cpu_ms_per_mib/C")
        ]
        lines.append(
            f"| {session} | {size_name(row['subbuf_size'])} | {row['consumer']} "
            f"| {row['streams']:.0f} | {row['recorded']:,.0f} | {row['cpu_ms_per_mib']:.2f} "
            f"| {row['cpu_us_per_wakeup']:.1f} | {ratios[0]} | {ratios[1]} "
            f"| {row.get('unreadable', 0):.0f} |"
        )
    parameters = document["parameters"]
    lines.append("")
    lines.append(
        f"Apps at full rate for {parameters['app_seconds']:g} s, {parameters['rounds']} rounds, "
        f"medians; machine load (1 min) {_load_range(document)}."
    )
    return "\n".join(lines)


RING_COLUMNS = ("pure", "drain", "liblttng-ust-ctl", "memcpy", "writev")
RING_SECTION = re.compile(r"^sub-buffer (\d+) B x (\d+); best of (\d+) \(MB/s\):$")


def parse_ring(text: str) -> tuple[int, list[tuple[int, int, dict[str, float]]]]:
    """The "best of" sections of :mod:`bench_ring`'s output: (best of, sections)."""
    sections: list[tuple[int, int, dict[str, float]]] = []
    best = 0
    current: dict[str, float] | None = None
    for line in text.splitlines():
        match = RING_SECTION.match(line)
        if match:
            best = int(match[3])
            current = {}
            sections.append((int(match[1]), int(match[2]), current))
        elif current is not None and line.startswith("  ") and line.split()[0] in RING_COLUMNS:
            name, value = line.split()
            current[name] = float(value)
        else:
            current = None
    return best, sections


def ring_table(text: str) -> str:
    best, sections = parse_ring(text)
    lines = [
        "| sub-buffers | pure, one at a time | batched drain (`ring/drain.py`) "
        "| liblttng-ust-ctl via ctypes | memcpy | writev, no ring protocol |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, count, values in sections:
        cells = " | ".join(f"{values[name]:,.0f}" for name in RING_COLUMNS)
        lines.append(f"| {count} × {size_name(size)} | {cells} |")
    lines.append("")
    lines.append(f"Best of {best}, MB/s.")
    return "\n".join(lines)


def plot_path(source: Path) -> Path:
    return source.with_suffix(".png")


def write_plot(document: dict[str, Any], path: Path) -> bool:
    """Recorded events and CPU per MiB against the sub-buffer size, one line per
    consumer (medians); ``False`` when matplotlib is not installed."""
    try:
        import matplotlib  # optional: the ``bench`` extra

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = document["summary"]
    labels = list(dict.fromkeys(consumer_label(row) for row in rows))
    fig, (recorded, cpu) = plt.subplots(1, 2, figsize=(10, 4))
    for label in labels:
        mine = sorted(
            (row for row in rows if consumer_label(row) == label),
            key=lambda row: row["subbuf_size"],
        )
        sizes = [row["subbuf_size"] >> 10 for row in mine]
        recorded.plot(sizes, [row["recorded"] for row in mine], marker="o", label=label)
        cpu.plot(sizes, [row["cpu_ms_per_mib"] for row in mine], marker="o", label=label)
    ticks = sorted({row["subbuf_size"] for row in rows})
    for axes, title in ((recorded, "events recorded"), (cpu, "consumer CPU ms per MiB")):
        axes.set_xscale("log", base=2)
        axes.set_xticks([size >> 10 for size in ticks], [size_name(size) for size in ticks])
        axes.minorticks_off()
        axes.set_xlabel("sub-buffer size")
        axes.set_title(title)
        axes.grid(True, alpha=0.3)
        axes.legend()
    cpu.set_yscale("log")
    fig.suptitle(f"{document['benchmark']} {document['started_utc']} (medians)")
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
    return True


def render(kind: str, source: Path) -> str:
    """The generated text for one marker (without the markers)."""
    if kind == "ring":
        return ring_table(source.read_text())
    document = json.loads(source.read_text())
    if kind == "startup":
        return startup_table(document)
    if kind == "scale":
        return scale_table(document)
    if kind != "consumerd":
        raise SystemExit(f"unknown report kind {kind!r}")
    text = consumerd_table(document)
    png = plot_path(source)
    if png.exists():
        link = png.relative_to(ROOT).as_posix()
        text += f"\n\n![events recorded and CPU per MiB against sub-buffer size]({link})"
    return text


def regenerate(
    readme: str, root: Path = ROOT, on_source: Callable[[str, Path], None] | None = None
) -> str:
    """``readme`` with every marked block rendered from its source."""

    def replace(match: re.Match[str]) -> str:
        source = root / match["source"]
        if on_source is not None:
            on_source(match["kind"], source)
        return f"{match['open']}{render(match['kind'], source)}\n{match['close']}"

    return MARKER.sub(replace, readme)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if README.md is not what the results give"
    )
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    current = args.readme.read_text()
    if not MARKER.search(current):
        print(f"{args.readme}: no report markers", file=sys.stderr)
        return 1
    if args.check:
        wanted = regenerate(current)
        if wanted != current:
            print(
                f"{args.readme}: the Performance tables differ from the results they name; "
                "run python3 benchmarks/report.py",
                file=sys.stderr,
            )
            return 1
        return 0
    missing: list[str] = []

    def plot(kind: str, source: Path) -> None:
        if kind == "consumerd" and not write_plot(
            json.loads(source.read_text()), plot_path(source)
        ):
            missing.append(source.name)

    args.readme.write_text(regenerate(current, on_source=plot))
    if missing:
        print(
            "matplotlib is not installed (pip install -e '.[bench]'): no plot for "
            + ", ".join(missing)
            + "; the tables are written"
        )
    print(f"wrote {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
