"""Consumer ↔ relay daemon grammars: bytes and values read in relayd.h, relayd.c and main.c.

Every struct of src/common/sessiond-comm/relayd.h is packed, so each layout is
its members back to back; ``struct.pack(">…")`` (big-endian, no alignment)
writes them at the offsets derived member by member in the comments.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from tests.protocol.roundtrip import assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.ids import U64_MAX
from ustref.protocol import relayd
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import LttngTraceChunkCommandType
from ustref.protocol.fields import CStr
from ustref.protocol.registry import REGISTRY, StructSpec

# Values read in the C sources.
LTTNG_OK = 10  # include/lttng/lttng-error.h
LTTNG_ERR_UNK = 11
LTTNG_ERR_INVALID_PROTOCOL = 152
TRACE_CHUNK_COMMAND_TYPE_DELETE = 2  # src/common/trace-chunk.h
UUID = bytes(range(0x10, 0x20))

ALL_SPECS: list[StructSpec[Any]] = [
    v
    for v in vars(relayd).values()
    if isinstance(v, StructSpec) and v.dc_type.__module__ == relayd.__name__
]


def _z(text: str, size: int) -> bytes:
    """A ``char[size]`` filled by lttng_strncpy into a zeroed struct."""
    return text.encode().ljust(size, b"\0")


# --- headers -----------------------------------------------------------------


def test_hdr() -> None:
    # circuit_id u64 @0, data_size u64 @8, cmd u32 @16, cmd_version u32 @20 → 24
    obj = relayd.RelaydHdr(
        circuit_id=0,
        data_size=8,
        cmd=relayd.LttcommRelaydCommand.RELAYD_VERSION,
        cmd_version=0,
    )
    assert_roundtrip(relayd.HDR, obj, struct.pack(">QQII", 0, 8, 5, 0), c_sizeof=24)


def test_data_hdr() -> None:
    # circuit_id @0, stream_id @8, net_seq_num @16 (u64), data_size @24, padding_size @28 → 32
    obj = relayd.RelaydDataHdr(
        circuit_id=0, stream_id=7, net_seq_num=42, data_size=4096, padding_size=12
    )
    assert_roundtrip(relayd.DATA_HDR, obj, struct.pack(">QQQII", 0, 7, 42, 4096, 12), c_sizeof=32)


# --- replies -----------------------------------------------------------------


def test_status_session() -> None:
    # session_id u64 @0, ret_code u32 @8 → 12
    obj = relayd.RelaydStatusSession(session_id=3, ret_code=LTTNG_OK)
    assert_roundtrip(relayd.STATUS_SESSION, obj, struct.pack(">QI", 3, 10), c_sizeof=12)


def test_status_stream() -> None:
    # handle u64 @0, ret_code u32 @8 → 12 (relay_add_stream: LTTNG_ERR_UNK on failure)
    obj = relayd.RelaydStatusStream(handle=1 << 40, ret_code=LTTNG_ERR_UNK)
    assert_roundtrip(relayd.STATUS_STREAM, obj, struct.pack(">QI", 1 << 40, 11), c_sizeof=12)


def test_generic_reply_carries_any_integer() -> None:
    # ret_code u32 @0 → 4; END_DATA_PENDING answers the boolean "data in flight".
    assert_roundtrip(
        relayd.GENERIC_REPLY,
        relayd.RelaydGenericReply(ret_code=1),
        struct.pack(">I", 1),
        c_sizeof=4,
    )
    assert relayd.GENERIC_REPLY.parse(struct.pack(">I", 0xDEAD)).ret_code == 0xDEAD


def test_version() -> None:
    # major u32 @0, minor u32 @4 → 8
    obj = relayd.RelaydVersion(major=2, minor=13)
    assert_roundtrip(relayd.VERSION, obj, struct.pack(">II", 2, 13), c_sizeof=8)


# --- sessions and streams ----------------------------------------------------


def test_add_stream_2_1() -> None:
    # channel_name char[264] @0, pathname char[4096] @264 → 4360
    data = _z("channel0_0", 264) + _z("ust/uid/1000/64-bit", 4096)
    obj = relayd.RelaydAddStream(channel_name="channel0_0", pathname="ust/uid/1000/64-bit")
    assert_roundtrip(relayd.ADD_STREAM, obj, data, c_sizeof=4360)


def test_add_stream_2_2() -> None:
    # …, tracefile_size u64 @4360, tracefile_count u64 @4368 → 4376
    data = _z("metadata", 264) + _z("kernel", 4096) + struct.pack(">QQ", 1 << 20, 4)
    obj = relayd.RelaydAddStream22(
        channel_name="metadata", pathname="kernel", tracefile_size=1 << 20, tracefile_count=4
    )
    assert_roundtrip(relayd.ADD_STREAM_2_2, obj, data, c_sizeof=4376)


def test_add_stream_2_11() -> None:
    # channel_name_len @0, pathname_len @4 (u32), tracefile_size @8, tracefile_count @16,
    # trace_chunk_id @24 (u64) → 32; names[] @32: "chan\0" + "a/b\0"
    names = b"chan\0a/b\0"
    data = struct.pack(">IIQQQ", 5, 4, 0, 0, 9) + names
    obj = relayd.RelaydAddStream211(
        channel_name_len=5,
        pathname_len=4,
        tracefile_size=0,
        tracefile_count=0,
        trace_chunk_id=9,
        names=names,
    )
    assert_roundtrip(relayd.ADD_STREAM_2_11, obj, data, c_sizeof=32)


def test_create_session_2_4() -> None:
    # session_name char[255] @0, hostname char[64] @255, live_timer u32 @319,
    # snapshot u32 @323 → 327
    data = _z("s1", 255) + _z("host", 64) + struct.pack(">II", 1000000, 1)
    obj = relayd.RelaydCreateSession24(
        session_name="s1", hostname="host", live_timer=1000000, snapshot=1
    )
    assert_roundtrip(relayd.CREATE_SESSION_2_4, obj, data, c_sizeof=327)


def test_create_session_2_11() -> None:
    # session_name_len @0, hostname_len @4, base_path_len @8, live_timer @12 (u32),
    # snapshot u8 @16, session_name_contains_creation_time u8 @17, sessiond_uuid[16] @18,
    # session_id u64 @34, creation_time u64 @42,
    # current_chunk_id {is_set u8 @50, value u64 @51} (packed, 9) → 59; names[] @59
    names = b"s1\0host\0"
    data = struct.pack(">IIIIBB16sQQBQ", 3, 5, 0, 0, 0, 1, UUID, 4, 1700000000, 1, 77) + names
    obj = relayd.RelaydCreateSession211(
        session_name_len=3,
        hostname_len=5,
        base_path_len=0,
        live_timer=0,
        snapshot=0,
        session_name_contains_creation_time=1,
        sessiond_uuid=UUID,
        session_id=4,
        creation_time=1700000000,
        current_chunk_id=relayd.OptionalU64Be(is_set=1, value=77),
        names=names,
    )
    assert_roundtrip(relayd.CREATE_SESSION_2_11, obj, data, c_sizeof=59)


def test_create_session_reply_2_11() -> None:
    # generic {session_id u64 @0, ret_code u32 @8} (12), output_path_length u32 @12 → 16;
    # output_path[] @16 with its NUL
    path = b"/srv/lttng/host/s1-20240101\0"
    data = struct.pack(">QII", 4, 10, len(path)) + path
    obj = relayd.RelaydCreateSessionReply211(
        generic=relayd.RelaydStatusSession(session_id=4, ret_code=LTTNG_OK),
        output_path_length=len(path),
        output_path=path,
    )
    assert_roundtrip(relayd.CREATE_SESSION_REPLY_2_11, obj, data, c_sizeof=16)


# --- data and metadata -------------------------------------------------------


def test_metadata_payload() -> None:
    # stream_id u64 @0, padding_size u32 @8 → 12; payload[] @12 = metadata + padding zeros
    payload = b"/* CTF 1.8 */\0\0\0"
    data = struct.pack(">QI", 2, 3) + payload
    obj = relayd.RelaydMetadataPayload(stream_id=2, padding_size=3, payload=payload)
    assert_roundtrip(relayd.METADATA_PAYLOAD, obj, data, c_sizeof=12)


@pytest.mark.parametrize(
    ("spec", "dc_type"),
    [
        (relayd.CLOSE_STREAM, relayd.RelaydCloseStream),
        (relayd.DATA_PENDING, relayd.RelaydDataPending),
    ],
)
def test_stream_and_last_seq(spec: StructSpec[Any], dc_type: type[Any]) -> None:
    # stream_id u64 @0, last_net_seq_num u64 @8 → 16
    obj = dc_type(stream_id=5, last_net_seq_num=U64_MAX)
    assert_roundtrip(spec, obj, struct.pack(">QQ", 5, U64_MAX), c_sizeof=16)


@pytest.mark.parametrize(
    ("spec", "make"),
    [
        (relayd.BEGIN_DATA_PENDING, lambda v: relayd.RelaydBeginDataPending(session_id=v)),
        (relayd.END_DATA_PENDING, lambda v: relayd.RelaydEndDataPending(session_id=v)),
        (relayd.QUIESCENT_CONTROL, lambda v: relayd.RelaydQuiescentControl(stream_id=v)),
        (relayd.TRACE_CHUNK_EXISTS, lambda v: relayd.RelaydTraceChunkExists(chunk_id=v)),
        (relayd.GET_CONFIGURATION, lambda v: relayd.RelaydGetConfiguration(query_flags=v)),
    ],
)
def test_single_u64(spec: StructSpec[Any], make: Any) -> None:
    # one uint64_t @0 → 8
    assert_roundtrip(spec, make(0x0102030405060708), bytes(range(1, 9)), c_sizeof=8)


def test_index() -> None:
    # ten u64: relay_stream_id @0, net_seq_num @8, packet_size @16, content_size @24,
    # timestamp_begin @32, timestamp_end @40, events_discarded @48, stream_id @56,
    # stream_instance_id @64, packet_seq_num @72 → 80
    values = [1, 2, 8192, 8000, 100, 200, 0, 3, 4, 5]
    obj = relayd.RelaydIndex(
        relay_stream_id=1,
        net_seq_num=2,
        packet_size=8192,
        content_size=8000,
        timestamp_begin=100,
        timestamp_end=200,
        events_discarded=0,
        stream_id=3,
        stream_instance_id=4,
        packet_seq_num=5,
    )
    assert_roundtrip(relayd.INDEX, obj, struct.pack(">10Q", *values), c_sizeof=80)
    # lttcomm_relayd_index_len(1, 0) = offsetof(stream_id) + 8 = 64: a 2.4–2.7 peer.
    short = relayd.INDEX_1_0.parse(struct.pack(">10Q", *values)[:64])
    assert short.stream_id == 3
    assert relayd.INDEX_1_0.size == 64


def test_reset_metadata() -> None:
    # stream_id u64 @0, version u64 @8 → 16
    obj = relayd.RelaydResetMetadata(stream_id=1, version=2)
    assert_roundtrip(relayd.RESET_METADATA, obj, struct.pack(">QQ", 1, 2), c_sizeof=16)


# --- rotation ----------------------------------------------------------------

POSITIONS = struct.pack(">QQQQ", 10, 100, 11, 101)  # two {stream_id u64, rotate_at_seq_num u64}


def test_stream_rotation_position() -> None:
    obj = relayd.RelaydStreamRotationPosition(stream_id=10, rotate_at_seq_num=100)
    assert_roundtrip(relayd.STREAM_ROTATION_POSITION, obj, POSITIONS[:16], c_sizeof=16)


def test_rotate_streams_as_sent() -> None:
    # stream_count u32 @0; new_chunk_id unpacked {is_set u8 @4, 7 pad, value u64 @12} (16)
    # → 20; rotation_positions[] @20. Pad bytes are kept verbatim.
    data = struct.pack(">IB7sQ", 2, 1, b"\xaa" * 7, 5) + POSITIONS
    obj = relayd.RelaydRotateStreams(
        stream_count=2,
        new_chunk_id=relayd.OptionalU64BeAligned(is_set=1, _pad0=b"\xaa" * 7, value=5),
        rotation_positions=POSITIONS,
    )
    assert_roundtrip(relayd.ROTATE_STREAMS, obj, data, c_sizeof=20)
    assert relayd.rotation_positions(obj) == [
        relayd.RelaydStreamRotationPosition(stream_id=10, rotate_at_seq_num=100),
        relayd.RelaydStreamRotationPosition(stream_id=11, rotate_at_seq_num=101),
    ]


def test_rotate_streams_packed() -> None:
    # stream_count u32 @0, new_chunk_id packed {is_set u8 @4, value u64 @5} → 13
    data = struct.pack(">IBQ", 2, 0, 0) + POSITIONS
    obj = relayd.RelaydRotateStreamsPacked(
        stream_count=2,
        new_chunk_id=relayd.OptionalU64Be(is_set=0, value=0),
        rotation_positions=POSITIONS,
    )
    assert_roundtrip(relayd.ROTATE_STREAMS_PACKED, obj, data, c_sizeof=13)


def test_rotate_streams_3_bytes_padding() -> None:
    # stream_count u32 @0, new_chunk_id {union {is_set u8; padding u32} @4, value u64 @8} → 16
    data = struct.pack(">IB3sQ", 1, 1, b"\x01\x02\x03", 6) + POSITIONS[:16]
    obj = relayd.RelaydRotateStreams3BytesPadding(
        stream_count=1,
        new_chunk_id=relayd.ChunkIdAfter3BytesPadding(
            _anon0=1, _anon0_tail=b"\x01\x02\x03", value=6
        ),
        rotation_positions=POSITIONS[:16],
    )
    assert_roundtrip(relayd.ROTATE_STREAMS_3_BYTES_PADDING, obj, data, c_sizeof=16)


def test_rotate_streams_7_bytes_padding_is_the_sent_form() -> None:
    # stream_count u32 @0, new_chunk_id {union {is_set u8; padding u64} @4, value u64 @12} → 20
    data = struct.pack(">IB7xQ", 0, 1, 6)
    obj = relayd.RelaydRotateStreams7BytesPadding(
        stream_count=0,
        new_chunk_id=relayd.ChunkIdAfter7BytesPadding(_anon0=1, value=6),
        rotation_positions=b"",
    )
    assert_roundtrip(relayd.ROTATE_STREAMS_7_BYTES_PADDING, obj, data, c_sizeof=20)
    assert relayd.ROTATE_STREAMS.build(relayd.ROTATE_STREAMS.parse(data)) == data


def test_rotate_streams_count_must_match_positions() -> None:
    data = struct.pack(">IB7xQ", 2, 1, 6) + POSITIONS[:16]
    with pytest.raises(RemoteProtocolError) as info:
        relayd.ROTATE_STREAMS.parse(data)
    assert info.value.field == "rotation_positions"
    assert info.value.offset == 20


def test_rotation_positions_rejects_bad_length() -> None:
    obj = relayd.RelaydRotateStreamsPacked(
        stream_count=1,
        new_chunk_id=relayd.OptionalU64Be(is_set=0, value=0),
        rotation_positions=b"\0" * 15,
    )
    with pytest.raises(RemoteProtocolError, match="15 bytes"):
        relayd.rotation_positions(obj)


# --- trace chunks and configuration ------------------------------------------


def test_create_trace_chunk() -> None:
    # chunk_id u64 @0, creation_timestamp u64 @8, override_name_length u32 @16 → 20;
    # override_name[] @20 with its NUL
    name = b"archive-1\0"
    data = struct.pack(">QQI", 1, 1700000000, len(name)) + name
    obj = relayd.RelaydCreateTraceChunk(
        chunk_id=1,
        creation_timestamp=1700000000,
        override_name_length=len(name),
        override_name=name,
    )
    assert_roundtrip(relayd.CREATE_TRACE_CHUNK, obj, data, c_sizeof=20)


def test_close_trace_chunk() -> None:
    # chunk_id u64 @0, close_timestamp u64 @8, close_command packed {is_set u8 @16,
    # value u32 @17} → 21
    data = struct.pack(">QQBI", 1, 1700000001, 1, TRACE_CHUNK_COMMAND_TYPE_DELETE)
    obj = relayd.RelaydCloseTraceChunk(
        chunk_id=1,
        close_timestamp=1700000001,
        close_command=relayd.OptionalTraceChunkCommandBe(
            is_set=1, value=LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
        ),
    )
    assert_roundtrip(relayd.CLOSE_TRACE_CHUNK, obj, data, c_sizeof=21)


def test_close_trace_chunk_reply() -> None:
    # generic {ret_code u32 @0}, path_length u32 @4 → 8; path[] @8
    path = b"archives/1\0"
    data = struct.pack(">II", 10, len(path)) + path
    obj = relayd.RelaydCloseTraceChunkReply(
        generic=relayd.RelaydGenericReply(ret_code=LTTNG_OK), path_length=len(path), path=path
    )
    assert_roundtrip(relayd.CLOSE_TRACE_CHUNK_REPLY, obj, data, c_sizeof=8)


def test_close_trace_chunk_unknown_command() -> None:
    # close_command.value @17 must be an lttng_trace_chunk_command_type (0..3)
    with pytest.raises(RemoteProtocolError) as info:
        relayd.CLOSE_TRACE_CHUNK.parse(struct.pack(">QQBI", 1, 2, 1, 4))
    assert info.value.field == "close_command.value"
    assert info.value.offset == 17


def test_trace_chunk_exists_reply() -> None:
    # generic {ret_code u32 @0}, trace_chunk_exists u8 @4 → 5
    obj = relayd.RelaydTraceChunkExistsReply(
        generic=relayd.RelaydGenericReply(ret_code=LTTNG_OK), trace_chunk_exists=1
    )
    assert_roundtrip(relayd.TRACE_CHUNK_EXISTS_REPLY, obj, struct.pack(">IB", 10, 1), c_sizeof=5)


def test_get_configuration_reply() -> None:
    # generic {ret_code u32 @0}, relayd_configuration_flags u64 @4 → 12; payload[] never sent
    flag = relayd.LttcommRelaydConfigurationFlag.LTTCOMM_RELAYD_CONFIGURATION_FLAG_CLEAR_ALLOWED
    obj = relayd.RelaydGetConfigurationReply(
        generic=relayd.RelaydGenericReply(ret_code=LTTNG_ERR_INVALID_PROTOCOL),
        relayd_configuration_flags=flag,
        payload=b"",
    )
    assert_roundtrip(relayd.GET_CONFIGURATION_REPLY, obj, struct.pack(">IQ", 152, 1), c_sizeof=12)


# --- strictness --------------------------------------------------------------


def test_unknown_command_names_field_and_offset() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        relayd.HDR.parse(struct.pack(">QQII", 0, 0, 23, 0))
    assert info.value.message == "lttcomm_relayd_hdr"
    assert info.value.field == "cmd"
    assert info.value.offset == 16


def test_command_zero_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="lttcomm_relayd_command"):
        relayd.HDR.parse(bytes(24))


def test_little_endian_command_is_rejected() -> None:
    # RELAYD_VERSION written without htobe32 reads as 0x05000000.
    with pytest.raises(RemoteProtocolError):
        relayd.HDR.parse(struct.pack("<QQII", 0, 0, 5, 0))


def test_string_without_nul() -> None:
    data = _z("c", 264)[:-1] + b"x" + b"p" * 4096
    with pytest.raises(RemoteProtocolError) as info:
        relayd.ADD_STREAM.parse(data)
    assert info.value.field == "pathname"
    assert info.value.offset == 264


def test_string_bytes_after_nul_rebuild() -> None:
    data = b"chan\0junk".ljust(264, b"\0") + _z("p", 4096)
    obj = relayd.ADD_STREAM.parse(data)
    assert obj.channel_name == "chan"
    assert isinstance(obj.channel_name, CStr)
    assert obj.channel_name.tail == b"junk"
    assert relayd.ADD_STREAM.build(obj) == data


@pytest.mark.parametrize("size", [0, 23, 25])
def test_wrong_size(size: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        relayd.HDR.parse(bytes(size))
    assert info.value.offset == min(size, 24)


def test_variable_message_shorter_than_header() -> None:
    with pytest.raises(RemoteProtocolError, match="truncated"):
        relayd.ADD_STREAM_2_11.parse(bytes(31))


def test_flex_shorter_than_its_length() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        relayd.CREATE_TRACE_CHUNK.parse(struct.pack(">QQI", 1, 2, 5) + b"ab\0")
    assert info.value.field == "override_name"
    assert info.value.offset == 20


def test_flex_longer_than_its_length() -> None:
    with pytest.raises(RemoteProtocolError, match="trailing"):
        relayd.CLOSE_TRACE_CHUNK_REPLY.parse(struct.pack(">II", 10, 2) + b"a\0b")


def test_build_rejects_unknown_command() -> None:
    bad = relayd.RelaydHdr(circuit_id=0, data_size=0, cmd=99, cmd_version=0)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="cmd"):
        relayd.HDR.build(bad)


def test_build_rejects_flex_length_mismatch() -> None:
    bad = relayd.RelaydCreateTraceChunk(
        chunk_id=1, creation_timestamp=2, override_name_length=4, override_name=b"a\0"
    )
    with pytest.raises(LocalProtocolError, match="override_name"):
        relayd.CREATE_TRACE_CHUNK.build(bad)


def test_build_rejects_too_long_string() -> None:
    bad = relayd.RelaydCreateSession24(
        session_name="s" * 255, hostname="h", live_timer=0, snapshot=0
    )
    with pytest.raises(LocalProtocolError, match="session_name"):
        relayd.CREATE_SESSION_2_4.build(bad)


# --- registration ------------------------------------------------------------

V2139_ONLY = {
    "lttcomm_relayd_rotate_streams_packed",
    "lttcomm_relayd_rotate_streams_3_bytes_padding",
    "lttcomm_relayd_rotate_streams_7_bytes_padding",
}


def test_registered_per_abi() -> None:
    for abi in (Abi.V2_13_9, Abi.R97535EFAA):
        names = {
            n for n, s in REGISTRY.structs[abi].items() if s.dc_type.__module__ == relayd.__name__
        }
        expected = {s.c_name for s in ALL_SPECS if "(" not in s.c_name}
        if abi is Abi.R97535EFAA:
            expected -= V2139_ONLY
        assert names == expected
        assert REGISTRY.enums[abi]["lttcomm_relayd_command"] is relayd.LttcommRelaydCommand
    # 32 structs in relayd.h @ v2.13.9 (29 @ 97535efaa) + the index-1.0 prefix.
    assert len(ALL_SPECS) == 33


def test_command_values() -> None:
    # sessiond-comm.h: RELAYD_ADD_STREAM = 1 … RELAYD_GET_CONFIGURATION = 22, contiguous.
    assert [int(c) for c in relayd.LttcommRelaydCommand] == list(range(1, 23))
