"""Live viewer grammars: bytes and values read in lttng-viewer-abi.h and live.c.

Every struct of src/bin/lttng-relayd/lttng-viewer-abi.h is packed, so each
layout is its members back to back; ``struct.pack(">…")`` (big-endian, no
alignment) writes them at the offsets derived in the comments.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from tests.protocol.roundtrip import assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.ids import U64_MAX
from ustref.protocol.abi import Abi
from ustref.protocol.peers import viewer
from ustref.protocol.registry import REGISTRY, StructSpec

ALL_SPECS: list[StructSpec[Any]] = [
    x
    for x in vars(viewer).values()
    if isinstance(x, StructSpec) and x.dc_type.__module__ == viewer.__name__
]


def _z(text: str, size: int) -> bytes:
    return text.encode().ljust(size, b"\0")


def _session_bytes(sid: int, name: str) -> bytes:
    # id u64 @0, live_timer @8, clients @12, streams @16 (u32), hostname char[64] @20,
    # session_name char[255] @84 → 339
    return struct.pack(">QIII", sid, 1000000, 1, 4) + _z("host", 64) + _z(name, 255)


def _stream_bytes(sid: int, metadata: int) -> bytes:
    # id u64 @0, ctf_trace_id u64 @8, metadata_flag u32 @16, path_name char[4096] @20,
    # channel_name char[255] @4116 → 4371
    return struct.pack(">QQI", sid, 1, metadata) + _z("ust/uid/0/64-bit", 4096) + _z("chan", 255)


# --- list elements -----------------------------------------------------------


def test_session() -> None:
    obj = viewer.ViewerSession(
        id=7, live_timer=1000000, clients=1, streams=4, hostname="host", session_name="s1"
    )
    assert_roundtrip(viewer.SESSION, obj, _session_bytes(7, "s1"), c_sizeof=339)


def test_stream() -> None:
    obj = viewer.ViewerStream(
        id=3, ctf_trace_id=1, metadata_flag=1, path_name="ust/uid/0/64-bit", channel_name="chan"
    )
    assert_roundtrip(viewer.STREAM, obj, _stream_bytes(3, 1), c_sizeof=4371)


# --- header and connection ---------------------------------------------------


def test_cmd() -> None:
    # data_size u64 @0, cmd u32 @8, cmd_version u32 @12 → 16
    obj = viewer.ViewerCmd(
        data_size=20, cmd=viewer.LttngViewerCommand.LTTNG_VIEWER_ATTACH_SESSION, cmd_version=0
    )
    assert_roundtrip(viewer.CMD, obj, struct.pack(">QII", 20, 3, 0), c_sizeof=16)


def test_connect_request_and_reply() -> None:
    # viewer_session_id u64 @0, major @8, minor @12, type @16 (u32) → 20
    request = viewer.ViewerConnect(
        viewer_session_id=0,
        major=2,
        minor=13,
        type=viewer.LttngViewerConnectionType.LTTNG_VIEWER_CLIENT_COMMAND,
    )
    assert_roundtrip(viewer.CONNECT, request, struct.pack(">QIII", 0, 2, 13, 1), c_sizeof=20)
    # viewer_connect's reply: zeroed, type never set.
    reply = viewer.ViewerConnect(viewer_session_id=1, major=2, minor=13, type=0)
    assert_roundtrip(viewer.CONNECT, reply, struct.pack(">QIII", 1, 2, 13, 0), c_sizeof=20)


def test_list_sessions() -> None:
    # sessions_count u32 @0 → 4; session_list[] @4 = sessions_count × 339
    sessions = _session_bytes(1, "a") + _session_bytes(2, "b")
    obj = viewer.ViewerListSessions(sessions_count=2, session_list=sessions)
    assert_roundtrip(viewer.LIST_SESSIONS, obj, struct.pack(">I", 2) + sessions, c_sizeof=4)
    assert [s.session_name for s in viewer.viewer_sessions(obj)] == ["a", "b"]


# --- attach, new streams -----------------------------------------------------


def test_attach_session_request() -> None:
    # session_id u64 @0, offset u64 @8, seek u32 @16 → 20
    obj = viewer.ViewerAttachSessionRequest(
        session_id=5, offset=0, seek=viewer.LttngViewerSeek.LTTNG_VIEWER_SEEK_LAST
    )
    assert_roundtrip(viewer.ATTACH_SESSION_REQUEST, obj, struct.pack(">QQI", 5, 0, 2), c_sizeof=20)


def test_attach_session_response() -> None:
    # status u32 @0, streams_count u32 @4 → 8; stream_list[] @8 = streams_count × 4371
    streams = _stream_bytes(1, 1) + _stream_bytes(2, 0)
    obj = viewer.ViewerAttachSessionResponse(
        status=viewer.LttngViewerAttachReturnCode.LTTNG_VIEWER_ATTACH_OK,
        streams_count=2,
        stream_list=streams,
    )
    assert_roundtrip(
        viewer.ATTACH_SESSION_RESPONSE, obj, struct.pack(">II", 1, 2) + streams, c_sizeof=8
    )
    assert [s.metadata_flag for s in viewer.viewer_streams(obj)] == [1, 0]


def test_new_streams_request() -> None:
    obj = viewer.ViewerNewStreamsRequest(session_id=9)
    assert_roundtrip(viewer.NEW_STREAMS_REQUEST, obj, struct.pack(">Q", 9), c_sizeof=8)


def test_new_streams_response_hup() -> None:
    # status u32 @0, streams_count u32 @4 → 8; no stream follows
    obj = viewer.ViewerNewStreamsResponse(
        status=viewer.LttngViewerNewStreamsReturnCode.LTTNG_VIEWER_NEW_STREAMS_HUP,
        streams_count=0,
        stream_list=b"",
    )
    assert_roundtrip(viewer.NEW_STREAMS_RESPONSE, obj, struct.pack(">II", 4, 0), c_sizeof=8)
    assert viewer.viewer_streams(obj) == []


# --- index, packet, metadata -------------------------------------------------


def test_get_next_index() -> None:
    obj = viewer.ViewerGetNextIndex(stream_id=U64_MAX)
    assert_roundtrip(viewer.GET_NEXT_INDEX, obj, b"\xff" * 8, c_sizeof=8)


def test_index() -> None:
    # offset @0, packet_size @8, content_size @16, timestamp_begin @24, timestamp_end @32,
    # events_discarded @40, stream_id @48 (u64), status u32 @56, flags u32 @60 → 64
    flags = (
        viewer.LttngViewerFlag.LTTNG_VIEWER_FLAG_NEW_METADATA
        | viewer.LttngViewerFlag.LTTNG_VIEWER_FLAG_NEW_STREAM
    )
    data = struct.pack(">7QII", 4096, 32768, 30000, 10, 20, 0, 3, 1, 3)
    obj = viewer.ViewerIndex(
        offset=4096,
        packet_size=32768,
        content_size=30000,
        timestamp_begin=10,
        timestamp_end=20,
        events_discarded=0,
        stream_id=3,
        status=viewer.LttngViewerNextIndexReturnCode.LTTNG_VIEWER_INDEX_OK,
        flags=flags,
    )
    assert_roundtrip(viewer.INDEX, obj, data, c_sizeof=64)


def test_get_packet() -> None:
    # stream_id u64 @0, offset u64 @8, len u32 @16 → 20
    obj = viewer.ViewerGetPacket(stream_id=3, offset=4096, len=32768)
    assert_roundtrip(viewer.GET_PACKET, obj, struct.pack(">QQI", 3, 4096, 32768), c_sizeof=20)


def test_trace_packet() -> None:
    # status u32 @0, len u32 @4, flags u32 @8 → 12; data[] @12 = len bytes
    obj = viewer.ViewerTracePacket(
        status=viewer.LttngViewerGetPacketReturnCode.LTTNG_VIEWER_GET_PACKET_OK,
        len=4,
        flags=0,
        data=b"\xc1\x1f\xfc\xc1",
    )
    data = struct.pack(">III", 1, 4, 0) + b"\xc1\x1f\xfc\xc1"
    assert_roundtrip(viewer.TRACE_PACKET, obj, data, c_sizeof=12)


def test_trace_packet_error_has_no_data() -> None:
    obj = viewer.ViewerTracePacket(
        status=viewer.LttngViewerGetPacketReturnCode.LTTNG_VIEWER_GET_PACKET_ERR,
        len=0,
        flags=0,
        data=b"",
    )
    assert_roundtrip(viewer.TRACE_PACKET, obj, struct.pack(">III", 3, 0, 0), c_sizeof=12)


def test_get_metadata() -> None:
    obj = viewer.ViewerGetMetadata(stream_id=0)
    assert_roundtrip(viewer.GET_METADATA, obj, bytes(8), c_sizeof=8)


def test_metadata_packet() -> None:
    # len u64 @0, status u32 @8 → 12; data[] @12 = len bytes
    text = b"/* CTF 1.8 */"
    obj = viewer.ViewerMetadataPacket(
        len=len(text),
        status=viewer.LttngViewerGetMetadataReturnCode.LTTNG_VIEWER_METADATA_OK,
        data=text,
    )
    assert_roundtrip(
        viewer.METADATA_PACKET, obj, struct.pack(">QI", len(text), 1) + text, c_sizeof=12
    )


# --- create, detach ----------------------------------------------------------


def test_create_session_response() -> None:
    obj = viewer.ViewerCreateSessionResponse(
        status=viewer.LttngViewerCreateSessionReturnCode.LTTNG_VIEWER_CREATE_SESSION_ERR
    )
    assert_roundtrip(viewer.CREATE_SESSION_RESPONSE, obj, struct.pack(">I", 2), c_sizeof=4)


def test_detach_session_request() -> None:
    obj = viewer.ViewerDetachSessionRequest(session_id=0x0102030405060708)
    assert_roundtrip(viewer.DETACH_SESSION_REQUEST, obj, bytes(range(1, 9)), c_sizeof=8)


def test_detach_session_response() -> None:
    obj = viewer.ViewerDetachSessionResponse(
        status=viewer.LttngViewerDetachSessionReturnCode.LTTNG_VIEWER_DETACH_SESSION_UNK
    )
    assert_roundtrip(viewer.DETACH_SESSION_RESPONSE, obj, struct.pack(">I", 2), c_sizeof=4)


# --- strictness --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "data", "field", "offset"),
    [
        (viewer.CMD, struct.pack(">QII", 0, 10, 0), "cmd", 8),
        (viewer.ATTACH_SESSION_REQUEST, struct.pack(">QQI", 1, 0, 0), "seek", 16),
        (viewer.ATTACH_SESSION_RESPONSE, struct.pack(">II", 7, 0), "status", 0),
        (viewer.INDEX, struct.pack(">7QII", 0, 0, 0, 0, 0, 0, 0, 0, 0), "status", 56),
        (viewer.TRACE_PACKET, struct.pack(">III", 5, 0, 0), "status", 0),
        (viewer.METADATA_PACKET, struct.pack(">QI", 0, 4), "status", 8),
        (viewer.NEW_STREAMS_RESPONSE, struct.pack(">II", 0, 0), "status", 0),
        (viewer.CREATE_SESSION_RESPONSE, struct.pack(">I", 3), "status", 0),
        (viewer.DETACH_SESSION_RESPONSE, struct.pack(">I", 4), "status", 0),
    ],
)
def test_unknown_enum_value(spec: StructSpec[Any], data: bytes, field: str, offset: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        spec.parse(data)
    assert info.value.message == spec.c_name
    assert info.value.field == field
    assert info.value.offset == offset


def test_session_name_without_nul() -> None:
    data = _session_bytes(1, "a")[:84] + b"n" * 255
    with pytest.raises(RemoteProtocolError) as info:
        viewer.SESSION.parse(data)
    assert info.value.field == "session_name"
    assert info.value.offset == 84


def test_stream_list_shorter_than_count() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        viewer.ATTACH_SESSION_RESPONSE.parse(struct.pack(">II", 1, 2) + _stream_bytes(1, 0))
    assert info.value.field == "stream_list"
    assert info.value.offset == 8


def test_trace_packet_longer_than_len() -> None:
    with pytest.raises(RemoteProtocolError, match="trailing"):
        viewer.TRACE_PACKET.parse(struct.pack(">III", 1, 1, 0) + b"ab")


@pytest.mark.parametrize("size", [0, 15, 17])
def test_wrong_size(size: int) -> None:
    with pytest.raises(RemoteProtocolError):
        viewer.CMD.parse(bytes(size))


def test_build_rejects_unknown_status() -> None:
    bad = viewer.ViewerCreateSessionResponse(status=0)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="status"):
        viewer.CREATE_SESSION_RESPONSE.build(bad)


def test_viewer_streams_rejects_inconsistent_list() -> None:
    bad = viewer.ViewerNewStreamsResponse(
        status=viewer.LttngViewerNewStreamsReturnCode.LTTNG_VIEWER_NEW_STREAMS_OK,
        streams_count=1,
        stream_list=b"",
    )
    with pytest.raises(RemoteProtocolError) as info:
        viewer.viewer_streams(bad)
    assert info.value.field == "stream_list"
    assert info.value.message == "lttng_viewer_new_streams_response"


# --- registration ------------------------------------------------------------


def test_registered_for_both_abis() -> None:
    expected = {s.c_name for s in ALL_SPECS}
    assert len(expected) == 18  # every struct of lttng-viewer-abi.h
    for abi in (Abi.V2_13_9, Abi.R97535EFAA):
        names = {
            n for n, s in REGISTRY.structs[abi].items() if s.dc_type.__module__ == viewer.__name__
        }
        assert names == expected
        enums = {n for n, e in REGISTRY.enums[abi].items() if e.__module__ == viewer.__name__}
        assert len(enums) == 11
        assert all(s.protocol.name == "VIEWER" for s in ALL_SPECS)


def test_enum_values() -> None:
    # lttng-viewer-abi.h
    assert int(viewer.LttngViewerCommand.LTTNG_VIEWER_DETACH_SESSION) == 9
    assert int(viewer.LttngViewerNextIndexReturnCode.LTTNG_VIEWER_INDEX_EOF) == 6
    assert int(viewer.LttngViewerFlag.LTTNG_VIEWER_FLAG_NEW_STREAM) == 2
