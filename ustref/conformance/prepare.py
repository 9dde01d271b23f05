"""Prepare lttng-tools 2.13.9's test tree once, under ``build/upstream/``.

Fetches Debian's source package of the installed lttng-tools with
``scripts/fetch-lttng-source.sh`` (which never touches the machine's apt state),
installs the build dependencies as Debian packages, configures the tree
(``--disable-man-pages --disable-kmod``), builds only what the regression
scripts use (the libraries, the session daemon's common library that the live
test program links, ``tests/utils`` and ``tests/regression``: not the daemons)
and links the installed daemons where the scripts look for them. A stamp file
records the Debian version prepared: the tree is rebuilt only when it changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ustref.errors import UstrefError

__all__ = [
    "BUILD_DEPENDENCIES",
    "DAEMON_LINKS",
    "PrepareError",
    "TestTree",
    "installed_version",
    "prepare_tree",
]

BUILD_DEPENDENCIES = (
    "bison",
    "flex",
    "libpopt-dev",
    "libxml2-dev",
    "uuid-dev",
    "pkg-config",
    "liburcu-dev",
    "liblttng-ust-dev",
    "gcc",
    "g++",
    "make",
    # The scripts read traces with babeltrace 1 and run perl's prove helpers.
    "babeltrace",
    "perl",
    "procps",
)
"""Debian packages the build and the scripts need beyond lttng-tools itself."""

DAEMON_LINKS = {
    "src/bin/lttng/lttng": "/usr/bin/lttng",
    "src/bin/lttng-sessiond/lttng-sessiond": "/usr/bin/lttng-sessiond",
    "src/bin/lttng-relayd/lttng-relayd": "/usr/bin/lttng-relayd",
    "src/bin/lttng-crash/lttng-crash": "/usr/bin/lttng-crash",
}
"""Where ``tests/utils/utils.sh`` looks for each program → the installed one."""

CONSUMERD_PATH = "src/bin/lttng-consumerd/lttng-consumerd"
"""The path every script hands to ``lttng-sessiond --consumerd64-path``."""

_CONFIGURE_ARGS = ("--disable-man-pages", "--disable-kmod")
_MAKE_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("src/vendor", ()),
    ("src/common", ()),
    ("src/lib", ()),
    ("src/bin/lttng-sessiond", ("liblttng-sessiond-common.la",)),
    ("tests/utils", ()),
    ("tests/regression", ()),
)
_STAMP = ".prepared-version"
_FETCH_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fetch-lttng-source.sh"


class PrepareError(UstrefError):
    """The test tree could not be fetched, built or linked; says which step and why."""


@dataclass(frozen=True)
class TestTree:
    """A prepared lttng-tools source tree."""

    root: Path
    version: str

    @property
    def tests(self) -> Path:
        return self.root / "tests"

    @property
    def consumerd_link(self) -> Path:
        return self.root / CONSUMERD_PATH

    def script(self, path: str) -> Path:
        return self.tests / path


def installed_version() -> str:
    """The Debian version of the installed ``lttng-tools`` package."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "lttng-tools"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise PrepareError(f"cannot run dpkg-query: {exc}") from exc
    if done.returncode != 0 or not done.stdout.strip():
        raise PrepareError(
            "lttng-tools is not installed (run `make setup` or scripts/setup-lttng.sh)"
        )
    return done.stdout.strip()


def _say(message: str) -> None:
    print(f"conformance: {message}", file=sys.stderr, flush=True)


def _run(argv: Sequence[str], *, cwd: Path | None, log: Path, step: str) -> str:
    """Run one preparation step, its output appended to ``log``; return its stdout."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}  (in {cwd or Path.cwd()})\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=out, check=False
            )
        except OSError as exc:
            raise PrepareError(f"{step}: cannot run {argv[0]}: {exc}") from exc
        out.write(done.stdout)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise PrepareError(
            f"{step} failed (exit status {done.returncode}); full log: {log}\n{tail}"
        )
    return done.stdout.decode(errors="replace")


def _missing_packages(packages: Sequence[str]) -> list[str]:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0] for line in done.stdout.splitlines() if line.split()[1:2] == ["ii"]
    }
    return [p for p in packages if p not in installed]


def _install_packages(log: Path) -> None:
    missing = _missing_packages(BUILD_DEPENDENCIES)
    if not missing:
        return
    if os.geteuid() != 0:
        raise PrepareError(
            "the test tree needs these Debian packages, and installing them needs root: "
            + " ".join(missing)
        )
    _say(f"installing {' '.join(missing)}")
    env_argv = ["env", "DEBIAN_FRONTEND=noninteractive"]
    apt = ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=600"]
    install = [*env_argv, *apt, "install", "-y", "--no-install-recommends", *missing]
    try:
        _run(install, cwd=None, log=log, step="apt-get install")
    except PrepareError:
        # A fresh machine may have no package lists yet.
        _run([*env_argv, *apt, "update"], cwd=None, log=log, step="apt-get update")
        _run(install, cwd=None, log=log, step="apt-get install")


def _link(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target``, replacing whatever is there."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def link_daemons(root: Path) -> None:
    """Point the scripts' daemon paths at the installed binaries."""
    for relative, target in DAEMON_LINKS.items():
        if not Path(target).exists():
            raise PrepareError(f"{target} is missing: is Debian's lttng-tools installed?")
        _link(root / relative, Path(target))


def place_consumer(tree: TestTree, consumer: Path) -> None:
    """Put ``consumer`` where the scripts' session daemons look for it."""
    _link(tree.consumerd_link, consumer)


def prepare_tree(build_dir: Path, *, jobs: int | None = None) -> TestTree:
    """Fetch, build and link the test tree under ``build_dir`` unless it is ready."""
    build_dir.mkdir(parents=True, exist_ok=True)
    build_dir = build_dir.resolve()
    version = installed_version()
    stamp = build_dir / _STAMP
    log = build_dir / "prepare.log"
    if stamp.is_file():
        recorded = stamp.read_text().split("\n")
        if len(recorded) >= 2 and recorded[0] == version and Path(recorded[1]).is_dir():
            tree = TestTree(Path(recorded[1]), version)
            link_daemons(tree.root)
            _install_packages(log)
            return tree
    started = time.monotonic()
    _say(f"preparing lttng-tools {version}'s test tree under {build_dir} (log: {log})")
    log.write_text("")
    if not _FETCH_SCRIPT.is_file():
        raise PrepareError(f"{_FETCH_SCRIPT} is missing: run from a clone of the repository")
    out = _run(
        ["bash", str(_FETCH_SCRIPT), str(build_dir / "src")],
        cwd=None,
        log=log,
        step="fetching the source package",
    )
    root = Path(out.strip().splitlines()[-1])
    if not (root / "tests" / "regression").is_dir():
        raise PrepareError(f"the fetched tree {root} has no tests/regression")
    _install_packages(log)
    _say("configuring")
    _run(["./configure", *_CONFIGURE_ARGS], cwd=root, log=log, step="configure")
    make_jobs = f"-j{jobs or os.cpu_count() or 1}"
    for subdir, targets in _MAKE_STEPS:
        _say(f"building {subdir} {' '.join(targets)}".rstrip())
        _run(["make", make_jobs, "-C", subdir, *targets], cwd=root, log=log, step=f"make {subdir}")
    link_daemons(root)
    stamp.write_text(f"{version}\n{root}\n")
    _say(f"test tree ready in {time.monotonic() - started:.0f} s: {root}")
    return TestTree(root, version)
