"""``ustref capture …``: the recording consumer wrapper from the command line.

* ``ustref capture wrapper-path`` — print the executable to give
  ``lttng-sessiond --consumerd64-path=``;
* ``ustref capture env -o FILE [--consumerd PATH] [--passthrough-monitor]
  [--passthrough-relayd]`` —
  print the session daemon environment (``KEY=VALUE``, shell-quoted) that makes
  the wrapper record into ``FILE`` with this interpreter;
* ``ustref capture run -o FILE [--consumerd PATH] [--passthrough-monitor] -- ARG…``
  — be the wrapper: run the real ``lttng-consumerd`` with ``ARG…`` as its
  ``argv[1:]`` (what the session daemon passes), recording into ``FILE``; exit
  with its status;
* ``ustref capture show CAPTURE [--summary]`` — list the records of a capture
  file or raw capture directory (or count them by socket and direction);
* ``ustref capture export CAPTURE --pcapng OUT [--abi …]`` — write the capture
  as pcapng for Wireshark with the generated dissector (``ustref spec wireshark``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter
from collections.abc import Sequence

from ustref.capture.format import AnyRecord, RelaydRecord, load_capture
from ustref.errors import UstrefError
from ustref.protocol.abi import ALL_ABIS, DEFAULT_ABI, Abi

__all__ = ["build_parser", "capture_main", "describe_record"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ustref capture", description="record the session daemon ↔ consumer daemon talk"
    )
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("wrapper-path", help="print the --consumerd64-path executable")
    for name, helptext in (
        ("env", "print the session daemon environment for recording"),
        ("run", "run the real lttng-consumerd under the recorder"),
    ):
        action = sub.add_parser(name, help=helptext)
        action.add_argument("-o", "--output", required=True, help="capture file to write")
        action.add_argument("--consumerd", help="the real lttng-consumerd (default: Debian's)")
        action.add_argument(
            "--passthrough-monitor",
            action="store_true",
            help="hand the channel-monitor pipe over untouched (samples not recorded)",
        )
        action.add_argument(
            "--passthrough-relayd",
            action="store_true",
            help="hand the relay daemon sockets over untouched (relay traffic not recorded)",
        )
        if name == "run":
            action.add_argument("consumerd_args", nargs=argparse.REMAINDER)
    show = sub.add_parser("show", help="list the records of a capture")
    show.add_argument("capture", help="capture file or raw capture directory")
    show.add_argument("--summary", action="store_true", help="count records per socket")
    export = sub.add_parser("export", help="write a capture as pcapng for Wireshark")
    export.add_argument("capture", help="capture file or raw capture directory")
    export.add_argument("--pcapng", required=True, help="pcapng file to write")
    export.add_argument("--abi", choices=[a.value for a in ALL_ABIS], default=DEFAULT_ABI.value)
    return parser


def describe_record(record: AnyRecord, *, preview: int = 16) -> str:
    """One line per record: seq, time, socket#connection, direction, size, fds, first bytes."""
    head = record.data[:preview].hex(" ")
    more = " …" if len(record.data) > preview else ""
    if isinstance(record, RelaydRecord):
        arrow = "->" if record.direction.short == "c2r" else "<-"
        body = "EOF" if record.is_eof else f"{len(record.data):6d} B  {head}{more}"
        peers = f"consumerd {arrow} relayd {record.peer} (net index {record.net_index})"
    else:
        arrow = "->" if record.direction.short == "s2c" else "<-"
        fds = f" +{record.fd_count} fd" if record.fd_count else ""
        kinds = f" ({', '.join(record.fd_kinds)})" if record.fd_kinds else ""
        body = "EOF" if record.is_eof else f"{len(record.data):6d} B{fds}{kinds}  {head}{more}"
        peers = f"sessiond {arrow} consumerd"
    return (
        f"{record.seq:5d} {record.time_ns / 1e9:16.6f} "
        f"{record.socket.value}#{record.connection} {peers} {body}"
    )


def _show(path: str, summary: bool) -> int:
    capture = load_capture(path)
    records = capture.in_order()
    if summary:
        counts = Counter((r.socket.value, r.direction.value) for r in records)
        for (role, direction), count in sorted(counts.items()):
            print(f"{role:16} {direction:20} {count}")
        print(f"{'total':37} {len(records)}")
    else:
        for record in records:
            print(describe_record(record))
    if capture.end is not None:
        print(f"consumer exit status {capture.end.exit_status}")
    return 0


def capture_main(argv: list[str]) -> int:
    """Run ``ustref capture`` with ``argv`` (the words after ``capture``); return the status."""
    args = build_parser().parse_args(argv)
    try:
        if args.action == "wrapper-path":
            from ustref.capture.launch import wrapper_path

            print(wrapper_path())
            return 0
        if args.action == "env":
            from ustref.capture.launch import capture_env

            env = capture_env(
                args.output,
                consumerd=args.consumerd,
                interpose_monitor=not args.passthrough_monitor,
                interpose_relayd=not args.passthrough_relayd,
            )
            for key, value in env.items():
                print(f"{key}={shlex.quote(value)}")
            return 0
        if args.action == "run":
            from ustref.capture.wrapper import exit_like, run_wrapper

            rest: Sequence[str] = args.consumerd_args
            if rest and rest[0] == "--":
                rest = rest[1:]
            status = run_wrapper(
                rest,
                out=args.output,
                consumerd=args.consumerd,
                interpose_monitor=not args.passthrough_monitor,
                interpose_relayd=not args.passthrough_relayd,
            )
            return exit_like(status)
        if args.action == "export":
            from ustref.capture.pcapng import export_pcapng

            count = export_pcapng(args.capture, args.pcapng, Abi.from_name(args.abi))
            print(f"{count} packets written to {args.pcapng}")
            return 0
        return _show(args.capture, args.summary)
    except UstrefError as exc:
        print(f"ustref capture: {exc}", file=sys.stderr)
        return 1
