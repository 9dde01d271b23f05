"""The injecting proxy's parts without a daemon: key renaming and the command socket's
gate (``tests/fuzz/test_reproducers_live.py`` runs it under a real session daemon)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.fuzz.test_reproducers import FINDINGS
from ustref.capture.format import Socket
from ustref.capture.launch import package_root
from ustref.capture.wrapper import ENV_CONSUMERD, ENV_INJECT, ENV_OUT, Recorder, _Link
from ustref.fuzz.inject import KEY_SPACE, _InjectingRelay, inject, rename_keys, spliceable
from ustref.fuzz.launch import ustref_consumerd
from ustref.fuzz.reproducers import (
    ABI,
    DATA_PENDING_NONE,
    NEXT_SESSION,
    Survival,
    ask_data_channel,
    close_trace_chunk_bad_command,
    data_pending,
)
from ustref.fuzz.session import Action
from ustref.ids import U64_MAX
from ustref.protocol.consumer import CONSUMER_MSG, CONSUMER_MSG_SIZE
from ustref.transport import ConsumerdArgv, listen, recv_exact, sessiond_side

TIMEOUT = 10.0


def test_rename_moves_the_keys_and_nothing_else() -> None:
    ask = ask_data_channel(monitor=True, chunk=True)
    tail = b"\x07" * 20  # an append:N mutation's tail stays as it is
    (moved,) = rename_keys([Action("send", data=ask.data + tail)], ABI, 3 * KEY_SPACE)
    before = CONSUMER_MSG[ABI].parse(ask.data).u
    after = CONSUMER_MSG[ABI].parse(moved.data[:CONSUMER_MSG_SIZE]).u
    assert after.key == before.key + 3 * KEY_SPACE
    assert after.session_id == before.session_id + 3 * KEY_SPACE
    assert after.chunk_id.value == before.chunk_id.value + 3 * KEY_SPACE
    assert before.relayd_id == after.relayd_id == U64_MAX  # "none" stays none
    assert (after.subbuf_size, after.name, after.uuid) == (
        before.subbuf_size,
        before.name,
        before.uuid,
    )
    assert moved.data[CONSUMER_MSG_SIZE:] == tail


def test_rename_follows_the_union_member_of_each_message() -> None:
    (close,) = close_trace_chunk_bad_command()
    (moved,) = rename_keys([close], ABI, KEY_SPACE)
    before = CONSUMER_MSG[ABI].parse(close.data).u
    after = CONSUMER_MSG[ABI].parse(moved.data).u
    assert (after.session_id, after.chunk_id) == (
        before.session_id + KEY_SPACE,
        before.chunk_id + KEY_SPACE,
    )
    assert after.close_command == before.close_command
    assert after.close_timestamp == before.close_timestamp
    short = Action("send", data=b"\0", fds=("dir",))
    assert rename_keys([short], ABI, KEY_SPACE) == [short]


def test_only_command_socket_sends_are_spliceable() -> None:
    assert spliceable([Action("send", data=b"x")]) == ""
    assert spliceable([Action("close")]) == "a close action"
    assert spliceable([Action("send", "metadata", b"x")]) == "an action on the metadata socket"


def _fake_consumer(sock: socket.socket, seen: list[int]) -> None:
    """Answer every DATA_PENDING (the only command sent here) with *no data pending*."""
    try:
        while True:
            message = recv_exact(sock, CONSUMER_MSG_SIZE)
            seen.append(int.from_bytes(message[4:12], "little"))
            sock.sendall(DATA_PENDING_NONE)
    except Exception:
        return


def test_the_splice_holds_the_session_daemon_and_keeps_its_replies(tmp_path: Path) -> None:
    """The session daemon's command sent during an injection reaches the consumer only
    after it; the injected commands' replies never reach the session daemon."""
    sessiond, relay_sessiond_end = socket.socketpair()
    relay_consumerd_end, consumerd = socket.socketpair()
    sessiond.settimeout(TIMEOUT)
    seen: list[int] = []
    threading.Thread(target=_fake_consumer, args=(consumerd, seen), daemon=True).start()
    relay = _InjectingRelay(Recorder(None), ABI, interpose_monitor=True, interpose_relayd=True)
    relay.start_link(_Link(Socket.COMMAND, 0, relay_sessiond_end, relay_consumerd_end))
    try:
        sessiond.sendall(data_pending(1))
        assert recv_exact(sessiond, len(DATA_PENDING_NONE)) == DATA_PENDING_NONE
        result: dict[str, Survival] = {}
        splice = threading.Thread(
            target=lambda: result.update(
                survival=relay.splice(
                    [Action("send", data=data_pending(5))], ABI, tmp_path / "fds", None
                )
            )
        )
        splice.start()
        deadline = time.monotonic() + TIMEOUT
        while not relay.injecting:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        sessiond.sendall(data_pending(2))
        splice.join(TIMEOUT)
        assert recv_exact(sessiond, len(DATA_PENDING_NONE)) == DATA_PENDING_NONE
        sessiond.setblocking(False)
        try:
            extra = sessiond.recv(1)
        except BlockingIOError:
            extra = b""
        assert extra == b""
    finally:
        sessiond.close()
        consumerd.close()
    assert seen == [1, 5, NEXT_SESSION, 2]
    survival = result["survival"]
    assert survival.outcome.kind == "ok"
    assert survival.alive and survival.next_reply == DATA_PENDING_NONE
    assert [h.data for h in survival.heard] == [DATA_PENDING_NONE]
    assert not relay.injecting and relay.diversion is None


def test_the_proxy_answers_on_its_control_socket(tmp_path: Path) -> None:
    """The wrapper with ``USTREF_INJECT_CONTROL`` set, ustref-consumerd behind it and the
    test as the session daemon: two reproducers spliced in get their recorded answers,
    a request it cannot serve gets an error, and the session daemon's next command is
    served as if nothing happened."""
    words = ustref_consumerd()
    launcher = tmp_path / "consumerd"
    launcher.write_text("#!/bin/sh\nexec " + " ".join(map(shlex.quote, words)) + ' "$@"\n')
    launcher.chmod(0o755)
    run = tmp_path / "run"
    run.mkdir()
    args = ConsumerdArgv(str(run / "command"), str(run / "error"))
    control = run / "control"
    env = {
        **os.environ,
        ENV_INJECT: str(control),
        ENV_CONSUMERD: str(launcher),
        "PYTHONPATH": str(package_root()),
        "HOME": str(tmp_path),
        "LTTNG_HOME": str(tmp_path),
    }
    env.pop(ENV_OUT, None)
    listener = listen(args.err_sock, 1)
    proxy = subprocess.Popen(
        [sys.executable, "-m", "ustref.fuzz.inject", *args.words()[1:]], env=env
    )
    try:
        sockets = sessiond_side(listener, args.cmd_sock, TIMEOUT)
        listener.close()
        sockets.command.settimeout(TIMEOUT)
        for name in ("crash-42d7474beb42", "crash-39840437ce75"):
            finding = FINDINGS / f"{name}.json"
            answer = inject(control, finding)
            assert answer["ustref"] == json.loads(finding.read_text())["ustref"], answer
            assert answer["offset"] > 0
        assert "error" in inject(control, tmp_path / "missing.json")
        sockets.command.sendall(data_pending(1))
        reply = recv_exact(sockets.command, len(DATA_PENDING_NONE))
        assert reply == DATA_PENDING_NONE
        for sock in (sockets.command, sockets.metadata, sockets.error):
            sock.close()
    finally:
        listener.close()
        proxy.terminate()
        proxy.wait(TIMEOUT)
