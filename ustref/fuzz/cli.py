"""``ustref fuzz …``: ``decode``, ``consumerd`` and ``replay`` (wired by :mod:`ustref.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ustref.capture.wrapper import find_consumerd
from ustref.helptext import plain


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ustref fuzz", description=plain(__doc__))
    sub = parser.add_subparsers(dest="command", required=True)

    dec = sub.add_parser("decode", help="fuzz ustref's decoders (decode or RemoteProtocolError)")
    dec.add_argument("--seconds", type=float, required=True)
    dec.add_argument("--seed", type=int, default=0)
    dec.add_argument("--out", type=Path, default=None, help="where findings and corpus go")
    dec.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")

    con = sub.add_parser("consumerd", help="fuzz a real lttng-consumerd as its session daemon")
    con.add_argument("--consumerd", help="the consumer daemon (default: Debian's lttng-consumerd)")
    con.add_argument("--seconds", type=float, required=True)
    con.add_argument("--seed", type=int, default=0)
    con.add_argument("--out", type=Path, required=True)
    con.add_argument("--timeout", type=float, default=3.0, help="reply timeout (hang)")
    con.add_argument("--abi", default="v2.13.9")

    rep = sub.add_parser("replay", help="replay a consumerd finding")
    rep.add_argument("file", type=Path)
    rep.add_argument("--consumerd", help="the consumer daemon (default: Debian's lttng-consumerd)")
    rep.add_argument("--timeout", type=float, default=3.0)
    return parser


def fuzz_main(argv: list[str]) -> int:
    """Entry point of ``ustref fuzz``; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command != "decode" and args.consumerd is None:
        args.consumerd = find_consumerd()
    if args.command == "decode":
        from ustref.fuzz.decode import decode_main

        return decode_main(args.seconds, args.seed, args.out, args.engine)
    if args.command == "consumerd":
        from ustref.fuzz.consumerd import consumerd_main
        from ustref.protocol.abi import Abi

        return consumerd_main(
            args.consumerd,
            args.seconds,
            seed=args.seed,
            out=args.out,
            timeout=args.timeout,
            abi=Abi.from_name(args.abi),
        )
    from ustref.fuzz.replay import replay_main

    return replay_main(args.file, args.consumerd, args.timeout)


if __name__ == "__main__":
    sys.exit(fuzz_main(sys.argv[1:]))
