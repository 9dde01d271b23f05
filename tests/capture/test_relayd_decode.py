"""The consumer ↔ relay daemon records of a capture: the file form, and the decoder that
splits their byte streams into messages and rebuilds them byte for byte."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ustref.capture.decode import as_json, decode_capture, decode_main, roundtrip_problem
from ustref.capture.format import (
    CaptureFormatError,
    CaptureRecord,
    Direction,
    RelaydDirection,
    RelaydRecord,
    RelaydSocket,
    Socket,
    load_capture,
    read_capture,
    read_capture_all,
    write_capture_file,
)
from ustref.capture.relayd import RelaydDecoded, RelaydDecoder
from ustref.errors import RemoteProtocolError
from ustref.protocol import relayd
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import LttngTraceChunkCommandType
from ustref.protocol.relayd import LttcommRelaydCommand as Cmd

TO_RELAYD = RelaydDirection.TO_RELAYD
TO_CONSUMERD = RelaydDirection.TO_CONSUMERD
OK = relayd.GENERIC_REPLY.build(relayd.RelaydGenericReply(ret_code=10))


def _command(cmd: Cmd, payload: bytes = b"") -> bytes:
    header = relayd.RelaydHdr(circuit_id=0, data_size=len(payload), cmd=cmd, cmd_version=0)
    return relayd.HDR.build(header) + payload


def _conversation() -> list[tuple[RelaydSocket, RelaydDirection, bytes]]:
    """A consumer's first exchanges with a 2.13 relay daemon, built with the grammars."""
    names = b"chan_0\0ust/uid/0/64-bit\0"
    add_stream = relayd.ADD_STREAM_2_11.build(
        relayd.RelaydAddStream211(
            channel_name_len=7,
            pathname_len=len(names) - 7,
            tracefile_size=0,
            tracefile_count=0,
            trace_chunk_id=0,
            names=names,
        )
    )
    status = relayd.STATUS_STREAM.build(relayd.RelaydStatusStream(handle=4, ret_code=10))
    path = b"host/session/archives\0"
    close_reply = relayd.CLOSE_TRACE_CHUNK_REPLY.build(
        relayd.RelaydCloseTraceChunkReply(
            generic=relayd.RelaydGenericReply(ret_code=10), path_length=len(path), path=path
        )
    )
    close = relayd.CLOSE_TRACE_CHUNK.build(
        relayd.RelaydCloseTraceChunk(
            chunk_id=0,
            close_timestamp=1,
            close_command=relayd.OptionalTraceChunkCommandBe(
                is_set=0, value=LttngTraceChunkCommandType(0)
            ),
        )
    )
    metadata = relayd.METADATA_PAYLOAD.build(
        relayd.RelaydMetadataPayload(stream_id=3, padding_size=0, payload=b"/* CTF 1.8 */")
    )
    packet = bytes(range(40))
    data_header = relayd.DATA_HDR.build(
        relayd.RelaydDataHdr(
            circuit_id=0, stream_id=4, net_seq_num=0, data_size=len(packet), padding_size=8
        )
    )
    control, data = RelaydSocket.CONTROL, RelaydSocket.DATA
    return [
        (control, TO_RELAYD, _command(Cmd.RELAYD_ADD_STREAM, add_stream)),
        (control, TO_CONSUMERD, status),
        (control, TO_RELAYD, _command(Cmd.RELAYD_STREAMS_SENT)),
        (control, TO_CONSUMERD, OK),
        (control, TO_RELAYD, _command(Cmd.RELAYD_SEND_METADATA, metadata)),
        (data, TO_RELAYD, data_header + packet),
        (control, TO_RELAYD, _command(Cmd.RELAYD_CLOSE_TRACE_CHUNK, close)),
        (control, TO_CONSUMERD, close_reply),
    ]


EXPECTED = [
    ("relayd-control", "c2r", "header", "RELAYD_ADD_STREAM", "lttcomm_relayd_hdr"),
    ("relayd-control", "c2r", "payload", "RELAYD_ADD_STREAM", "lttcomm_relayd_add_stream_2_11"),
    ("relayd-control", "r2c", "reply", "RELAYD_ADD_STREAM", "lttcomm_relayd_status_stream"),
    ("relayd-control", "c2r", "header", "RELAYD_STREAMS_SENT", "lttcomm_relayd_hdr"),
    ("relayd-control", "r2c", "reply", "RELAYD_STREAMS_SENT", "lttcomm_relayd_generic_reply"),
    ("relayd-control", "c2r", "header", "RELAYD_SEND_METADATA", "lttcomm_relayd_hdr"),
    (
        "relayd-control",
        "c2r",
        "payload",
        "RELAYD_SEND_METADATA",
        "lttcomm_relayd_metadata_payload",
    ),
    ("relayd-data", "c2r", "data.header", "data", "lttcomm_relayd_data_hdr"),
    ("relayd-data", "c2r", "data.packet", "data", "data.packet"),
    ("relayd-control", "c2r", "header", "RELAYD_CLOSE_TRACE_CHUNK", "lttcomm_relayd_hdr"),
    (
        "relayd-control",
        "c2r",
        "payload",
        "RELAYD_CLOSE_TRACE_CHUNK",
        "lttcomm_relayd_close_trace_chunk",
    ),
    (
        "relayd-control",
        "r2c",
        "reply",
        "RELAYD_CLOSE_TRACE_CHUNK",
        "lttcomm_relayd_close_trace_chunk_reply",
    ),
]


def _records(cuts: list[int] | None = None) -> list[RelaydRecord]:
    """The conversation as records, each message cut at the ``cuts`` positions."""
    records: list[RelaydRecord] = []
    for role, direction, data in _conversation():
        points = sorted({c % (len(data) + 1) for c in cuts or []} | {0, len(data)})
        for start, end in itertools.pairwise(points):
            records.append(RelaydRecord(len(records), 0, direction, role, data[start:end]))
    return records


def _decode(records: list[RelaydRecord]) -> list[RelaydDecoded]:
    decoder = RelaydDecoder()
    pieces = [piece for record in records for piece in decoder.observe(record)]
    decoder.finish()
    return pieces


def _shape(pieces: list[RelaydDecoded]) -> list[tuple[str, str, str, str, str]]:
    return [(p.socket.value, p.direction.short, p.step, p.exchange, p.name) for p in pieces]


def test_decodes_each_message_with_its_grammar() -> None:
    pieces = _decode(_records())
    assert _shape(pieces) == EXPECTED
    assert [problem for p in pieces if (problem := roundtrip_problem(p))] == []
    # Each stream's bytes are covered exactly, in order.
    for role, direction in ((RelaydSocket.CONTROL, TO_RELAYD), (RelaydSocket.DATA, TO_RELAYD)):
        sent = b"".join(d for r, w, d in _conversation() if (r, w) == (role, direction))
        got = [p for p in pieces if (p.socket, p.direction) == (role, direction)]
        assert b"".join(p.raw for p in got) == sent
        assert [p.offset for p in got] == [
            sum(len(q.raw) for q in got[:i]) for i in range(len(got))
        ]
    reply = pieces[-1].value
    assert relayd.CLOSE_TRACE_CHUNK_REPLY.build(reply).endswith(b"host/session/archives\0")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_record_boundaries_do_not_matter(cuts: list[int]) -> None:
    """TCP keeps no message boundaries: however the bytes were cut, the same messages."""
    assert _shape(_decode(_records(cuts))) == EXPECTED


def test_older_minor_selects_the_older_grammars() -> None:
    payload = relayd.ADD_STREAM_2_2.build(
        relayd.RelaydAddStream22(
            channel_name="chan_0", pathname="ust", tracefile_size=0, tracefile_count=0
        )
    )
    record = RelaydRecord(
        0, 0, TO_RELAYD, RelaydSocket.CONTROL, _command(Cmd.RELAYD_ADD_STREAM, payload), 0, 7
    )
    decoder = RelaydDecoder({7: 4})
    assert [p.name for p in decoder.observe(record)] == [
        "lttcomm_relayd_hdr",
        "lttcomm_relayd_add_stream_2_2",
    ]
    # Without the hand-over's minor, 2.13 is assumed: the 2.11 grammar is used.
    assert [p.name for p in RelaydDecoder().observe(record)][1] == "lttcomm_relayd_add_stream_2_11"


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        ([(RelaydSocket.CONTROL, TO_CONSUMERD, OK)], "no command awaiting a reply"),
        ([(RelaydSocket.DATA, TO_CONSUMERD, b"x")], "never answers there"),
        (
            [(RelaydSocket.CONTROL, TO_RELAYD, _command(Cmd.RELAYD_STREAMS_SENT)[:10])],
            "cut short",
        ),
        (
            [(RelaydSocket.CONTROL, TO_RELAYD, b"\0" * 16 + b"\0\0\0\x63" + b"\0" * 4)],
            "RELAYD_HDR",
        ),
    ],
    ids=["unasked-reply", "data-reply", "truncated", "unknown-command"],
)
def test_faults_are_remote_protocol_errors(
    records: list[tuple[RelaydSocket, RelaydDirection, bytes]], reason: str
) -> None:
    decoder = RelaydDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        for seq, (role, direction, data) in enumerate(records):
            list(decoder.observe(RelaydRecord(seq, 0, direction, role, data)))
        decoder.finish()
    if reason != "RELAYD_HDR":
        assert reason in str(info.value)
    else:
        assert "lttcomm_relayd_hdr" in str(info.value) or "enum" in str(info.value)


def _mixed() -> list[CaptureRecord | RelaydRecord]:
    records: list[CaptureRecord | RelaydRecord] = [
        CaptureRecord(0, 5, Direction.TO_SESSIOND, Socket.ERROR, b"\x64\0\0\0", 0)
    ]
    for record in _records([7]):
        records.append(
            RelaydRecord(
                record.seq + 1,
                10 + record.seq,
                record.direction,
                record.socket,
                record.data,
                connection=0,
                net_index=1,
                peer="[::1]:5342",
            )
        )
    return records


def test_capture_file_keeps_relay_records_apart(tmp_path: Path) -> None:
    path = tmp_path / "c.capture.jsonl"
    records = _mixed()
    write_capture_file(path, records)
    assert list(read_capture_all(path)) == records
    assert list(read_capture(path)) == records[:1]  # the session daemon ↔ consumer ones
    capture = load_capture(path)
    assert capture.end is not None and capture.end.records == len(records)
    assert capture.records == tuple(records[:1])
    assert capture.relayd == tuple(records[1:])
    assert capture.in_order() == records


def test_unknown_relay_direction_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write_capture_file(path, _mixed()[:2], exit_status=None)
    text = path.read_text().replace("consumerd->relayd", "relayd->sessiond")
    path.write_text(text)
    with pytest.raises(CaptureFormatError) as info:
        load_capture(path)
    assert info.value.field == "line 3.direction"


def test_decode_command_prints_and_rebuilds_relay_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.capture.jsonl"
    write_capture_file(path, _mixed())
    out = io.StringIO()
    assert decode_main([str(path), "--check-roundtrip"], out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + len(EXPECTED)  # the error socket's code, then the relay's
    assert "relayd-control#0 C→R RELAYD_ADD_STREAM" in " ".join(lines[1].split())
    assert "all rebuilt identically" in capsys.readouterr().err
    docs: list[dict[str, Any]] = [as_json(item) for item in decode_capture(_mixed(), Abi.V2_13_9)]
    assert {(d["net_index"], d["connection"]) for d in docs[1:]} == {(1, 0)}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(RelaydSocket)),
            st.sampled_from(list(RelaydDirection)),
            st.binary(max_size=64),
        ),
        max_size=8,
    ),
    st.integers(min_value=0, max_value=len(_conversation())),
)
def test_garbage_decodes_or_raises_remote_protocol_error(
    garbage: list[tuple[RelaydSocket, RelaydDirection, bytes]], keep: int
) -> None:
    """Fuzz invariant: whatever the bytes, messages or a RemoteProtocolError, nothing else."""
    messages = [*_conversation()[:keep], *garbage]
    decoder = RelaydDecoder()
    try:
        for seq, (role, direction, data) in enumerate(messages):
            for piece in decoder.observe(RelaydRecord(seq, 0, direction, role, data)):
                assert roundtrip_problem(piece) is None
        decoder.finish()
    except RemoteProtocolError:
        pass
