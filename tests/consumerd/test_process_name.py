"""ustref-consumerd shows argv[0] ``lttng-consumerd`` without re-executing itself:
:func:`ustref.consumerd.cli._rename_in_place` rewrites the process's own argument
area, and declines (the caller then re-executes) when the new argv would not fit.
Each case runs in a child Python, whose ``/proc/self/cmdline`` it reads back."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

CHILD = """
import os, sys
from ustref.consumerd.cli import _rename_in_place
extra = os.environ.get("EXTRA_ARGUMENT")
renamed = _rename_in_place(sys.argv[1:] + ([extra] if extra else []))
with open("/proc/self/cmdline", "rb") as f:
    sys.stdout.write(repr((renamed, f.read())))
"""


def _run(*args: str, extra: str = "") -> tuple[bool, bytes]:
    """Rename the child with ``args`` (and ``extra``, an argument it was not started
    with); what it answered and its cmdline afterwards."""
    env = dict(os.environ, EXTRA_ARGUMENT=extra)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True, env=env
    )
    renamed, cmdline = ast.literal_eval(done.stdout)
    assert isinstance(renamed, bool) and isinstance(cmdline, bytes)
    return renamed, cmdline


def test_the_argument_area_becomes_lttng_consumerds() -> None:
    renamed, cmdline = _run("", "-u", "--consumerd-cmd-sock", "/x/command")
    assert renamed
    words = cmdline.split(b"\0")
    assert words[:5] == [b"lttng-consumerd", b"", b"-u", b"--consumerd-cmd-sock", b"/x/command"]
    assert set(words[5:]) == {b""}  # the rest of the old area: NUL padding


def test_an_argv_that_does_not_fit_is_declined_and_nothing_changes() -> None:
    # The area holds the child's own argv (python, -c, the script, "-u"): an extra
    # argument longer than all of them together cannot fit.
    renamed, cmdline = _run("-u", extra="x" * (len(CHILD) + len(sys.executable) + 100))
    assert not renamed
    assert cmdline.split(b"\0")[0] == sys.executable.encode()
    assert cmdline.split(b"\0")[-2] == b"-u"


def test_the_reexecuted_daemon_takes_its_sys_path_from_the_parent_not_from_site() -> None:
    # -S: the child runs no `site` of its own (the base installation's .pth files
    # would be imported); the bootstrap alone hands it the parent's sys.path.
    from ustref.consumerd.cli import _SYS_PATH, VERSION, reexec_argv

    argv = reexec_argv(["--version"])
    assert argv[:2] == ["lttng-consumerd", "-S"]
    env = dict(os.environ, **{_SYS_PATH: os.pathsep.join(p for p in sys.path if p)})
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        argv, executable=sys.executable, capture_output=True, text=True, env=env, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, VERSION), done.stderr
