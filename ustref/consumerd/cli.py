"""The command line of ustref-consumerd: lttng-consumerd's, as lttng-sessiond writes it.

lttng-sessiond 2.13.9 (``spawn_consumerd``, src/bin/lttng-sessiond/main.c) runs
``<path> "" -u --consumerd-cmd-sock PATH --consumerd-err-sock PATH --group NAME``
(the empty argument is ``--verbose`` with ``--verbose-consumer``). Options mirror
lttng-consumerd.c ``parse_args``. The daemon shows argv[0] ``lttng-consumerd`` in
``/proc/PID/cmdline`` and sets its comm to it (``prctl(PR_SET_NAME)``), so that tools
that find consumers by name (LTTng's test harness: ``pgrep -f``, then the basename of
the first cmdline field) find this one. It rewrites its own argument area for that
(:func:`_rename_in_place`, what ``setproctitle(3)`` does); where it cannot, it
re-executes itself with that argv[0] (:func:`_reexec`). Either way only the argv
parser and the backend names are imported before the daemon is (``_serve``).

The options are read by :class:`ustref.transport.argv.ConsumerdOptions` (the one
parser of the consumer's argv); ``parse_args``, ``Options`` and ``UsageError`` are its
names here.

ustref adds ``--ust-ctl pure|lib``: which ust-ctl backend creates and writes the ring
buffers (:mod:`ustref.consumerd.ring_backend`). lttng-sessiond passes a fixed argv, so
the environment variable ``USTREF_UST_CTL`` (inherited through the session daemon)
chooses it when the option is absent; ``pure`` is the default.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from ustref.consumerd import backend_choice as ring_backend
from ustref.errors import UstrefError
from ustref.transport.argv import ConsumerdOptions, UsageError

__all__ = [
    "PROCESS_NAME",
    "USAGE",
    "VERSION",
    "Options",
    "UsageError",
    "main",
    "parse_args",
    "ust_ctl_choice",
]

PROCESS_NAME = "lttng-consumerd"
_REEXEC = "USTREF_CONSUMERD_REEXEC"
_SYS_PATH = "USTREF_CONSUMERD_SYS_PATH"
_BOOTSTRAP = (
    "import os, site, sys\n"
    f"for entry in reversed(os.environ.pop({_SYS_PATH!r}, '').split(os.pathsep)):\n"
    "    if entry and entry not in sys.path:\n"
    "        sys.path.insert(0, entry)\n"
    "        if entry.endswith('-packages'):\n"
    "            site.addsitedir(entry)\n"
    "from ustref.consumerd.cli import main\n"
    "sys.exit(main())\n"
)
log = logging.getLogger("ustref.consumerd")
VERSION = "ustref-consumerd 0.1.0 (lttng-consumerd 2.13.9 command line)"

USAGE = f"""Usage: {PROCESS_NAME} OPTIONS

Options:
  -h, --help                         Display this usage.
  -c, --consumerd-cmd-sock PATH      Specify path for the command socket
  -e, --consumerd-err-sock PATH      Specify path for the error socket
  -d, --daemonize                    Start as a daemon.
  -q, --quiet                        No output at all.
  -v, --verbose                      Verbose mode. Activate DBG() macro.
  -V, --version                      Show version number.
  -g, --group NAME                   Specify the tracing group name. (default: tracing)
  -b, --background                   Start as a daemon, keeping console open.
  -u, --ust                          Consume user-space traces (ustref: the only mode).
      --ust-ctl pure|lib             ustref: who creates and writes the ring buffers,
                                     pure Python (default) or liblttng-ust-ctl.so.5.
                                     Without it, ${ring_backend.ENV}=pure|lib chooses: the
                                     way when lttng-sessiond starts the consumer.
"""


Options = ConsumerdOptions
"""The parsed command line (:class:`ustref.transport.argv.ConsumerdOptions`)."""
parse_args = ConsumerdOptions.parse
"""``parse_args()`` of lttng-consumerd.c: :meth:`ConsumerdOptions.parse`, which raises
:class:`~ustref.transport.argv.UsageError`."""


def ust_ctl_choice(opts: ConsumerdOptions) -> str:
    """The backend: the option, else ``$USTREF_UST_CTL``, else ``pure``."""
    choice = opts.ust_ctl or os.environ.get(ring_backend.ENV, "") or ring_backend.DEFAULT
    if choice not in ring_backend.CHOICES:
        raise UsageError(
            f"{ring_backend.ENV}={choice!r}: choose from {', '.join(ring_backend.CHOICES)}"
        )
    return choice


def _rename_in_place(args: Sequence[str]) -> bool:
    """Become ``lttng-consumerd`` in ``/proc/self/cmdline`` without a second process:
    write ``lttng-consumerd`` and ``args``, NUL-separated and NUL-padded, over this
    process's own argument strings (``arg_start``..``arg_end`` of
    ``/proc/self/stat``) through ``/proc/self/mem``. Python works on its own copy of
    argv, so nothing reads the old bytes; the last byte stays NUL, so the kernel
    shows the whole area (the padding as empty arguments). ``False`` when the area
    is too small or cannot be written: the caller re-executes instead."""
    new = b"\0".join(os.fsencode(arg) for arg in (PROCESS_NAME, *args)) + b"\0"
    try:
        with open("/proc/self/stat", "rb") as stat:
            raw = stat.read()
        fields = raw[raw.rfind(b")") + 2 :].split()
        # fields[n - 3] is field n of proc(5): arg_start 48, arg_end 49
        start, end = int(fields[45]), int(fields[46])
        if len(new) > end - start:
            return False
        fd = os.open("/proc/self/mem", os.O_RDWR)
        try:
            os.pwrite(fd, new.ljust(end - start, b"\0"), start)
        finally:
            os.close(fd)
        with open("/proc/self/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0", 1)[0] == PROCESS_NAME.encode()
    except (OSError, ValueError, IndexError):
        return False


def _reexec(argv: Sequence[str], ust_ctl: str) -> None:
    """Become ``lttng-consumerd`` in /proc/PID/cmdline: exec the same Python with
    argv[0] = ``lttng-consumerd``. With that argv[0] Python cannot locate its
    virtual environment, so a bootstrap hands it this process's ``sys.path``
    (site directories re-read, for their ``.pth`` files). ``-S``: without it the
    child would run ``site`` for the base installation it finds instead, and import
    what that installation's ``.pth`` files name (a base ``site-packages`` outside
    this ``sys.path``: 2.7 MB more resident in a sandbox whose base imports certifi).
    The ``lib`` backend's shim is compiled here, once, cached for the child; ``pure``
    never builds it."""
    if ust_ctl == ring_backend.LIB:
        from ustref.ring import libustctl

        libustctl.build_shim()
    env = dict(os.environ)
    env[_REEXEC] = "1"
    env[_SYS_PATH] = os.pathsep.join(p for p in sys.path if p)
    os.execve(sys.executable, reexec_argv(argv), env)


def reexec_argv(argv: Sequence[str]) -> list[str]:
    """What :func:`_reexec` executes: ``lttng-consumerd -S -c BOOTSTRAP ARGS``."""
    return [PROCESS_NAME, "-S", "-c", _BOOTSTRAP, *argv]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        opts = parse_args(args)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if opts.help:
        print(USAGE)
        return 0
    if opts.version:
        print(VERSION)
        return 0
    try:
        consumerd_argv = opts.consumerd_argv()
        ust_ctl = ust_ctl_choice(opts)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if os.environ.get(_REEXEC) != "1" and not _rename_in_place(args):
        _reexec(args, ust_ctl)
    os.environ.pop(_REEXEC, None)
    if (opts.daemonize or opts.background) and os.fork() != 0:
        return 0
    return _serve(opts, consumerd_argv.cmd_sock, consumerd_argv.err_sock, ust_ctl)


def _without_openssl_hashes() -> None:
    """Keep ``hashlib`` on Python's own hashes in the daemon. Construct imports
    ``hashlib`` at import (to name compiled parsers), and ``hashlib`` loads its OpenSSL
    backend, ``_hashlib``, which maps libcrypto: 3.4 MB of the idle daemon's RSS. The
    daemon only ever hashes with sha1 (construct) and sha256 (the ``lib`` backend's
    shim cache), which Python's builtin ``_sha1``/``_sha256`` provide, so ``_hashlib``
    is marked absent before anything imports ``hashlib`` (``hashlib`` falls back on an
    ``ImportError``). A process that already loaded it (a test calling :func:`main`)
    keeps it."""
    sys.modules.setdefault("_hashlib", None)  # type: ignore[arg-type]


def _serve(opts: ConsumerdOptions, cmd_sock: str, err_sock: str, ust_ctl: str) -> int:
    """The daemon itself. Up to ``COMMAND_SOCK_READY`` (:func:`start_up`) only the
    start-up is imported; the core, the shell, the consumer's grammars and the
    ring-buffer backend come after it, as lttng-consumerd says ready once its command
    socket listens. The ``lib`` backend's library is loaded first, as C links it: a
    missing ``liblttng-ust-ctl.so.5`` fails before ready, not after."""
    _without_openssl_hashes()
    from ustref.consumerd.startup import Paths, health_path, start_up
    from ustref.transport.procname import set_process_name

    set_process_name(PROCESS_NAME)
    level = logging.ERROR if opts.quiet else logging.DEBUG if opts.verbose else logging.WARNING
    logging.basicConfig(level=level, format="ustref-consumerd[%(process)d]: %(message)s")
    log.debug("ust-ctl backend: %s", ust_ctl)
    paths = Paths(command=cmd_sock, error=err_sock, health=health_path())
    try:
        if ust_ctl == ring_backend.LIB:
            from ustref.ring import libustctl

            libustctl.library()
        started = start_up(paths)
    except (UstrefError, OSError) as exc:
        # lttng-consumerd.c: "Cannot connect to error socket" and the like.
        print(f"Error: ustref-consumerd start-up: {exc}", file=sys.stderr)
        return 1
    from ustref.consumerd import ring_backend as backends
    from ustref.consumerd.core import Core
    from ustref.consumerd.loop import Shell

    shell = Shell(paths, Core(backend=backends.backend(ust_ctl)))
    shell.freeze_at_release = True
    shell.start(started)
    return shell.run()
