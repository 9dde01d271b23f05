"""The golden corpus (``spec/golden/v2.13.9``): every capture reads, and holds a
whole conversation as LTTng 2.13.9 has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ustref.capture import Direction, Socket, load_capture
from ustref.capture.decode import DecodedRelaydRecord, decode_capture, roundtrip_problem
from ustref.capture.format import RelaydDirection, RelaydSocket
from ustref.capture.golden import RELAYD_EXPECTED, expectation, read_expectations
from ustref.protocol import relayd
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG_SIZE, ERROR_SOCKET_CODE, ErrorSocketCode
from ustref.protocol.conversation.rules import STARTUP_CODE

GOLDEN = Path(__file__).resolve().parents[2] / "spec" / "golden" / "v2.13.9"
CAPTURES = sorted(GOLDEN.glob("*/capture.jsonl"))
SOCK_READY = ERROR_SOCKET_CODE.build(ErrorSocketCode(code=STARTUP_CODE))


@pytest.mark.parametrize("path", CAPTURES, ids=[p.parent.name for p in CAPTURES])
def test_golden_capture(path: Path) -> None:
    assert (path.parent / "COMMANDS.md").is_file()
    capture = load_capture(path)
    assert capture.header is not None and capture.header.argv[1] == "-u"
    assert capture.end is not None and capture.end.exit_status == 0
    assert capture.end.fd_truncations == 0
    records = capture.records
    first = records[0]
    assert (first.socket, first.direction, first.data) == (
        Socket.ERROR,
        Direction.TO_SESSIOND,
        SOCK_READY,
    )
    # fds always travel with the 1-byte dummy payload.
    assert all(len(r.data) == 1 for r in records if r.fd_count)
    # The first command: LTTNG_CONSUMER_INIT (22), a whole lttcomm_consumer_msg.
    command = next(r for r in records if r.socket is Socket.COMMAND)
    assert command.direction is Direction.TO_CONSUMERD
    assert len(command.data) == CONSUMER_MSG_SIZE
    assert int.from_bytes(command.data[:4], "little") == 22
    # Every connection ends, both ways.
    ends = {(r.socket, r.direction) for r in records if r.is_eof}
    for role in (Socket.COMMAND, Socket.METADATA, Socket.ERROR):
        assert {(role, d) for d in Direction} <= ends


def test_corpus_is_there() -> None:
    assert {p.parent.name for p in CAPTURES} >= {"per-uid"}


#: Scenarios that stream to a real lttng-relayd: their captures hold the relay talk.
RELAYD_SCENARIOS = ("streaming", "live", "snapshot-remote", "rotation-remote")


@pytest.mark.parametrize("scenario", RELAYD_SCENARIOS)
def test_golden_relayd_conversation(scenario: str) -> None:
    """The consumer ↔ lttng-relayd talk of a golden capture decodes with the relay
    grammars, rebuilds byte for byte, matches ``expected-relayd.jsonl``, and shows
    what the 2.13.9 consumer puts on each socket."""
    directory = GOLDEN / scenario
    capture = load_capture(directory / "capture.jsonl")
    assert capture.header is not None and capture.header.extra.get("relayd") == "interposed"
    assert {r.socket for r in capture.relayd} == set(RelaydSocket)
    items = [
        item
        for item in decode_capture(capture.in_order(), Abi.V2_13_9)
        if isinstance(item, DecodedRelaydRecord)
    ]
    assert [
        (i.index, roundtrip_problem(i.message)) for i in items if roundtrip_problem(i.message)
    ] == []
    assert [expectation(item) for item in items] == read_expectations(directory, RELAYD_EXPECTED)
    for role in RelaydSocket:
        for connection in {r.connection for r in capture.relayd if r.socket is role}:
            pieces = [
                i.message
                for i in items
                if (i.message.socket, i.message.connection) == (role, connection)
            ]
            sent = [p for p in pieces if p.direction is RelaydDirection.TO_RELAYD]
            if role is RelaydSocket.DATA:
                # Nothing before the first data header; header, packet, header, …
                assert [p.step for p in sent] == ["data.header", "data.packet"] * (len(sent) // 2)
                assert all(len(p.raw) == relayd.DATA_HDR.size for p in sent[::2])
                # The relay daemon never writes on a data socket.
                assert [p for p in pieces if p.direction is RelaydDirection.TO_CONSUMERD] == []
            else:
                headers = [p for p in sent if p.step == "header"]
                assert all(len(p.raw) == relayd.HDR.size for p in headers)
                # The session daemon's handshake happened before the hand-over.
                assert headers[0].exchange not in {
                    "RELAYD_VERSION",
                    "RELAYD_GET_CONFIGURATION",
                    "RELAYD_CREATE_SESSION",
                }
    # Every relay connection ends both ways.
    ends = {(r.socket, r.connection, r.direction) for r in capture.relayd if r.is_eof}
    opened = {(r.socket, r.connection) for r in capture.relayd}
    assert ends == {(s, c, d) for s, c in opened for d in RelaydDirection}
