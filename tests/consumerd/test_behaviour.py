"""The behaviour table: complete, consistent with the conversation table and the C sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.c_sources import LTTNG_TOOLS_2_13_9, needs_lttng_tools_2_13_9
from ustref.capture.decode import decode_records
from ustref.capture.format import read_capture
from ustref.consumerd.behaviour import BEHAVIOUR, Peer, check_table
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import LttngConsumerCommand
from ustref.protocol.conversation import Socket
from ustref.protocol.conversation.rules import REPLY_AFTER, ReplyKind

C_TREE = LTTNG_TOOLS_2_13_9
GOLDEN = Path(__file__).resolve().parents[2] / "spec" / "golden" / "v2.13.9"


def test_table_covers_every_command_and_names_real_steps() -> None:
    assert set(BEHAVIOUR) == set(LttngConsumerCommand)
    assert check_table() == []


@pytest.mark.parametrize("command", list(LttngConsumerCommand), ids=lambda c: c.name)
def test_codes_match_what_the_command_socket_carries(command: LttngConsumerCommand) -> None:
    kinds = {REPLY_AFTER[abi][command] for abi in ALL_ABIS}
    codes = BEHAVIOUR[command].codes
    if kinds <= {ReplyKind.NONE, ReplyKind.CONSUMER_STOPS}:
        assert codes == ()
    else:
        assert codes, f"{command.name} replies but lists no code"
    assert len({int(c.value) for c in codes}) == len(codes), "a code listed twice"


@needs_lttng_tools_2_13_9
@pytest.mark.parametrize("command", list(LttngConsumerCommand), ids=lambda c: c.name)
def test_sources_name_functions_at_their_lines(command: LttngConsumerCommand) -> None:
    for source in BEHAVIOUR[command].sources:
        lines = (C_TREE / source.file).read_text().splitlines()
        body = "\n".join(lines[source.first - 1 : source.last])
        name = source.function.split()[0]
        if name.startswith("end_"):
            assert f"{name}:" in body, source
        elif name == "lttng_ustconsumer_recv_cmd" and source.first > 1386:
            assert re.search(r"case LTTNG_CONSUMER_|default:|assert\(msg", body), source
        else:
            assert re.search(rf"\b{name}\(", lines[source.first - 1]), source
    line = BEHAVIOUR[command].case_line[Abi.V2_13_9]
    text = (C_TREE / "src/common/ust-consumer/ust-consumer.c").read_text().splitlines()[line - 1]
    assert command.name in text or "default:" in text or "assert(msg.cmd_type" in text


def _golden(scenario: str) -> list[tuple[str, str, str]]:
    records = read_capture(GOLDEN / scenario / "capture.jsonl")
    return [
        (d.message.socket.value, d.message.exchange, d.message.step)
        for d in decode_records(records, Abi.V2_13_9)
    ]


def test_snapshot_metadata_exchange_precedes_the_command_status() -> None:
    """Golden evidence for the traffic order the table states (snapshot scenario)."""
    traffic = BEHAVIOUR[LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL].traffic
    assert [t.before for t in traffic if t.peer is Peer.METADATA] == ["status"] * 5
    seen = _golden("snapshot")
    for i, (socket, _, _) in enumerate(seen):
        if socket != Socket.METADATA.value:
            continue
        # the metadata request sits inside a SNAPSHOT_CHANNEL exchange: the last
        # command-socket piece before it is that command, the next is its status
        before = [s for s in seen[:i] if s[0] == Socket.COMMAND.value][-1]
        after = next(s for s in seen[i:] if s[0] == Socket.COMMAND.value)
        assert before[1:] == ("LTTNG_CONSUMER_SNAPSHOT_CHANNEL", "command")
        assert after[1:] == ("LTTNG_CONSUMER_SNAPSHOT_CHANNEL", "status")


def test_relayd_traffic_precedes_the_first_status() -> None:
    get = BEHAVIOUR[LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL].traffic
    assert {t.before for t in get if t.peer is Peer.RELAYD_CONTROL} == {"status.before"}
    snap = BEHAVIOUR[LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL].traffic
    assert {t.peer for t in snap} >= {Peer.RELAYD_CONTROL, Peer.RELAYD_DATA, Peer.METADATA}
    assert all(t.before == "status" for t in snap)


def test_error_endings_and_aborts_are_listed() -> None:
    def codes(command: LttngConsumerCommand) -> set[str]:
        return {getattr(c.value, "name", "") for c in BEHAVIOUR[command].codes}

    assert {"LTTCOMM_CONSUMERD_CHAN_NOT_FOUND", "LTTCOMM_CONSUMERD_SNAPSHOT_FAILED"} <= codes(
        LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL
    )
    assert {"LTTCOMM_CONSUMERD_CHAN_NOT_FOUND", "LTTCOMM_CONSUMERD_RELAYD_FAIL"} <= codes(
        LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL
    )
    assert {
        "LTTCOMM_CONSUMERD_CHANNEL_FAIL",
        "LTTCOMM_CONSUMERD_ERROR_METADATA",
        "LTTCOMM_CONSUMERD_ENOMEM",
    } <= codes(LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA)
    for command in (
        LttngConsumerCommand.LTTNG_CONSUMER_STOP,
        LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM,
        LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL,
    ):
        assert any(p.aborts for p in BEHAVIOUR[command].preconditions), command.name
    push = BEHAVIOUR[LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA]
    assert any("without reading the payload" in p.otherwise for p in push.preconditions)
    assert any("offset+len" in a for a in push.actions)
    rotate = BEHAVIOUR[LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL]
    assert any("before* rotating" in a for a in rotate.actions)
