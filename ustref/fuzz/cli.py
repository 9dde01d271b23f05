"""``ustref fuzz …``: ``decode``, ``consumerd`` and ``replay`` (wired by :mod:`ustref.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ustref.capture.wrapper import find_consumerd
from ustref.helptext import plain

TARGETS = ("c", "ustref", "both")


def _targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help="c: the C consumer; ustref: ustref-consumerd; both: each sequence to a fresh "
        "one of each, and the two transcripts compared (differential mode). Default: c "
        "(replay: the reproducer's own target)",
    )
    parser.add_argument(
        "--consumerd", help="the C consumer daemon (default: Debian's lttng-consumerd)"
    )
    parser.add_argument(
        "--ustref-consumerd",
        dest="ustref_consumerd",
        help="ustref's consumer daemon (default: the ustref-consumerd beside this Python)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ustref fuzz", description=plain(__doc__))
    sub = parser.add_subparsers(dest="command", required=True)

    dec = sub.add_parser("decode", help="fuzz ustref's decoders (decode or RemoteProtocolError)")
    dec.add_argument("--seconds", type=float, required=True)
    dec.add_argument("--seed", type=int, default=0)
    dec.add_argument("--out", type=Path, default=None, help="where findings and corpus go")
    dec.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")

    con = sub.add_parser("consumerd", help="fuzz a real lttng-consumerd as its session daemon")
    _targets(con)
    con.add_argument("--seconds", type=float, required=True)
    con.add_argument("--seed", type=int, default=0)
    con.add_argument("--out", type=Path, required=True)
    con.add_argument("--timeout", type=float, default=3.0, help="reply timeout (hang)")
    con.add_argument("--abi", default="v2.13.9")

    rep = sub.add_parser("replay", help="replay a consumerd finding")
    rep.add_argument("file", type=Path)
    _targets(rep)
    rep.add_argument("--timeout", type=float, default=3.0)
    return parser


def fuzz_main(argv: list[str]) -> int:
    """Entry point of ``ustref fuzz``; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "decode":
        from ustref.fuzz.decode import decode_main

        return decode_main(args.seconds, args.seed, args.out, args.engine)
    from ustref.fuzz.launch import ustref_consumerd
    from ustref.protocol.abi import Abi

    if args.command == "consumerd" and args.target is None:
        args.target = "c"
    c_binary: str = args.consumerd or (find_consumerd() if args.target != "ustref" else "")
    u_binary: str | list[str] = args.ustref_consumerd or ustref_consumerd()
    if args.command == "replay":
        from ustref.fuzz.replay import replay_main

        return replay_main(args.file, c_binary, args.timeout, target=args.target, ustref=u_binary)
    if args.target == "both":
        from ustref.fuzz.differential import differential_main

        return differential_main(
            c_binary,
            u_binary,
            args.seconds,
            seed=args.seed,
            out=args.out,
            timeout=args.timeout,
            abi=Abi.from_name(args.abi),
        )
    from ustref.fuzz.consumerd import consumerd_main

    return consumerd_main(
        u_binary if args.target == "ustref" else c_binary,
        args.seconds,
        seed=args.seed,
        out=args.out,
        timeout=args.timeout,
        abi=Abi.from_name(args.abi),
    )


if __name__ == "__main__":
    sys.exit(fuzz_main(sys.argv[1:]))
