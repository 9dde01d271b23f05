"""What ustref-consumerd has imported when it says ready, and once it served a command.

Issue 24's start-up goal: before ``COMMAND_SOCK_READY`` the daemon imports only its
start-up (argv, sockets, the ready code), never the core, the shell, the consumer's
grammar, the ring-buffer backends, the relay client or the output writers; the peers'
grammars and OpenSSL's ``_hashlib`` never. The real daemon runs (pure backend, no
LTTng daemon) under an audit hook that writes ``sys.modules`` when the command
socket is bound — the last step before ``consumerd_side`` sends the ready code — and
again at exit, after it answered ``LTTNG_CONSUMER_INIT``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ustref.consumerd.startup import HEALTH_PATH_ENV
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    STATUS_MSG,
    ConsumerMsgV2139,
    InitMember,
    LttngConsumerCommand,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.transport.framing import recv_exact
from ustref.transport.startup import sessiond_side

NOT_BEFORE_READY = (
    "ustref.consumerd.core",
    "ustref.consumerd.loop",
    "ustref.consumerd.handlers",
    "ustref.consumerd.ring_backend",
    "ustref.consumerd.relayd",
    "ustref.protocol.consumer",
    "ustref.protocol.relayd",
    "ustref.protocol.ust_abi",
    "ustref.protocol.handover",
    "ustref.protocol.conversation.steps",
    "ustref.ring",
    "ustref.output",
)
"""Modules (and packages, with everything under them) the daemon must not have
imported when it says ready."""

NEVER = (
    "ustref.protocol.peers",
    "ustref.protocol.grammars",
    "_hashlib",
    "ctypes.util",
) + (("subprocess",) if sys.version_info >= (3, 11) else ())
"""Never in the (pure) daemon: the other peers' grammars (only ``ustref spec`` needs
them), OpenSSL's hashes (:func:`ustref.consumerd.cli._without_openssl_hashes`), and
``ctypes.util`` with the ``subprocess``/``shutil``/``tempfile`` it brings (libraries
are opened by soname; the process names itself through procfs). On Python 3.10,
``platform`` (which ``construct.lib.py3compat`` imports) imports ``subprocess`` at
module level, so only 3.11 and later can keep it out."""

NOT_WITHOUT_A_RELAY = ("ustref.protocol.relayd", "ustref.protocol.fastpath")
"""Not executed by a daemon no session streamed through: the relay daemon client
(:mod:`ustref.consumerd.relayd`, bound lazily by its importers, see
:func:`ustref._lazy.lazy_module`) and what it imports."""

_HARNESS = """
import atexit, json, sys

dump, cmd_sock = sys.argv[1], sys.argv[2]

def modules(): return sorted(n for n, m in sys.modules.items() if m is not None)

# What the interpreter holds before the daemon's code runs (site, a coverage tracer
# started from a .pth file, which imports hashlib) is not the daemon's doing.
with open(dump + ".start", "w") as out: json.dump(modules(), out)

def hook(event, args):
    if event == "socket.bind" and args[1] == cmd_sock:
        with open(dump + ".ready", "w") as out: json.dump(modules(), out)

sys.addaudithook(hook)
atexit.register(lambda: json.dump(modules(), open(dump + ".exit", "w")))
from ustref.consumerd.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _offenders(modules: list[str], names: tuple[str, ...], before: set[str]) -> list[str]:
    """Modules of ``names`` (or under them) the daemon imported: not there ``before``."""
    return [
        m
        for m in modules
        if m not in before and any(m == n or m.startswith(n + ".") for n in names)
    ]


def test_ready_before_the_core_and_never_the_peers(tmp_path: Path) -> None:
    err_path, cmd_path = str(tmp_path / "error"), str(tmp_path / "command")
    dump = str(tmp_path / "modules")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(err_path)
    listener.listen(1)
    env = dict(os.environ, **{HEALTH_PATH_ENV: str(tmp_path / "health")})
    env.pop("USTREF_UST_CTL", None)
    argv = [sys.executable, "-c", _HARNESS, dump, cmd_path]
    argv += ["", "-u", "--consumerd-cmd-sock", cmd_path, "--consumerd-err-sock", err_path]
    proc = subprocess.Popen(argv, env=env)
    try:
        sockets = sessiond_side(listener, cmd_path, 30)
        init = ConsumerMsgV2139(
            cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_INIT,
            u=InitMember(sessiond_uuid=bytes(range(16))),
        )
        sockets.command.settimeout(30)
        sockets.command.sendall(CONSUMER_MSG[Abi.V2_13_9].build(init))
        status = STATUS_MSG.parse(recv_exact(sockets.command, STATUS_MSG.size))
        assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        sockets.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()
    at_ready = json.loads(Path(dump + ".ready").read_text())
    at_exit = json.loads(Path(dump + ".exit").read_text())
    at_start = set(json.loads(Path(dump + ".start").read_text()))
    assert "ustref.consumerd.startup" in at_ready
    assert _offenders(at_ready, NOT_BEFORE_READY, at_start) == []
    # The dump at exit is not vacuous: the core served the command by then.
    assert "ustref.consumerd.core" in at_exit
    assert _offenders(at_exit, NEVER, at_start) == []
    assert _offenders(at_exit, NOT_WITHOUT_A_RELAY, at_start) == []
