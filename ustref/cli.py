"""The ``ustref`` command line.

Sub-commands:

* ``ustref spec layout --abi v2.13.9|97535efaa [--json]`` — wire layouts from the grammars;
* ``ustref spec ring-layout [--json]`` — lttng-ust 2.13.5 ring-buffer layout (ctypes mirrors);
* ``ustref spec render [--out spec/] [--check]`` — the Markdown reference;
* ``ustref spec wireshark [--out spec/wireshark] [--check]`` — the Wireshark Lua dissector;
* ``ustref ring dump SHM_PATH -o TRACE_DIR`` — post-mortem trace recovery (like ``lttng-crash -x``);
* ``ustref decode CAPTURE [--abi …] [--json] [--check-roundtrip]`` — decode a conversation;
* ``ustref capture …`` — the recording consumer wrapper;
* ``ustref fuzz decode|consumerd|replay …`` — grammar-driven fuzzing;
* ``ustref conformance upstream …`` — LTTng's own regression scripts against a consumer;
* ``ustref demo`` — a real traced session of the sample app, summarised.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ustref.errors import UstrefError
from ustref.helptext import plain
from ustref.protocol.abi import ALL_ABIS, DEFAULT_ABI, Abi


def _print_json(doc: Any) -> None:
    json.dump(doc, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


def _spec_layout(args: argparse.Namespace) -> int:
    from ustref.protocol.layout import layout_json

    doc = layout_json(Abi.from_name(args.abi))
    if args.json:
        _print_json(doc)
        return 0
    for name, struct in doc["structs"].items():
        print(f"struct {name}  /* sizeof {struct['size']} */")
        for field in struct["fields"]:
            depth = field["name"].count(".")
            print(f"  {'  ' * depth}{field['offset']:>6} {field['size']:>6}  {field['name']}")
    for name, members in doc["enums"].items():
        print(f"enum {name} {{ " + ", ".join(f"{k} = {v}" for k, v in members.items()) + " }")
    return 0


def _spec_ring_layout(args: argparse.Namespace) -> int:
    from ustref.ring.layout import ring_layout_json

    doc = ring_layout_json()
    if args.json:
        _print_json(doc)
        return 0
    for name, struct in doc["structs"].items():
        print(f"struct {name}  /* sizeof {struct['size']}, alignof {struct['align']} */")
        for field in struct["fields"]:
            print(f"  {field['offset']:>6} {field['size']:>6}  {field['name']}")
    return 0


def _spec_render(args: argparse.Namespace) -> int:
    from ustref.specgen.render import render

    return render(Path(args.out), check=args.check)


def _spec_wireshark(args: argparse.Namespace) -> int:
    from ustref.specgen.wireshark import write_plugin

    return write_plugin(Path(args.out), check=args.check)


def _ring_dump(rest: list[str]) -> int:
    from ustref.ring.dump import dump_main

    status: int = dump_main(rest)
    return status


def _decode(rest: list[str]) -> int:
    from ustref.capture.decode import decode_main

    return decode_main(rest)


def _capture(rest: list[str]) -> int:
    from ustref.capture.cli import capture_main

    status: int = capture_main(rest)
    return status


def _fuzz(rest: list[str]) -> int:
    from ustref.fuzz.cli import fuzz_main

    status: int = fuzz_main(rest)
    return status


def _conformance(rest: list[str]) -> int:
    from ustref.conformance.cli import conformance_main

    return conformance_main(rest)


def _consumerd(argv: list[str]) -> int:
    from ustref.consumerd.cli import main as consumerd_main

    return consumerd_main(argv)


#: Sub-commands that own their argparse: they receive the rest of the line verbatim.
PASSTHROUGH: dict[tuple[str, ...], Callable[[list[str]], int]] = {
    ("consumerd",): _consumerd,
    ("ring", "dump"): _ring_dump,
    ("decode",): _decode,
    ("capture",): _capture,
    ("fuzz",): _fuzz,
    ("conformance",): _conformance,
}


def _demo(args: argparse.Namespace) -> int:
    from ustref.demo import run_demo

    return run_demo(events=args.events)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ustref", description=plain(__doc__.splitlines()[0]))
    sub = parser.add_subparsers(dest="command", required=True)

    spec = sub.add_parser("spec", help="the reference generated from the grammars")
    spec_sub = spec.add_subparsers(dest="spec_command", required=True)
    layout = spec_sub.add_parser("layout", help="lttcomm wire layouts (C names, offsets, sizes)")
    layout.add_argument("--abi", choices=[a.value for a in ALL_ABIS], default=DEFAULT_ABI.value)
    layout.add_argument("--json", action="store_true", help="machine-readable JSON")
    layout.set_defaults(func=_spec_layout)
    ring_layout = spec_sub.add_parser("ring-layout", help="lttng-ust 2.13.5 shm layout")
    ring_layout.add_argument("--json", action="store_true", help="machine-readable JSON")
    ring_layout.set_defaults(func=_spec_ring_layout)

    render = spec_sub.add_parser("render", help="write the Markdown reference (spec/)")
    render.add_argument("--out", default="spec", help="output directory (default: spec)")
    render.add_argument("--check", action="store_true", help="exit 1 if the committed pages differ")
    render.set_defaults(func=_spec_render)
    wireshark = spec_sub.add_parser("wireshark", help="write the Wireshark Lua dissector")
    wireshark.add_argument(
        "--out", default="spec/wireshark", help="output directory (default: spec/wireshark)"
    )
    wireshark.add_argument("--check", action="store_true", help="exit 1 if the plugin is stale")
    wireshark.set_defaults(func=_spec_wireshark)

    ring = sub.add_parser("ring", help="lttng-ust ring buffers")
    ring_sub = ring.add_subparsers(dest="ring_command", required=True)
    ring_sub.add_parser("dump", help="recover a CTF trace from --shm-path files", add_help=False)
    sub.add_parser(
        "decode", help="decode a captured sessiond↔consumerd conversation", add_help=False
    )
    sub.add_parser("capture", help="record a consumer daemon's conversation", add_help=False)
    sub.add_parser("fuzz", help="fuzz ustref's decoders or a real lttng-consumerd", add_help=False)
    sub.add_parser(
        "consumerd", help="run ustref-consumerd (lttng-consumerd's command line)", add_help=False
    )
    sub.add_parser(
        "conformance", help="LTTng's own regression suite against a consumer", add_help=False
    )

    demo = sub.add_parser("demo", help="trace the sample app with the real daemons, summarised")
    demo.add_argument("--events", type=int, default=1000, help="events the app emits")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        for prefix, command in PASSTHROUGH.items():
            if tuple(args_list[: len(prefix)]) == prefix:
                return command(args_list[len(prefix) :])
        args = parser.parse_args(args_list)
        result: int = args.func(args)
    except UstrefError as exc:
        print(f"ustref: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into head(1)
        sys.stderr.close()
        return 0
    return result
