"""``ustref conformance upstream``: LTTng's regression scripts against a chosen consumer.

    ustref conformance upstream [--consumer c|ustref|PATH] [--list NAME] [--script PATH]…
                                [--json FILE] [--build-dir DIR] [--user NAME] [--create-user]

``--consumer c`` is Debian's ``lttng-consumerd``; ``ustref`` is the
``ustref-consumerd`` console script; any other value is the path of an
executable. Without ``--list`` or ``--script`` the ``ust-local`` list runs.
Exit status 1 when a script has a ``not ok``, a bail-out, missing points or a
bad exit, or when the requested consumer never ran.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from ustref.conformance.lists import Script, available_lists, load_list, script_from_argument
from ustref.conformance.preflight import CONNECT_TIMEOUT, check_consumer_connects
from ustref.conformance.prepare import (
    PrepareError,
    TestTree,
    place_consumer,
    prepare_tree,
)
from ustref.conformance.report import ExpectedConsumer, RunReport
from ustref.conformance.run import Runner, ensure_user
from ustref.conformance.stage import runs_as, stage_consumer
from ustref.helptext import plain
from ustref.transport.launcher import which

__all__ = ["C_CONSUMERD", "conformance_main", "resolve_consumer"]

C_CONSUMERD = Path("/usr/lib/x86_64-linux-gnu/lttng/libexec/lttng-consumerd")
"""Debian's C consumer daemon (lttng-tools 2.13.9, amd64)."""

DEFAULT_USER = "ustref-conformance"


def _interpreter(path: Path) -> Path | None:
    """The interpreter of a ``#!`` script (``env NAME`` resolved on PATH), else ``None``."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if not words:
        return None
    if Path(words[0]).name == "env" and len(words) > 1:
        found = which(words[1])
        return found.resolve() if found else None
    return Path(words[0]).resolve()


def resolve_consumer(choice: str, tree: TestTree | None = None) -> ExpectedConsumer:
    """The executable for ``--consumer`` and how to recognise its processes."""
    if choice == "c":
        path = C_CONSUMERD
        if not path.exists():
            candidates = sorted(Path("/usr/lib").glob("*/lttng/libexec/lttng-consumerd"))
            path = candidates[0] if candidates else path
    elif choice == "ustref":
        found = which("ustref-consumerd")
        if found is None:
            raise PrepareError(
                "--consumer ustref: no ustref-consumerd on PATH or beside "
                f"{sys.executable} (is the consumer-daemon entry point installed?)"
            )
        path = found
    else:
        path = Path(choice)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise PrepareError(f"consumer {choice!r}: {path} is not an executable file")
    path = path.absolute()
    real = path.resolve()
    exes = {str(real)}
    interpreter = _interpreter(real)
    if interpreter is not None:
        exes.add(str(interpreter))
    argv_paths = {str(path), str(real)}
    if tree is not None:
        argv_paths.add(str(tree.consumerd_link))
    label = choice if choice in ("c", "ustref") else "path"
    return ExpectedConsumer(label, str(path), frozenset(exes), frozenset(argv_paths))


def _selected(args: argparse.Namespace) -> list[Script]:
    scripts: list[Script] = []
    names = args.list or ([] if args.script else ["ust-local"])
    known: dict[str, Script] = {}
    for name in available_lists():
        known.update((s.path, s) for s in load_list(name))
    for name in names:
        scripts.extend(load_list(name))
    scripts.extend(script_from_argument(p, known=known) for p in args.script)
    unique: dict[str, Script] = {}
    for script in scripts:
        unique.setdefault(script.path, script)
    return list(unique.values())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ustref conformance", description=plain(__doc__.splitlines()[0])
    )
    sub = parser.add_subparsers(dest="suite", required=True)
    up = sub.add_parser("upstream", help="lttng-tools 2.13.9's tests/regression scripts")
    up.add_argument("--consumer", default="c", help="c, ustref, or the path of an executable")
    up.add_argument(
        "--list",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a named list ({', '.join(available_lists())}); repeatable; default ust-local",
    )
    up.add_argument(
        "--script",
        action="append",
        default=[],
        metavar="PATH",
        help="a script as LTTng's lists write it, e.g. regression/ust/test_event_basic",
    )
    up.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    up.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="write the results as a Markdown section (for spec/conformance.md)",
    )
    up.add_argument("--build-dir", type=Path, default=Path("build/upstream"))
    up.add_argument(
        "--user",
        default=DEFAULT_USER,
        help=f"unprivileged user for the scripts marked 'user' (default {DEFAULT_USER})",
    )
    up.add_argument(
        "--create-user",
        action="store_true",
        default=bool(os.environ.get("CI")),
        help="create that user if missing (default when $CI is set)",
    )
    up.add_argument("--timeout", type=float, default=3600.0, help="seconds per script")
    up.add_argument(
        "--stall-timeout",
        type=float,
        default=600.0,
        help="stop a script that prints nothing for this many seconds (default 600)",
    )
    up.add_argument("--print", action="store_true", help="print the selected scripts and exit")
    return parser


def conformance_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    scripts = _selected(args)
    if args.print:
        for script in scripts:
            print(f"{script.path}{' user' if script.as_user else ''}")
        return 0
    # Before building or running anything: a consumer that exits at once would
    # otherwise cost each script the whole stall timeout.
    chosen = resolve_consumer(args.consumer)
    print(f"conformance: checking that {chosen.path} starts and connects", flush=True)
    if not check_consumer_connects(chosen.path):
        print(f"conformance: {chosen.path} did not connect within {CONNECT_TIMEOUT:g} s; going on")
    tree = prepare_tree(args.build_dir)
    expected = resolve_consumer(args.consumer, tree)
    needs_user = os.geteuid() == 0 and any(s.as_user for s in scripts)
    user = ensure_user(args.user, create=args.create_user) if needs_user else None
    if (
        user is not None
        and expected.label == "ustref"
        and runs_as(user, [expected.path, "--version"]).returncode != 0
    ):
        print(f"conformance: user {user.pw_name} cannot run {expected.path}: staging a copy")
        expected = stage_consumer(args.build_dir, user, expected)
    place_consumer(tree, Path(expected.path))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = args.build_dir.resolve() / "runs" / f"{stamp}-{expected.label}"
    print(
        f"conformance: {len(scripts)} script(s) of lttng-tools {tree.version} "
        f"against {expected.label} consumer {expected.path}",
        flush=True,
    )
    runner = Runner(tree, logs, user=user, timeout=args.timeout, stall_timeout=args.stall_timeout)
    # SIGTERM (tox, CI) unwinds like ^C: the running script and its daemons are killed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    report = RunReport(expected)
    for result in runner.run(scripts):
        report.results.append(result)
    print()
    print(report.table())
    for line in report.summary_lines():
        print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=1) + "\n")
    if args.markdown is not None:
        selection = ", ".join([*args.list, *args.script]) or "ust-local"
        args.markdown.write_text(
            report.markdown_section(
                f"{selection}, {time.strftime('%Y-%m-%d')}, lttng-tools {tree.version}"
            )
        )
    if report.passed:
        with contextlib.suppress(OSError):
            logs.rmdir()
    else:
        print(f"logs kept in {logs}")
    return 0 if report.passed else 1
