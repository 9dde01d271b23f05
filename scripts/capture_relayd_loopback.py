#!/usr/bin/env python3
"""Capture spec/wireshark/relayd-loopback.pcapng: a real streaming session on loopback.

Runs :func:`ustref.lttng.loopback.capture_relayd_loopback` (lttng-relayd on free
loopback ports, the root lttng-sessiond and its C lttng-consumerd, tshark on
``lo``, one per-UID streaming session with ``tracef_app``), then reads the capture
back with the generated dissector and writes, beside it, ``<name>.cmd``: this
command, the commands it ran, and the tshark command (with the ports as ``-o``
preferences) that reads it. Must run as root::

    python3 scripts/capture_relayd_loopback.py --out spec/wireshark/relayd-loopback.pcapng
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ustref.lttng.loopback import (  # noqa: E402
    capture_relayd_loopback,
    dissect_relayd,
    tshark_port_options,
)

PLUGIN = REPO / "spec" / "wireshark" / "ustref.lua"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the pcapng to write")
    parser.add_argument("--events", type=int, default=10, help="events the app emits")
    args = parser.parse_args(argv)
    out: Path = args.out
    made = capture_relayd_loopback(out, events=args.events)
    seen = dissect_relayd(out, made.ports, PLUGIN)
    rel = out.resolve().relative_to(REPO) if out.resolve().is_relative_to(REPO) else out
    options = " ".join(tshark_port_options(made.ports))
    lines = [
        f"# {rel} was captured, as root with lttng-tools 2.13.9, by:",
        f"python3 scripts/capture_relayd_loopback.py --out {rel} --events {args.events}",
        "# which ran:",
        *(f"#   {command}" for command in made.commands),
        "# Read it with (the relay daemon's ports were free ones, given as preferences):",
        f"tshark -X lua_script:spec/wireshark/ustref.lua {options} -r {rel}",
        f"# Control commands: {', '.join(dict.fromkeys(seen.commands))}",
        f"# Data frames: {seen.data_frames}; TCP payload bytes {seen.tcp_bytes}, "
        f"decoded {seen.decoded_bytes}; expert infos: {len(seen.experts)}",
    ]
    out.with_suffix(".cmd").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
