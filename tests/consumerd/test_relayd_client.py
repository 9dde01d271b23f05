"""The relay daemon protocol client (``ustref.consumerd.relayd``, relayd.c) and the
per-relay exchange slots of the core: every command is checked against the typed
grammars of ``ustref.protocol.relayd``, and a relay that does not answer delays only
the exchanges queued on its own control socket."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ustref.consumerd import relayd as client
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import (
    Acquire,
    Received,
    RelaydSock,
    Send,
    SendRelaydData,
    Sock,
    Wait,
)
from ustref.consumerd.relay_stream import RelayOutput
from ustref.ids import U64_MAX
from ustref.output.index import PacketIndex
from ustref.protocol.consumer import LttngTraceChunkCommandType
from ustref.protocol.fastpath import FastCodec
from ustref.protocol.fields import c_text
from ustref.protocol.relayd import (
    ADD_STREAM_2_11,
    CLOSE_TRACE_CHUNK,
    CREATE_TRACE_CHUNK,
    DATA_HDR,
    GENERIC_REPLY,
    HDR,
    INDEX,
    METADATA_PAYLOAD,
    ROTATE_STREAMS,
    STATUS_STREAM,
    LttcommRelaydCommand,
    RelaydDataHdr,
    RelaydGenericReply,
    RelaydHdr,
    RelaydIndex,
    RelaydMetadataPayload,
    RelaydStatusStream,
    rotation_positions,
)
from ustref.ring.reader import Subbuffer

R0 = RelaydSock(0)
R1 = RelaydSock(1)
OK = RelaydGenericReply(ret_code=client.LTTNG_OK)
PACKET_INDEX = PacketIndex(
    offset=0,
    packet_size=64 * 8,
    content_size=5 * 8,
    timestamp_begin=1,
    timestamp_end=2,
    events_discarded=0,
    stream_id=0,
    stream_instance_id=0,
    packet_seq_num=0,
)
"""The index of a 64-byte packet holding 5 bytes."""


def _core() -> Core:
    core = Core()
    core.open_relayd_slot(R0)
    core.open_relayd_slot(R1)
    return core


def _sent(core: Core, sock: RelaydSock) -> list[bytes]:
    return [a.data for a in core.take_actions() if isinstance(a, Send) and a.sock == sock]


def _split(raw: bytes) -> tuple[LttcommRelaydCommand, bytes]:
    header = HDR.parse(raw[: HDR.size])
    payload = raw[HDR.size :]
    assert header.data_size == len(payload)
    return header.cmd, payload


def test_add_stream_2_11_then_streams_sent() -> None:
    core = _core()
    relay = client.Relayd(R0, 2, 13)
    result: list[int] = []

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        handle = yield from client.add_stream(
            core,
            relay,
            channel_name="chan_0",
            domain_name="ust",
            pathname="uid/0/64-bit",
            tracefile_size=0,
            tracefile_count=0,
            chunk_id=3,
        )
        result.append(handle)
        yield from client.streams_sent(core, relay)

    core.run_exchange(gen(), "test")
    (raw,) = _sent(core, R0)
    cmd, payload = _split(raw)
    assert cmd is LttcommRelaydCommand.RELAYD_ADD_STREAM
    msg = ADD_STREAM_2_11.parse(payload)
    assert msg.names == b"chan_0\0ust/uid/0/64-bit\0"
    assert (msg.channel_name_len, msg.pathname_len, msg.trace_chunk_id) == (7, 17, 3)
    core.receive(R0, STATUS_STREAM.build(RelaydStatusStream(handle=9, ret_code=10)), [], 0)
    assert result == [9]
    (raw,) = _sent(core, R0)
    assert _split(raw) == (LttcommRelaydCommand.RELAYD_STREAMS_SENT, b"")
    core.receive(R0, GENERIC_REPLY.build(OK), [], 0)
    assert core.in_flight(R0) is None


def test_a_reply_after_the_wait_reaches_an_equal_key() -> None:
    """Slots are keyed by value: the reply comes in on another RelaydSock(0) object."""
    core = _core()
    done: list[bool] = []

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(RelaydSock(0))
        yield from client.streams_sent(core, client.Relayd(RelaydSock(0), 2, 13))
        done.append(True)

    core.run_exchange(gen(), "test")
    core.receive(RelaydSock(0), GENERIC_REPLY.build(OK), [], 0)
    assert done == [True]


def test_an_error_code_fails_the_exchange() -> None:
    core = _core()
    relay = client.Relayd(R0, 2, 13)
    failures: list[Exception] = []

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        try:
            yield from client.close_stream(core, relay, 4, 7)
        except client.RelaydError as exc:
            failures.append(exc)

    core.run_exchange(gen(), "test")
    core.receive(R0, GENERIC_REPLY.build(RelaydGenericReply(ret_code=15)), [], 0)
    assert failures and "close stream" in str(failures[0])


def test_a_silent_relay_delays_only_its_own_slot() -> None:
    """One relay that never answers: the exchanges queued on it wait; the other
    relay's go on, and so do commands."""
    core = _core()
    done: list[str] = []

    def talk(sock: RelaydSock, label: str) -> Generator[Wait, Received, None]:
        yield Acquire(sock)
        yield from client.quiescent_control(core, client.Relayd(sock, 2, 13), 1)
        done.append(label)

    core.run_exchange(talk(R0, "r0-a"), "r0-a")
    core.run_exchange(talk(R0, "r0-b"), "r0-b")
    core.run_exchange(talk(R1, "r1"), "r1")
    assert core.in_flight(R0) == "r0-a" and core.in_flight(R1) == "r1"
    core.receive(R1, GENERIC_REPLY.build(OK), [], 0)
    assert done == ["r1"]
    assert core.in_flight(Sock.COMMAND) is None
    core.receive(R0, GENERIC_REPLY.build(OK), [], 0)
    assert done == ["r1", "r0-a"] and core.in_flight(R0) == "r0-b"


def test_relay_eof_fails_what_waits_on_it() -> None:
    core = _core()
    failures: list[str] = []

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        try:
            yield from client.begin_data_pending(core, client.Relayd(R0, 2, 13), 5)
        except Exception as exc:
            failures.append(str(exc))

    core.run_exchange(gen(), "test")
    core.receive(R0, b"", [], 0)
    assert failures == ["the relayd 0 control socket closed"]
    assert R0 not in core.relayd_slots()


@pytest.mark.parametrize(
    ("path", "returned"),
    [
        (b"host/s-1/archives/x\0", "host/s-1/archives/x"),
        # Not UTF-8: the bytes come back as they came (c_text), not replaced.
        (b"host/\xff\0", c_text(b"host/\xff")),
        # A C string ends at its first NUL.
        (b"host/a\0junk\0", "host/a"),
    ],
)
def test_close_trace_chunk_returns_the_relay_path(path: bytes, returned: str) -> None:
    core = _core()
    paths: list[str] = []

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        path = yield from client.close_trace_chunk(
            core,
            client.Relayd(R0, 2, 13),
            chunk_id=1,
            close_timestamp=1700000000,
            close_command=LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED,
        )
        paths.append(path)

    core.run_exchange(gen(), "test")
    (raw,) = _sent(core, R0)
    cmd, payload = _split(raw)
    assert cmd is LttcommRelaydCommand.RELAYD_CLOSE_TRACE_CHUNK
    msg = CLOSE_TRACE_CHUNK.parse(payload)
    assert (msg.chunk_id, msg.close_command.is_set) == (1, 1)
    core.receive(R0, (10).to_bytes(4, "big") + len(path).to_bytes(4, "big"), [], 0)
    assert paths == []
    core.receive(R0, path, [], 0)
    assert paths == [returned]


def test_rotate_streams_positions() -> None:
    core = _core()

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        yield from client.rotate_streams(
            core, client.Relayd(R0, 2, 13), new_chunk_id=None, positions=[(1, 5), (2, 0)]
        )

    core.run_exchange(gen(), "test")
    (raw,) = _sent(core, R0)
    cmd, payload = _split(raw)
    assert cmd is LttcommRelaydCommand.RELAYD_ROTATE_STREAMS
    msg = ROTATE_STREAMS.parse(payload)
    assert msg.new_chunk_id.is_set == 0
    assert [(p.stream_id, p.rotate_at_seq_num) for p in rotation_positions(msg)] == [
        (1, 5),
        (2, 0),
    ]


@pytest.mark.parametrize(("minor", "size"), [(13, 80), (7, client.INDEX_1_0_LEN)])
def test_index_size_follows_the_minor_version(minor: int, size: int) -> None:
    index = dataclasses.replace(
        PACKET_INDEX,
        packet_size=4096 * 8,
        content_size=1000 * 8,
        stream_instance_id=3,
        packet_seq_num=4,
    )
    payload = client.index_payload(client.Relayd(R0, 2, minor), 7, 2, index)
    assert len(payload) == size
    if minor >= 8:
        parsed = INDEX.parse(payload)
        assert (parsed.relay_stream_id, parsed.net_seq_num, parsed.packet_seq_num) == (7, 2, 4)


def test_metadata_and_data_framing() -> None:
    cmd, payload = _split(client.metadata_command(5, b"/* CTF 1.8 */", 3))
    assert cmd is LttcommRelaydCommand.RELAYD_SEND_METADATA
    msg = METADATA_PAYLOAD.parse(payload)
    assert (msg.stream_id, msg.padding_size, msg.payload) == (5, 3, b"/* CTF 1.8 */")
    header = client.data_header(5, 9, 1000, 3096)
    assert len(header) == 32
    assert header[8:16] == (5).to_bytes(8, "big") and header[16:24] == (9).to_bytes(8, "big")


def _subbuf(content: bytes, padded: int) -> Subbuffer:
    return Subbuffer(
        position=0,
        subbuf_size=len(content),
        padded_subbuf_size=padded,
        view=memoryview(content + bytes(padded - len(content))),
    )


def test_relay_output_sends_content_then_index_then_closes() -> None:
    """A data packet: header + content (no padding) on the data socket, its index on
    the control socket; CLOSE_STREAM names the last sequence number sent, and the pair
    loses its reference once the relay answered."""
    core = _core()
    closed: list[bool] = []
    output = RelayOutput(
        core,
        client.Relayd(R0, 2, 13),
        name="chan_0",
        relay_stream_id=7,
        metadata=False,
        on_closed=lambda: closed.append(True),
    )
    output.write_subbuffers([_subbuf(b"hello", 64)], [PACKET_INDEX])
    actions = core.take_actions()
    data = [a for a in actions if isinstance(a, SendRelaydData)]
    assert len(data) == 1 and data[0].net_index == 0
    assert data[0].data == client.data_header(7, 0, 5, 59) + b"hello"
    (raw,) = [a.data for a in actions if isinstance(a, Send) and a.sock == R0]
    assert _split(raw)[0] is LttcommRelaydCommand.RELAYD_SEND_INDEX
    output.close()
    assert core.take_actions() == []  # queued behind the index exchange
    core.receive(R0, GENERIC_REPLY.build(OK), [], 0)
    (raw,) = _sent(core, R0)
    cmd, payload = _split(raw)
    assert cmd is LttcommRelaydCommand.RELAYD_CLOSE_STREAM
    assert payload == (7).to_bytes(8, "big") + (0).to_bytes(8, "big")
    assert closed == []
    core.receive(R0, GENERIC_REPLY.build(OK), [], 0)
    assert closed == [True]


def test_relay_output_metadata_goes_on_the_control_socket() -> None:
    core = _core()
    output = RelayOutput(
        core, client.Relayd(R0, 2, 13), name="metadata", relay_stream_id=3, metadata=True
    )
    output.write_subbuffers([_subbuf(b"/* CTF */", 16)])
    (raw,) = _sent(core, R0)
    assert raw == client.metadata_command(3, b"/* CTF */", 7)
    assert core.in_flight(R0) is None  # no reply to wait for


def test_a_beacon_is_an_index_with_only_a_stream_id_and_an_end_time() -> None:
    """``send_empty_index``: what the live timer sends for a stream with nothing to read."""
    core = _core()
    output = RelayOutput(
        core, client.Relayd(R0, 2, 13), name="chan_0", relay_stream_id=4, metadata=False
    )
    output.send_beacon(123456, 2)
    (raw,) = _sent(core, R0)
    cmd, payload = _split(raw)
    assert cmd is LttcommRelaydCommand.RELAYD_SEND_INDEX
    index = INDEX.parse(payload)
    assert (index.relay_stream_id, index.net_seq_num) == (4, U64_MAX)  # -1ULL: no packet
    assert (index.timestamp_end, index.stream_id, index.packet_size) == (123456, 2, 0)


def _add_stream_exchange(
    core: Core, channel_name: str, pathname: str
) -> tuple[list[int], list[Exception]]:
    """Run ``add_stream`` on R0 (protocol 2.13); the handles it returned, the errors it raised."""
    handles: list[int] = []
    errors: list[Exception] = []

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        try:
            handles.append(
                (
                    yield from client.add_stream(
                        core,
                        client.Relayd(R0, 2, 13),
                        channel_name=channel_name,
                        domain_name="ust",
                        pathname=pathname,
                        tracefile_size=0,
                        tracefile_count=0,
                        chunk_id=3,
                    )
                )
            )
        except client.RelaydError as exc:
            errors.append(exc)

    core.run_exchange(gen(), "test")
    return handles, errors


def test_add_stream_sends_non_utf8_names_as_they_came() -> None:
    """A channel name or path that was not UTF-8 on the wire (held with surrogates,
    ``c_text``) goes to the relay daemon as the same bytes; it used to raise
    ``UnicodeEncodeError``, which no error boundary catches."""
    core = _core()
    _add_stream_exchange(core, c_text(b"ch\xff_0"), c_text(b"uid/\xfe"))
    (raw,) = _sent(core, R0)
    msg = ADD_STREAM_2_11.parse(_split(raw)[1])
    assert msg.names == b"ch\xff_0\0ust/uid/\xfe\0"
    assert (msg.channel_name_len, msg.pathname_len) == (6, 10)


@pytest.mark.parametrize(("length", "fits"), [(4091, True), (4092, False)])
def test_add_stream_refuses_a_path_longer_than_the_relay_message(length: int, fits: bool) -> None:
    """``relayd_add_stream`` formats ``<domain>/<pathname>`` into
    ``char pathname[RELAYD_COMM_LTTNG_PATH_MAX]`` and refuses what does not fit
    (relayd.c:532–540): nothing is sent, the caller gets the error."""
    core = _core()
    handles, errors = _add_stream_exchange(core, "chan_0", "p" * length)
    sent = _sent(core, R0)
    if fits:
        assert len(sent) == 1 and not errors
        assert ADD_STREAM_2_11.parse(_split(sent[0])[1]).pathname_len == 4 + length + 1
    else:
        assert sent == [] and handles == []
        assert len(errors) == 1 and "exceeds" in str(errors[0])


def test_create_trace_chunk_sends_a_non_utf8_override_name_as_it_came() -> None:
    core = _core()

    def gen() -> Generator[Wait, Received, None]:
        yield Acquire(R0)
        yield from client.create_trace_chunk(
            core,
            client.Relayd(R0, 2, 13),
            chunk_id=4,
            creation_timestamp=1_700_000_000,
            override_name=c_text(b"n\xff"),
        )

    core.run_exchange(gen(), "test")
    (raw,) = _sent(core, R0)
    cmd, payload = _split(raw)
    assert cmd is LttcommRelaydCommand.RELAYD_CREATE_TRACE_CHUNK
    msg = CREATE_TRACE_CHUNK.parse(payload)
    assert (msg.override_name_length, msg.override_name) == (3, b"n\xff\0")


# The per-packet builders pack plain values through the grammars' flat structs
# (FastCodec.flat): the bytes must be those the typed grammars build.

U64 = st.integers(0, U64_MAX)
U32 = st.integers(0, 0xFFFF_FFFF)


@given(U64, U64, U32, U32)
def test_the_flat_data_header_is_the_grammars(stream: int, seq: int, size: int, pad: int) -> None:
    typed = DATA_HDR.build(
        RelaydDataHdr(
            circuit_id=0, stream_id=stream, net_seq_num=seq, data_size=size, padding_size=pad
        )
    )
    assert client.data_header(stream, seq, size, pad) == typed


@given(st.sampled_from(list(LttcommRelaydCommand)), st.binary(max_size=16), U32)
def test_the_flat_command_header_is_the_grammars(
    cmd: LttcommRelaydCommand, payload: bytes, size: int
) -> None:
    header = HDR.build(RelaydHdr(circuit_id=0, data_size=len(payload), cmd=cmd, cmd_version=0))
    assert client.command(cmd, payload) == header + payload
    sized = HDR.build(RelaydHdr(circuit_id=0, data_size=size, cmd=cmd, cmd_version=0))
    assert client.command(cmd, payload, size) == sized + payload


@given(st.integers(4, 13), U64, U64, st.lists(U64, min_size=8, max_size=8))
def test_the_flat_index_is_the_grammars(
    minor: int, stream: int, seq: int, values: list[int]
) -> None:
    names = [field.name for field in dataclasses.fields(PacketIndex) if field.name != "offset"]
    index = PacketIndex(offset=0, **dict(zip(names, values, strict=True)))
    typed = INDEX.build(
        RelaydIndex(
            relay_stream_id=stream,
            net_seq_num=seq,
            packet_size=index.packet_size,
            content_size=index.content_size,
            timestamp_begin=index.timestamp_begin,
            timestamp_end=index.timestamp_end,
            events_discarded=index.events_discarded,
            stream_id=index.stream_id,
            stream_instance_id=index.stream_instance_id if minor >= 8 else 0,
            packet_seq_num=index.packet_seq_num if minor >= 8 else 0,
        )
    )
    expected = typed if minor >= 8 else typed[: client.INDEX_1_0_LEN]
    assert client.index_payload(client.Relayd(R0, 2, minor), stream, seq, index) == expected


def test_a_flat_struct_must_name_the_grammars_fields_in_order() -> None:
    codec = FastCodec[RelaydDataHdr](DATA_HDR)
    with pytest.raises(ValueError, match="fields are"):
        codec.flat("stream_id", "circuit_id", "net_seq_num", "data_size", "padding_size")
    with pytest.raises(ValueError, match="not flat integers"):
        FastCodec[RelaydMetadataPayload](METADATA_PAYLOAD).flat(
            "stream_id", "padding_size", "payload"
        )
