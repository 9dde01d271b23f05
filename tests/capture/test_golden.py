"""The golden corpus (``spec/golden/v2.13.9``): every capture reads, and holds a
whole conversation as LTTng 2.13.9 has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ustref.capture import Direction, Socket, load_capture
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
