"""A ustref-consumerd that the scripts' unprivileged user can start.

The scripts marked ``user`` run their session daemon as an unprivileged user,
and that daemon ``execl()``s the consumer as that user. The console script of a
virtual environment whose interpreter lives under ``/root`` (mode 0700, where
pyenv and tox put theirs) cannot be executed by that user: the session daemon
logs ``Consumer execl(): Permission denied`` and the script stalls waiting for
a consumer. The C consumer has no such problem: it is a file under ``/usr``.

:func:`stage_consumer` puts ustref-consumerd where that user can run it: the
pure-Python packages it imports (``ustref`` and the distributions it requires)
are copied to ``<build>/consumer/site/`` and byte-compiled there, and a
launcher ``<build>/consumer/ustref-consumerd`` runs them with an interpreter the
user can execute (the running one when they can, else the system's
``python3``). Every script of the run then uses that launcher, root's too, so
that one consumer is measured.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from ustref.conformance.prepare import PrepareError
from ustref.conformance.report import ExpectedConsumer

__all__ = ["SYSTEM_PYTHONS", "runs_as", "stage_consumer", "top_level_modules"]

SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
"""Interpreters tried, in order, when the user cannot run the current one."""

_MIN_VERSION = (3, 10)
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def runs_as(user: pwd.struct_passwd, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``user`` (no supplementary groups) and return what it did."""
    try:
        return subprocess.run(
            list(argv),
            user=user.pw_uid,
            group=user.pw_gid,
            extra_groups=[],
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": user.pw_dir, "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return subprocess.CompletedProcess(list(argv), 126, "", str(exc))


def _requirement_closure(root: str) -> list[str]:
    """``root`` and every distribution it requires, transitively (extras and
    environment markers that do not hold are skipped)."""
    seen: list[str] = []
    todo = [root]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.append(key)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            spec, _, marker = requirement.partition(";")
            if "extra" in marker:
                continue
            match = _REQUIREMENT_NAME.match(spec)
            if match:
                todo.append(match.group(1))
    return seen


def _top_levels(name: str) -> set[str]:
    """The top-level import names a distribution installs: its ``top_level.txt``,
    else the first component of its recorded files (Python 3.10's
    ``packages_distributions`` reads only the former, which wheels may lack)."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return set()
    names = set((dist.read_text("top_level.txt") or "").split())
    if names:
        # Trusted when present: an egg-info's file list is its SOURCES.txt (tests too).
        return names
    for file in dist.files or ():
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].startswith("__editable__"):
            continue
        if parts[0].endswith((".dist-info", ".egg-info", ".pth", ".data")):
            continue
        if len(parts) == 1:
            if parts[0].endswith(".py"):
                names.add(parts[0][:-3])
        else:
            names.add(parts[0])
    return names


def top_level_modules(distribution: str = "ustref") -> list[str]:
    """The importable top-level names of ``distribution`` and its requirements."""
    names = {distribution}
    for name in _requirement_closure(distribution):
        names |= _top_levels(name)
    return sorted(names)


def _sources(modules: Sequence[str]) -> Iterator[Path]:
    """Where each top-level module is imported from (a package dir or a file)."""
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        origin = Path(spec.origin)
        yield origin.parent if origin.name == "__init__.py" else origin


def _interpreter_for(user: pwd.struct_passwd) -> str:
    """An interpreter ≥ 3.10 that ``user`` can execute: this one, else the system's."""
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    tried = []
    for candidate in (sys.executable, *SYSTEM_PYTHONS):
        done = runs_as(user, [candidate, "-c", probe])
        if done.returncode == 0:
            major, minor = (int(p) for p in done.stdout.strip().split("."))
            if (major, minor) >= _MIN_VERSION:
                return candidate
            tried.append(f"{candidate}: Python {major}.{minor} is too old")
        else:
            tried.append(f"{candidate}: {done.stderr.strip().splitlines()[-1:] or 'fails'}")
    raise PrepareError(
        f"no Python >= 3.10 that user {user.pw_name!r} can execute ({'; '.join(tried)})"
    )


def _make_readable(root: Path) -> None:
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def stage_consumer(
    build_dir: Path, user: pwd.struct_passwd, expected: ExpectedConsumer
) -> ExpectedConsumer:
    """Copy ustref-consumerd where ``user`` can run it; the consumer to use instead.

    Raises :class:`PrepareError` when the user still cannot run the launcher
    (a directory on the way to ``build_dir`` they may not enter, say)."""
    interpreter = _interpreter_for(user)
    stage = build_dir.resolve() / "consumer"
    site = stage / "site"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so")
    for source in _sources(top_level_modules()):
        if source.is_dir():
            shutil.copytree(source, site / source.name, ignore=ignore)
        elif source.suffix == ".py":
            shutil.copy2(source, site / source.name)
    subprocess.run(
        [interpreter, "-m", "compileall", "-q", str(site)], capture_output=True, check=False
    )
    launcher = stage / "ustref-consumerd"
    launcher.write_text(
        f"#!{interpreter}\n"
        "# Written by `ustref conformance upstream` for the scripts' unprivileged user\n"
        "# (ustref/conformance/stage.py): ustref-consumerd from the copy beside it.\n"
        "import sys\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "from ustref.consumerd.cli import main\n"
        "sys.exit(main())\n"
    )
    _make_readable(stage)
    launcher.chmod(0o755)
    done = runs_as(user, [str(launcher), "--version"])
    if done.returncode != 0:
        raise PrepareError(
            f"user {user.pw_name!r} cannot run the staged consumer {launcher}: "
            f"{(done.stderr or done.stdout).strip()[-400:]} (can they enter {build_dir}?)"
        )
    real = os.path.realpath(interpreter)
    return dataclasses.replace(
        expected,
        path=str(launcher),
        exes=expected.exes | {str(launcher), real},
        argv_paths=expected.argv_paths | {str(launcher)},
    )
