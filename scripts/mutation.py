#!/usr/bin/env python3
"""Mutation testing of the modules the reference leans on, one module at a time.

    python scripts/mutation.py                      # every module below
    python scripts/mutation.py ustref/ring/crash.py # one of them
    tox -e mutation [-- MODULE …]                   # the same, opt-in (not in CI)

For each module, mutmut 3 mutates its functions and runs only the fast,
daemon-free test files that exercise it (``TESTS``), with a single worker
(``--max-children 1``: the machine is shared). Each module gets its own scratch
project under ``build/mutation/<name>/`` (a copy of ``ustref/``, ``tests/``,
``spec/`` and ``pyproject.toml`` plus a ``setup.cfg`` naming the module), so
the repository's own files are never mutated and runs do not mix. The kill
rate is printed per module, and the surviving mutants are listed; each one is
either covered by a test or explained in ``spec/mutation.md``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "mutation"

#: Module → the test files that exercise it (no daemons, no long fuzzing).
TESTS: dict[str, tuple[str, ...]] = {
    "ustref/protocol/consumer.py": (
        "tests/protocol/test_consumer.py",
        "tests/protocol/test_consumer_replies.py",
        "tests/protocol/test_consumer_errors.py",
        "tests/protocol/test_c_layout.py",
        "tests/protocol/test_reply_rules.py",
        "tests/protocol/test_conversation.py",
        "tests/golden/test_golden.py",
    ),
    "ustref/protocol/conversation/rules.py": (
        "tests/protocol/test_reply_rules.py",
        "tests/protocol/test_conversation.py",
        "tests/golden/test_golden.py",
    ),
    "ustref/ring/reader.py": (
        "tests/ring/test_differential.py",
        "tests/ring/test_crash_record.py",
        "tests/ring/test_stream_tables.py",
        "tests/ring/test_robustness.py",
        "tests/ring/test_crash_patch.py",
        "tests/ring/test_dump.py",
    ),
    "ustref/ring/crash.py": (
        "tests/ring/test_differential.py",
        "tests/ring/test_robustness.py",
        "tests/ring/test_crash_patch.py",
        "tests/ring/test_dump.py",
        "tests/ring/test_layout.py",
        "tests/ring/test_crash_record.py",
    ),
}

COPIED = ("ustref", "tests", "spec", "pyproject.toml")


def prepare(module: str, scratch: Path) -> None:
    """A scratch project whose ``setup.cfg`` makes mutmut mutate only ``module``."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, scratch / name)
    tests = "\n    ".join(TESTS[module])
    (scratch / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths = ustref\n"
        f"only_mutate = {module}\n"
        "also_copy =\n    spec\n"
        f"pytest_add_cli_args_test_selection =\n    {tests}\n"
        "pytest_add_cli_args =\n    -m\n    not lttng\n    -p\n    no:cacheprovider\n"
    )


def results(scratch: Path) -> dict[str, str]:
    """mutant name → status (killed, survived, timeout, …) from ``mutmut results``."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=scratch,
        capture_output=True,
        text=True,
        check=False,
    )
    out: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if ":" in line:
            name, _, status = line.strip().rpartition(": ")
            if name and status:
                out[name.strip()] = status.strip()
    return out


def run(module: str, timeout: float) -> tuple[int, int, list[str]]:
    scratch = WORK / module.replace("/", "_").removesuffix(".py")
    prepare(module, scratch)
    started = time.monotonic()
    try:
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", "1"],
            cwd=scratch,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"{module}: time-boxed at {timeout:.0f} s, partial results", file=sys.stderr)
    statuses = results(scratch)
    tested = {k: v for k, v in statuses.items() if v not in ("not checked", "skipped")}
    killed = sum(1 for v in tested.values() if v in ("killed", "timeout", "segfault"))
    survivors = sorted(k for k, v in tested.items() if v in {"survived", "no tests"})
    elapsed = time.monotonic() - started
    rate = 100.0 * killed / len(tested) if tested else 0.0
    print(f"{module}: {killed}/{len(tested)} killed ({rate:.1f} %) in {elapsed:.0f} s")
    for name in survivors:
        print(f"  survived: {name} ({statuses[name]})")
    return killed, len(tested), survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"any of {', '.join(TESTS)}")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per module")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in TESTS]
    if unknown:
        parser.error(f"no test selection for {', '.join(unknown)}")
    for module in args.modules or list(TESTS):
        run(module, args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
