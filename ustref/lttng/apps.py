"""Build the project's sample traced C apps (``ustref/data/apps/``) with gcc.

Each app is compiled against liblttng-ust. Builds are cached in the output
directory: a binary is rebuilt only when the SHA-256 of its sources, headers and
compiler command line changes (recorded in ``<name>.stamp`` beside it). The
binary is written to a temporary name and renamed into place, so concurrent
builders never see a half-written executable.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ustref.lttng.sessiond import LttngCommandError, LttngError

__all__ = [
    "APPS",
    "APPS_DIR_ENV",
    "FORK_WRAPPER",
    "AppSpec",
    "apps_dir",
    "build_all",
    "build_app",
]

APPS_DIR_ENV = "USTREF_APPS_DIR"
"""Environment variable that overrides where :func:`apps_dir` finds the sources."""

FORK_WRAPPER = "liblttng-ust-fork.so"
"""Preload this (``LD_PRELOAD``) into apps that fork, so the child re-registers
with the session daemon as lttng-ust documents."""

_LTTNG_LIBS = ("-llttng-ust", "-ldl")
_DEFAULT_CFLAGS = ("-O2", "-g", "-Wall", "-Wextra")


@dataclass(frozen=True)
class AppSpec:
    """How to compile one sample app: its C sources, headers it includes, and
    whether it needs ``-I<apps dir>`` (tracepoint providers) or pthreads."""

    sources: tuple[str, ...]
    headers: tuple[str, ...] = ()
    include_app_dir: bool = False
    pthread: bool = False


APPS: dict[str, AppSpec] = {
    "tracef_app": AppSpec(sources=("tracef_app.c",)),
    "tp_provider_app": AppSpec(
        sources=("tp_provider_app.c",), headers=("tp.h",), include_app_dir=True
    ),
    "mt_app": AppSpec(sources=("mt_app.c",), pthread=True),
    "fork_app": AppSpec(sources=("fork_app.c",)),
    "hold_app": AppSpec(sources=("hold_app.c",)),
    "bench_app": AppSpec(
        sources=("bench_app.c",), headers=("bench_tp.h",), include_app_dir=True, pthread=True
    ),
}
"""The sample apps, by name (the binary's name too)."""


def apps_dir() -> Path:
    """Where the sample app sources live.

    ``$USTREF_APPS_DIR`` when set, else ``data/apps`` shipped in this package
    (in a source checkout and in an installed wheel alike).
    """
    override = os.environ.get(APPS_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "data" / "apps"


def _compile_argv(
    spec: AppSpec, src_dir: Path, output: Path, cc: str, cflags: Sequence[str]
) -> list[str]:
    argv = [cc, *cflags]
    if spec.include_app_dir:
        argv.append(f"-I{src_dir}")
    argv += [str(src_dir / source) for source in spec.sources]
    argv += ["-o", str(output), *_LTTNG_LIBS]
    if spec.pthread:
        argv.append("-lpthread")
    return argv


def _fingerprint(spec: AppSpec, src_dir: Path, argv_template: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for word in argv_template:
        digest.update(word.encode())
        digest.update(b"\0")
    for name in (*spec.sources, *spec.headers):
        path = src_dir / name
        try:
            digest.update(name.encode() + b"\0" + path.read_bytes())
        except FileNotFoundError as exc:
            raise LttngError(f"sample app source missing: {path}") from exc
    return digest.hexdigest()


def build_app(
    name: str,
    out_dir: Path,
    *,
    source_dir: Path | None = None,
    cc: str = "gcc",
    cflags: Sequence[str] = _DEFAULT_CFLAGS,
) -> Path:
    """Compile sample app ``name`` into ``out_dir/name`` (cached); return its path.

    Raises :class:`LttngError` for an unknown app or a missing source, and
    :class:`LttngCommandError` (with the compiler's stderr) when gcc fails.
    """
    spec = APPS.get(name)
    if spec is None:
        known = ", ".join(sorted(APPS))
        raise LttngError(f"unknown sample app {name!r} (known: {known})")
    src_dir = source_dir if source_dir is not None else apps_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / name
    stamp = out_dir / f"{name}.stamp"
    # The fingerprint covers the command line with a fixed output name, so
    # that the temporary output name does not defeat the cache.
    fingerprint = _fingerprint(spec, src_dir, _compile_argv(spec, src_dir, binary, cc, cflags))
    if binary.is_file() and stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return binary

    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}-", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    argv = _compile_argv(spec, src_dir, tmp, cc, cflags)
    try:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
            )
        except OSError as exc:
            raise LttngCommandError(f"cannot run {cc} ({exc})", argv=argv, returncode=None) from exc
        if done.returncode != 0:
            raise LttngCommandError(
                f"building {name} failed with status {done.returncode}",
                argv=argv,
                returncode=done.returncode,
                stdout=done.stdout,
                stderr=done.stderr,
            )
        tmp.chmod(0o755)
        os.replace(tmp, binary)
    finally:
        tmp.unlink(missing_ok=True)
    stamp_tmp = out_dir / f".{name}.stamp.{os.getpid()}"
    stamp_tmp.write_text(fingerprint + "\n")
    os.replace(stamp_tmp, stamp)
    return binary


def build_all(
    out_dir: Path,
    *,
    source_dir: Path | None = None,
    cc: str = "gcc",
    cflags: Sequence[str] = _DEFAULT_CFLAGS,
) -> dict[str, Path]:
    """Build every app of :data:`APPS`; return their paths by name."""
    return {
        name: build_app(name, out_dir, source_dir=source_dir, cc=cc, cflags=cflags) for name in APPS
    }
