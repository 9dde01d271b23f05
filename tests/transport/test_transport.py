"""The transport layer: argv contract, lttcomm framing with descriptors, start-up, launcher."""

from __future__ import annotations

import os
import signal
import socket
import stat
import sys
import threading
from pathlib import Path

import pytest

from ustref.errors import LaunchError, TransportError, UstrefError
from ustref.protocol.consumer import ERROR_SOCKET_CODE, ErrorSocketCode
from ustref.protocol.conversation import Conversation, Role, Socket
from ustref.transport import (
    FD_CARRIER,
    Child,
    ConsumerdArgv,
    HealthSocket,
    connect,
    consumerd_side,
    hand_over,
    listen,
    recv_exact,
    recv_fds,
    recv_some,
    redirect_argv,
    send_all,
    send_fds,
    sessiond_side,
)
from ustref.transport.framing import split_for_fds
from ustref.transport.startup import READY, READY_BYTES


def test_consumerd_argv_is_what_spawn_consumerd_passes() -> None:
    args = ConsumerdArgv("/run/c", "/run/e")
    # client.c spawn_consumerd @ v2.13.9: "lttng-consumerd", verbosity, "-u", ...
    assert args.argv() == [
        "lttng-consumerd",
        "",
        "-u",
        "--consumerd-cmd-sock",
        "/run/c",
        "--consumerd-err-sock",
        "/run/e",
        "--group",
        "tracing",
    ]
    assert ConsumerdArgv.parse(args.words()) == args
    verbose = ConsumerdArgv("C", "E", group="g", verbosity="--verbose")
    assert ConsumerdArgv.parse(verbose.words()) == verbose
    assert ConsumerdArgv.parse(["-cC", "--consumerd-err-sock=E", "--group=g"]) == ConsumerdArgv(
        "C", "E", group="g"
    )


def test_redirect_argv_forms() -> None:
    sessiond = ["", "-u", "--consumerd-cmd-sock", "/r/cmd", "--consumerd-err-sock", "/r/err"]
    done = redirect_argv([*sessiond, "--group", "tracing"], cmd_path="/p/c", err_path="/p/e")
    assert done.argv == (
        "",
        "-u",
        "--consumerd-cmd-sock",
        "/p/c",
        "--consumerd-err-sock",
        "/p/e",
        "--group",
        "tracing",
    )
    assert (done.sessiond_cmd, done.sessiond_err) == ("/r/cmd", "/r/err")
    other = redirect_argv(
        ["--consumerd-cmd-sock=/r/cmd", "-e/r/err", "--", "-c", "x"], cmd_path="C", err_path="E"
    )
    assert other.argv == ("--consumerd-cmd-sock=C", "-eE", "--", "-c", "x")
    short = redirect_argv(["-c", "/a", "-e", "/b"], cmd_path="C", err_path="E")
    assert short.argv == ("-c", "C", "-e", "E")
    with pytest.raises(LaunchError, match="--consumerd-err-sock"):
        redirect_argv(["-c", "/a"], cmd_path="C", err_path="E")
    with pytest.raises(LaunchError, match="requires an argument"):
        redirect_argv(["-e", "/a", "-c"], cmd_path="C", err_path="E")


def test_split_for_fds() -> None:
    assert split_for_fds(b"abc", []) == [(b"abc", [])]
    assert split_for_fds(b"\0", [7]) == [(b"\0", [7])]
    # A message glued to the 1-byte fd carrier: the fds go with the last byte only.
    assert split_for_fds(b"msg\0", [7, 8]) == [(b"msg", []), (b"\0", [7, 8])]


def test_fds_travel_on_their_one_byte_carrier() -> None:
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    try:
        send_all(left, b"head")
        send_fds(left, [read_end, write_end])
        assert recv_exact(right, 4) == b"head"
        got = recv_fds(right, 2)
        os.write(got[1], b"x")
        assert os.read(read_end, 1) == b"x"  # the received fd is the same pipe
        for fd in got:
            os.close(fd)
        send_all(left, b"no fd here")
        with pytest.raises(TransportError, match="fd"):
            recv_fds(right, 1)
    finally:
        for fd in (read_end, write_end):
            os.close(fd)
        left.close()
        right.close()


def test_end_of_stream_mid_message_is_a_transport_error() -> None:
    left, right = socket.socketpair()
    send_all(left, b"ab")
    left.close()
    with pytest.raises(TransportError, match="2 of 4") as info:
        recv_exact(right, 4)
    assert isinstance(info.value, UstrefError)
    assert recv_some(right).eof
    right.close()
    with pytest.raises(TransportError):
        send_fds(right, [])


def test_startup_from_both_sides(tmp_path: Path) -> None:
    args = ConsumerdArgv(str(tmp_path / "cmd"), str(tmp_path / "err"))
    listener = listen(args.err_sock)
    result: dict[str, object] = {}

    machine = Conversation(our_role=Role.CONSUMERD)
    ready = machine.send(Socket.ERROR, ErrorSocketCode(code=READY))

    def consumer() -> None:
        try:
            result["sockets"] = consumerd_side(args, timeout=10, ready=ready)
        except Exception as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=consumer)
    thread.start()
    try:
        ours = sessiond_side(listener, args.cmd_sock, 10)
    finally:
        thread.join()
        listener.close()
    theirs = result["sockets"]
    assert "error" not in result
    assert machine.ready and machine.our_turn(Socket.COMMAND) is None
    send_all(ours.command, b"cmd")
    send_all(ours.metadata, b"meta")
    assert recv_exact(theirs.command, 3) == b"cmd"  # type: ignore[attr-defined]
    assert recv_exact(theirs.metadata, 4) == b"meta"  # type: ignore[attr-defined]
    ours.close()
    theirs.close()  # type: ignore[attr-defined]


def test_startup_refuses_a_wrong_ready_code(tmp_path: Path) -> None:
    listener = listen(str(tmp_path / "err"))
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(str(tmp_path / "err"))
    send_all(peer, (READY + 1).to_bytes(ERROR_SOCKET_CODE.size, sys.byteorder))
    with pytest.raises(LaunchError, match=READY.name):
        sessiond_side(listener, str(tmp_path / "cmd"), 5)
    peer.close()
    listener.close()


def test_ready_bytes_are_the_grammars() -> None:
    """The consumer writes READY_BYTES before it imports its grammar: they must be
    what ERROR_SOCKET_CODE builds (and what a conversation machine sends)."""
    assert ERROR_SOCKET_CODE.build(ErrorSocketCode(code=READY)) == READY_BYTES
    assert (
        Conversation(our_role=Role.CONSUMERD).send(Socket.ERROR, ErrorSocketCode(code=READY))
        == READY_BYTES
    )


def test_carrier_is_one_nul_byte() -> None:
    assert FD_CARRIER == b"\0"


def test_child_lifecycle(tmp_path: Path) -> None:
    log = tmp_path / "log"
    child = Child.spawn(["sh", "-c", "echo hello; exit 3"], log=log)
    assert child.wait(10) == 3
    assert child.log_tail().strip() == "hello"
    sleeper = Child.spawn(["sleep", "30"], death_signal=signal.SIGTERM)
    assert sleeper.alive()
    status, killed = sleeper.stop(10)
    assert (status, killed) == (-signal.SIGTERM, False)
    with pytest.raises(LaunchError) as info:
        Child.spawn([str(tmp_path / "missing")])
    assert info.value.argv == (str(tmp_path / "missing"),)


def test_consumerd_options_read_like_getopt_long() -> None:
    """lttng-consumerd.c ``parse_args()``: every spelling ``getopt_long`` accepts."""
    from ustref.consumerd import ring_backend
    from ustref.transport.argv import UST_CTL_CHOICES, ConsumerdOptions, UsageError

    parse = ConsumerdOptions.parse
    opts = parse(["", "-u", "--consumerd-cmd-sock", "/a", "--consumerd-err-sock=/b", "-gG"])
    assert (opts.command_sock, opts.error_sock, opts.group) == ("/a", "/b", "G")
    assert opts.consumerd_argv() == ConsumerdArgv("/a", "/b", group="G")
    grouped = parse(["-vvqdbu", "-c", "C", "--consumerd-e=E", "--ust-ctl", "lib", "--", "-k"])
    assert (grouped.verbose, grouped.quiet, grouped.daemonize, grouped.background) == (
        2,
        True,
        True,
        True,
    )
    assert (grouped.command_sock, grouped.error_sock, grouped.ust_ctl) == ("C", "E", "lib")
    assert grouped.consumerd_argv().verbosity == "--verbose"
    assert parse(["-h"]).help and parse(["--vers"]).version and parse(["-V"]).version
    for bad, why in (
        (["-k"], "kernel"),
        (["--kernel"], "kernel"),
        (["-x"], "unknown"),
        (["--bogus"], "unknown"),
        (["--ver"], "unknown"),  # ambiguous: --verbose, --version
        (["word"], "unknown"),
        (["-g"], "requires an argument"),
        (["--group"], "requires an argument"),
        (["--quiet=1"], "doesn't allow"),
        (["--ust-ctl=kernel"], "choose from"),
    ):
        with pytest.raises(UsageError, match=why):
            parse(bad)
    with pytest.raises(UsageError, match="required"):
        parse(["-c", "C"]).consumerd_argv()
    with pytest.raises(LaunchError):  # UsageError is a LaunchError
        ConsumerdArgv.parse(["-e", "E"])
    assert UST_CTL_CHOICES == ring_backend.CHOICES


def test_consumerd_side_answers_health_while_it_waits(tmp_path: Path) -> None:
    """health-consumerd.c: the health socket (its directory made, its mode set) listens
    before the command socket and answers while the consumer waits for the session
    daemon's two connections; it stays open for the caller afterwards."""
    args = ConsumerdArgv(str(tmp_path / "cmd"), str(tmp_path / "err"))
    health = HealthSocket(str(tmp_path / "run" / "health"), 4, b"R" * 8, mode=0o640)
    err_listener = listen(args.err_sock)
    result: dict[str, object] = {}

    def consumer() -> None:
        try:
            result["sockets"] = consumerd_side(args, timeout=10, health=health)
        except Exception as exc:  # reported below
            result["error"] = exc

    def ask() -> bytes:
        client = connect(health.path)
        with client:
            client.settimeout(10)
            send_all(client, b"\0\0\0\0")
            return recv_exact(client, 8)

    thread = threading.Thread(target=consumer)
    thread.start()
    try:
        err_listener.settimeout(10)
        error, _ = err_listener.accept()
        error.settimeout(10)
        assert ERROR_SOCKET_CODE.parse(recv_exact(error, 4)).code == READY
        assert stat.S_IMODE(os.stat(health.path).st_mode) == 0o640
        quiet = connect(health.path)
        quiet.close()  # a client that sends nothing gets no reply, and does no harm
        assert ask() == b"R" * 8  # before the command connection
        command = connect(args.cmd_sock)
        assert ask() == b"R" * 8  # between the two
        metadata = connect(args.cmd_sock)
    finally:
        thread.join()
        err_listener.close()
    assert "error" not in result
    theirs = result["sockets"]
    later = connect(health.path)  # still listening: the caller answers from now on
    send_all(later, b"\0\0\0\0")
    health.answer()
    later.settimeout(10)
    assert recv_exact(later, 8) == b"R" * 8
    later.close()
    health.close()
    assert not os.path.exists(health.path)
    for sock in (command, metadata, error):
        sock.close()
    theirs.close()  # type: ignore[attr-defined]


def test_consumerd_side_closes_health_when_start_up_fails(tmp_path: Path) -> None:
    args = ConsumerdArgv(str(tmp_path / "cmd"), str(tmp_path / "err"))
    err_listener = listen(args.err_sock)
    health = HealthSocket(str(tmp_path / "health"), 4, bytes(8))
    with pytest.raises(LaunchError, match=r"no command connection within 0\.2 s"):
        consumerd_side(args, timeout=0.2, health=health)
    assert health.listener is None and not os.path.exists(health.path)
    err_listener.close()
    with pytest.raises(TransportError, match="connect"):
        consumerd_side(args, timeout=0.2, health=health)


def test_hand_over_sends_in_order_and_closes_the_messages_fds() -> None:
    read_end, write_end = os.pipe()
    copy = os.dup(write_end)
    left, right = socket.socketpair()
    with left, right:
        hand_over(left, [(b"head", ()), (FD_CARRIER, (copy,)), (b"tail", ())])
        with pytest.raises(OSError):
            os.fstat(copy)  # the message's own copy is closed once sent
        assert recv_exact(right, 4) == b"head"
        (got,) = recv_fds(right, 1)
        assert recv_exact(right, 4) == b"tail"
        os.write(got, b"x")
        assert os.read(read_end, 1) == b"x"
        os.close(got)
        right.close()
        lost = os.dup(write_end)
        with pytest.raises(TransportError):
            hand_over(left, [(b"a", ()), (FD_CARRIER, (lost,))])
        with pytest.raises(OSError):
            os.fstat(lost)  # closed even though never sent
    os.close(read_end)
    os.close(write_end)
