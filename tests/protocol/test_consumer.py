"""Session daemon ↔ consumer daemon grammars: lttcomm_consumer_msg and friends.

Every byte string here is built with ``struct.pack`` from offsets derived by
hand from the C declarations (sessiond-comm.h @ v2.13.9 and 97535efaa, all
``LTTNG_PACKED`` unless noted) and values read in the C senders.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.roundtrip import assert_bytes_roundtrip, assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.fuzz.grammar_strategies import strategy_for
from ustref.ids import U64_MAX
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import (
    CHANNEL_MONITOR_MSG,
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_R97535EFAA,
    CONSUMER_MSG_V2139,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    ERROR_SOCKET_CODE,
    LOST_PACKETS_REPLY,
    METADATA_ERROR_REPLY,
    METADATA_REQUEST_MSG,
    STATUS_CHANNEL,
    STATUS_MSG,
    AskChannelMember,
    ChannelMember,
    CloseTraceChunkMember,
    ConsumerChannelMonitorMsg,
    ConsumerChannelType,
    ConsumerCloseTraceChunkReply,
    ConsumerMsgR97535efaa,
    ConsumerMsgV2139,
    ConsumerStatusMsg,
    CreateTraceChunkMember,
    Credentials,
    DataPendingReply,
    DestroyRelaydMember,
    DiscardedEventsReply,
    ErrorSocketCode,
    InitMember,
    KeyArgs,
    LostPacketsReply,
    LttcommMetadataCommand,
    LttngConsumerCommand,
    LttngEventOutput,
    LttngStreamType,
    LttngTraceChunkCommandType,
    MetadataRequestErrorReply,
    MetadataRequestMsg,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    PushMetadataMember,
    RelaydSockR97535efaa,
    RelaydSockV2139,
    RotateChannelMember,
    SentStreamsMember,
    SessionChannelArgs,
    SessionIdArgs,
    SnapshotChannelMember,
    StreamMember,
    TraceChunkExistsMember,
    close_trace_chunk_path,
    parse_metadata_socket_reply,
)
from ustref.protocol.fields import CStr, CUnion, unwrap
from ustref.protocol.layout import struct_layout
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.registry import REGISTRY, StructSpec
from ustref.protocol.sockets import (
    In6Addr,
    InAddr,
    LttcommRelaydSock,
    LttcommSock,
    LttcommSockaddr,
    LttcommSockDomain,
    LttcommSockProto,
    SockaddrIn,
    SockaddrIn6,
)
from ustref.protocol.ust_abi import LttngUstAbiChanType

# sizeof(struct lttcomm_consumer_msg), both ABIs: cmd_type (uint32_t, 4) + the
# union u, whose size is its largest member u.ask_channel (packed):
#   8 subbuf_size + 8 num_subbuf + 4 overwrite + 4 switch + 4 read + 4 live
#   + 1 is_live + 4 monitor_timer + 4 output + 4 type + 8 session_id       = 53
#   + 4096 pathname (PATH_MAX) + 256 name (LTTNG_SYMBOL_NAME_LEN)           = 4405
#   + 8 buffer_credentials + 8 relayd_id + 8 key + 9 chunk_id (packed
#     LTTNG_OPTIONAL_COMM(uint64_t)) + 16 uuid + 4 chan_id                 = 4458
#   + 8 tracefile_size + 4 tracefile_count + 8 session_id_per_pid
#   + 4 monitor + 4 ust_app_uid + 8 blocking_timeout                       = 4494
#   + 4096 root_shm_path + 4096 shm_path                                    = 12686
UNION_SIZE = 12686
MSG_SIZE = 4 + UNION_SIZE  # 12690
SPECS = {Abi.V2_13_9: CONSUMER_MSG_V2139, Abi.R97535EFAA: CONSUMER_MSG_R97535EFAA}
MSG_TYPES: dict[Abi, Any] = {Abi.V2_13_9: ConsumerMsgV2139, Abi.R97535EFAA: ConsumerMsgR97535efaa}

SESSIOND_UUID = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")


def tail_pattern(n: int) -> bytes:
    """Non-zero bytes for the part of the union beyond the selected member."""
    return bytes((i * 7 + 1) % 256 or 1 for i in range(n))


def whole(cmd: int, member: bytes, tail: bytes | None = None) -> tuple[bytes, bytes]:
    """(message bytes, tail): ``cmd_type`` + member + tail filling the union."""
    if tail is None:
        tail = tail_pattern(UNION_SIZE - len(member))
    assert len(member) + len(tail) == UNION_SIZE
    return struct.pack("<I", cmd) + member + tail, tail


def cstr(text: str, size: int) -> bytes:
    return text.encode().ljust(size, b"\0")


# --- sizes and offsets ---------------------------------------------------------


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_consumer_msg_size_both_abis(abi: Abi) -> None:
    assert CONSUMER_MSG[abi].size == MSG_SIZE == 12690
    assert CONSUMER_MSG[abi] is SPECS[abi]
    assert REGISTRY.structs[abi]["lttcomm_consumer_msg"] is SPECS[abi]


def fields_of(spec: StructSpec[Any]) -> dict[str, tuple[int, int]]:
    return {f["name"]: (f["offset"], f["size"]) for f in struct_layout(spec)["fields"]}


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_layout_of_shared_members(abi: Abi) -> None:
    f = fields_of(CONSUMER_MSG[abi])
    assert f["cmd_type"] == (0, 4)
    assert f["u"] == (4, UNION_SIZE)
    # Offsets from the start of the message (union at 4), derived above.
    assert f["u.ask_channel"] == (4, UNION_SIZE)
    assert f["u.ask_channel.output"] == (41, 4)  # 4 + 37
    assert f["u.ask_channel.type"] == (45, 4)
    assert f["u.ask_channel.pathname"] == (57, 4096)  # 4 + 53
    assert f["u.ask_channel.name"] == (4153, 256)
    assert f["u.ask_channel.buffer_credentials.gid"] == (4413, 4)
    assert f["u.ask_channel.chunk_id.value"] == (4434, 8)  # 4 + 4429 + 1 (is_set)
    assert f["u.ask_channel.shm_path"] == (8594, 4096)  # 12690 - 4096
    # channel (kernel): 8 + 8 + 9 + 4096 + 8 + 4 + 256 + 4 + 4 + 8 + 4 + 4 + 4 + 1 + 4
    assert f["u.channel"] == (4, 4422)
    assert f["u.channel.monitor_timer_interval"] == (4422, 4)
    assert f["u.snapshot_channel"] == (4, 4128)  # 4096 + 4 + 4 + 8 + 8 + 8
    assert f["u.create_trace_chunk"] == (4, 297)  # 9 + 255 + 8 + 8 + 8 + 9
    assert f["u.create_trace_chunk.credentials.value.gid"] == (297, 4)
    assert f["u.close_trace_chunk"] == (4, 38)  # 9 + 8 + 8 + 8 + 5
    assert f["u.close_trace_chunk.close_command.value"] == (38, 4)
    assert f["u.trace_chunk_exists"] == (4, 25)
    assert f["u.rotate_channel"] == (4, 20)
    assert f["u.init.sessiond_uuid"] == (4, 16)
    # Members that no command selects are still listed.
    assert f["u.regenerate_metadata.session_id"] == (4, 8)
    assert f["u.check_rotation_pending_relay"] == (4, 24)


def test_relayd_sock_differs_between_abis() -> None:
    old = fields_of(CONSUMER_MSG_V2139)
    new = fields_of(CONSUMER_MSG_R97535EFAA)
    # v2.13.9: net_index 8 + type 4 + major 4 + minor 4 + protocol 1 + 8 + 8 = 37
    assert old["u.relayd_sock"] == (4, 37)
    assert old["u.relayd_sock.relayd_socket_protocol"] == (24, 1)
    assert old["u.relayd_sock.session_id"] == (25, 8)
    # 97535efaa: 8 + 4 + lttcomm_relayd_sock (lttcomm_sock 48 = fd 4 + proto 4
    # + lttcomm_sockaddr 32 (type 4 + union of sockaddr_in 16 / sockaddr_in6 28)
    # + ops pointer 8; then major 4 + minor 4 = 56) + 8 + 8 = 84
    assert new["u.relayd_sock"] == (4, 84)
    assert new["u.relayd_sock.sock.sock.sockaddr.addr"] == (28, 28)
    assert new["u.relayd_sock.sock.sock.sockaddr.addr.sin6.sin6_addr.__in6_u"] == (36, 16)
    assert new["u.relayd_sock.sock.sock.ops"] == (56, 8)
    assert new["u.relayd_sock.session_id"] == (72, 8)
    assert "u.relayd_sock.major" not in new
    assert "u.relayd_sock.sock" not in old
    assert {k: v for k, v in old.items() if "relayd_sock" not in k} == {
        k: v for k, v in new.items() if "relayd_sock" not in k
    }


def test_other_struct_sizes() -> None:
    assert STATUS_MSG.size == 4
    assert STATUS_CHANNEL.size == 16
    assert CHANNEL_MONITOR_MSG.size == 32  # 4 x uint64_t
    assert CLOSE_TRACE_CHUNK_REPLY.size == 8 and CLOSE_TRACE_CHUNK_REPLY.variable
    assert METADATA_REQUEST_MSG.size == 32  # 8 + 8 + 4 + 4 + 8
    assert DATA_PENDING_REPLY.size == 4
    assert DISCARDED_EVENTS_REPLY.size == LOST_PACKETS_REPLY.size == 8
    assert ERROR_SOCKET_CODE.size == 4
    assert METADATA_ERROR_REPLY.size == MSG_SIZE


def test_scalar_replies_are_not_in_the_layout() -> None:
    for abi in ALL_ABIS:
        names = set(REGISTRY.structs[abi])
        for spec in (
            DATA_PENDING_REPLY,
            DISCARDED_EVENTS_REPLY,
            LOST_PACKETS_REPLY,
            ERROR_SOCKET_CODE,
            METADATA_ERROR_REPLY,
        ):
            assert spec.c_name not in names


# --- enums ---------------------------------------------------------------------


def test_enum_values_read_in_headers() -> None:
    # consumer.h: implicit numbering from LTTNG_CONSUMER_ADD_CHANNEL = 0.
    assert len(LttngConsumerCommand) == 28
    assert LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION.value == 7
    assert LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA.value == 10
    assert LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS.value == 27
    assert LttcommMetadataCommand.LTTCOMM_METADATA_REQUEST.value == 1
    assert LttngStreamType.LTTNG_STREAM_DATA.value == 1
    assert LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MAX.value == 3
    assert LttngEventOutput.LTTNG_EVENT_MMAP.value == 1
    # Opposite numberings of the two channel-type enums.
    assert ConsumerChannelType.CONSUMER_CHANNEL_TYPE_METADATA.value == 0
    assert LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_METADATA.value == 1
    # lttng-error.h: 159 codes + 2 aliases, LTTNG_OK = 10 ... LTTNG_ERR_NR = 171.
    assert len(LttngErrorCode) == 159 and len(LttngErrorCode.__members__) == 161
    assert LttngErrorCode.LTTNG_ERR_UND.value == 12
    assert LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND.value == 59
    assert LttngErrorCode.LTTNG_ERR_BUFFER_FLUSH_FAILED.value == 170
    assert LttngErrorCode["LTTNG_ERR_PID_TRACKED"] is LttngErrorCode.LTTNG_ERR_PROCESS_ATTR_EXISTS
    assert 94 not in LttngErrorCode._value2member_map_


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_enums_registered(abi: Abi) -> None:
    enums = REGISTRY.enums[abi]
    for name in (
        "lttng_consumer_command",
        "lttcomm_return_code",
        "lttcomm_metadata_command",
        "lttng_stream_type",
        "lttng_trace_chunk_command_type",
        "lttng_event_output",
        "consumer_channel_type",
        "lttng_error_code",
    ):
        assert name in enums


# --- round trips of every command ---------------------------------------------

ASK_CHANNEL_FMT = "<QQiIIIBIiiQ4096s256sIIQQBQ16sIQIQIIq4096s4096s"
ASK_CHANNEL_UUID = bytes(range(0x40, 0x50))


def ask_channel_case(
    chan_type: LttngUstAbiChanType, chan_id: int, shm: str
) -> tuple[AskChannelMember, bytes]:
    # Values of a per-UID UST channel as ask_channel_creation (sessiond
    # ust-consumer.c) fills them: output always LTTNG_EVENT_MMAP.
    values: dict[str, Any] = {
        "subbuf_size": 524288,
        "num_subbuf": 4,
        "overwrite": 0,
        "switch_timer_interval": 0,
        "read_timer_interval": 200,
        "live_timer_interval": 0,
        "is_live": 0,
        "monitor_timer_interval": 1000000,
        "session_id": 3,
        "pathname": "ust/uid/1000/64-bit",
        "name": "metadata" if chan_id == 0xFFFFFFFF else "channel0",
        "relayd_id": U64_MAX,
        "key": 7,
        "chan_id": chan_id,
        "tracefile_size": 0,
        "tracefile_count": 0,
        "session_id_per_pid": 5,
        "monitor": 1,
        "ust_app_uid": 1000,
        "blocking_timeout": -1,
        "root_shm_path": shm,
        "shm_path": f"{shm}/channel0_" if shm else "",
    }
    member = AskChannelMember(
        output=LttngEventOutput.LTTNG_EVENT_MMAP,
        type=chan_type,
        buffer_credentials=Credentials(uid=1000, gid=1000),
        chunk_id=OptionalU64(is_set=1, value=0),
        uuid=ASK_CHANNEL_UUID,
        **values,
    )
    v = values
    raw = struct.pack(
        ASK_CHANNEL_FMT,
        v["subbuf_size"],
        v["num_subbuf"],
        v["overwrite"],
        v["switch_timer_interval"],
        v["read_timer_interval"],
        v["live_timer_interval"],
        v["is_live"],
        v["monitor_timer_interval"],
        1,  # output: LTTNG_EVENT_MMAP
        int(chan_type),
        v["session_id"],
        cstr(str(v["pathname"]), 4096),
        cstr(str(v["name"]), 256),
        1000,
        1000,
        v["relayd_id"],
        v["key"],
        1,
        0,
        ASK_CHANNEL_UUID,
        chan_id,
        v["tracefile_size"],
        v["tracefile_count"],
        v["session_id_per_pid"],
        v["monitor"],
        v["ust_app_uid"],
        v["blocking_timeout"],
        cstr(str(v["root_shm_path"]), 4096),
        cstr(str(v["shm_path"]), 4096),
    )
    assert len(raw) == UNION_SIZE
    return member, raw


def shared_cases() -> list[tuple[str, LttngConsumerCommand, Any, bytes]]:
    """(id, cmd_type, union member object, member bytes) for both ABIs."""
    ask_data = ask_channel_case(LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU, 0, "")
    ask_meta = ask_channel_case(
        LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_METADATA, 0xFFFFFFFF, "/dev/shm/lttng"
    )
    chan = ChannelMember(
        channel_key=2,
        session_id=1,
        chunk_id=OptionalU64(is_set=1, value=4),
        pathname="kernel",
        relayd_id=U64_MAX,
        nb_init_streams=4,
        name="channel0",
        output=LttngEventOutput.LTTNG_EVENT_SPLICE,
        type=ConsumerChannelType.CONSUMER_CHANNEL_TYPE_DATA,
        tracefile_size=0,
        tracefile_count=0,
        monitor=1,
        live_timer_interval=0,
        is_live=0,
        monitor_timer_interval=1000000,
    )
    chan_raw = struct.pack(
        "<QQBQ4096sQI256sIiQIIIBI",
        2,
        1,
        1,
        4,
        cstr("kernel", 4096),
        U64_MAX,
        4,
        cstr("channel0", 256),
        0,  # LTTNG_EVENT_SPLICE
        1,  # CONSUMER_CHANNEL_TYPE_DATA
        0,
        0,
        1,
        0,
        0,
        1000000,
    )
    create_local = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name="",
        session_id=1,
        chunk_id=0,
        creation_timestamp=1700000000,
        credentials=OptionalCredentials(is_set=1, value=Credentials(uid=0, gid=0)),
    )
    create_local_raw = struct.pack("<BQ255sQQQBII", 0, 0, bytes(255), 1, 0, 1700000000, 1, 0, 0)
    create_remote = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=1, value=9),
        override_name="archive-1",
        session_id=1,
        chunk_id=3,
        creation_timestamp=1700000100,
        credentials=OptionalCredentials(is_set=0, value=Credentials(uid=0, gid=0)),
    )
    create_remote_raw = struct.pack(
        "<BQ255sQQQBII", 1, 9, cstr("archive-1", 255), 1, 3, 1700000100, 0, 0, 0
    )
    close = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        session_id=1,
        chunk_id=3,
        close_timestamp=1700000200,
        close_command=OptionalTraceChunkCommand(
            is_set=1, value=LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
        ),
    )
    close_raw = struct.pack("<BQQQQBI", 0, 0, 1, 3, 1700000200, 1, 2)
    snapshot = SnapshotChannelMember(
        pathname="/home/u/lttng-traces/s/snapshot-1/ust/uid/1000/64-bit",
        use_relayd=0,
        metadata=1,
        relayd_id=U64_MAX,
        key=8,
        nb_packets_per_stream=0,
    )
    snapshot_raw = struct.pack("<4096sIIQQQ", cstr(snapshot.pathname, 4096), 0, 1, U64_MAX, 8, 0)
    return [
        ("add_channel", LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL, chan, chan_raw),
        (
            "add_stream",
            LttngConsumerCommand.LTTNG_CONSUMER_ADD_STREAM,
            StreamMember(stream_key=11, channel_key=2, cpu=3, no_monitor=0),
            struct.pack("<QQiI", 11, 2, 3, 0),
        ),
        (
            "destroy_relayd",
            LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD,
            DestroyRelaydMember(net_seq_idx=1),
            struct.pack("<Q", 1),
        ),
        (
            "data_pending",
            LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING,
            SessionIdArgs(session_id=42),
            struct.pack("<Q", 42),
        ),
        ("ask_channel_data", LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, *ask_data),
        (
            "ask_channel_metadata",
            LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION,
            *ask_meta,
        ),
        (
            "get_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL,
            KeyArgs(key=7),
            struct.pack("<Q", 7),
        ),
        (
            "destroy_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL,
            KeyArgs(key=7),
            struct.pack("<Q", 7),
        ),
        (
            "push_metadata",
            LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA,
            PushMetadataMember(key=8, target_offset=4096, len=1234, version=2),
            struct.pack("<QQQQ", 8, 4096, 1234, 2),
        ),
        (
            "close_metadata",
            LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA,
            KeyArgs(key=8),
            struct.pack("<Q", 8),
        ),
        (
            "setup_metadata",
            LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA,
            KeyArgs(key=8),
            struct.pack("<Q", 8),
        ),
        (
            "flush_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL,
            KeyArgs(key=7),
            struct.pack("<Q", 7),
        ),
        (
            "snapshot_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL,
            snapshot,
            snapshot_raw,
        ),
        (
            "streams_sent",
            LttngConsumerCommand.LTTNG_CONSUMER_STREAMS_SENT,
            SentStreamsMember(channel_key=2, net_seq_idx=U64_MAX),
            struct.pack("<QQ", 2, U64_MAX),
        ),
        (
            "discarded_events",
            LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS,
            SessionChannelArgs(session_id=1, channel_key=7),
            struct.pack("<QQ", 1, 7),
        ),
        (
            "lost_packets",
            LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS,
            SessionChannelArgs(session_id=1, channel_key=7),
            struct.pack("<QQ", 1, 7),
        ),
        (
            "clear_quiescent_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL,
            KeyArgs(key=7),
            struct.pack("<Q", 7),
        ),
        (
            "rotate_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL,
            RotateChannelMember(metadata=1, relayd_id=U64_MAX, key=8),
            struct.pack("<IQQ", 1, U64_MAX, 8),
        ),
        (
            "init",
            LttngConsumerCommand.LTTNG_CONSUMER_INIT,
            InitMember(sessiond_uuid=SESSIOND_UUID),
            SESSIOND_UUID,
        ),
        (
            "create_trace_chunk_local",
            LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK,
            create_local,
            create_local_raw,
        ),
        (
            "create_trace_chunk_remote",
            LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK,
            create_remote,
            create_remote_raw,
        ),
        (
            "close_trace_chunk",
            LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK,
            close,
            close_raw,
        ),
        (
            "trace_chunk_exists",
            LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS,
            TraceChunkExistsMember(
                relayd_id=OptionalU64(is_set=1, value=9), session_id=1, chunk_id=3
            ),
            struct.pack("<BQQQ", 1, 9, 1, 3),
        ),
        (
            "clear_channel",
            LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL,
            KeyArgs(key=7),
            struct.pack("<Q", 7),
        ),
        (
            "open_channel_packets",
            LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS,
            KeyArgs(key=7),
            struct.pack("<Q", 7),
        ),
    ]


SHARED = shared_cases()


@pytest.mark.parametrize("abi", ALL_ABIS)
@pytest.mark.parametrize(
    ("cmd", "member", "member_raw"), [c[1:] for c in SHARED], ids=[c[0] for c in SHARED]
)
def test_command_roundtrip(
    abi: Abi, cmd: LttngConsumerCommand, member: Any, member_raw: bytes
) -> None:
    data, tail = whole(cmd, member_raw)
    obj = MSG_TYPES[abi](cmd_type=cmd, u=member, u_tail=tail)
    assert_roundtrip(CONSUMER_MSG[abi], obj, data, c_sizeof=MSG_SIZE)
    parsed = CONSUMER_MSG[abi].parse(data)
    assert type(parsed.u) is type(member)
    assert parsed.u_tail == tail
    if tail:
        assert any(tail), "the tail under test is non-zero"


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_zeroed_tail_is_the_default(abi: Abi) -> None:
    # consumer_flush_channel memsets the message: the tail is zero, which
    # parses to (and builds from) the default b"".
    data, _ = whole(
        LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL,
        struct.pack("<Q", 7),
        bytes(UNION_SIZE - 8),
    )
    obj = MSG_TYPES[abi](
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL, u=KeyArgs(key=7)
    )
    assert obj.u_tail == b""
    assert_roundtrip(CONSUMER_MSG[abi], obj, data, c_sizeof=MSG_SIZE)
    explicit = MSG_TYPES[abi](
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL,
        u=KeyArgs(key=7),
        u_tail=bytes(UNION_SIZE - 8),
    )
    assert CONSUMER_MSG[abi].build(explicit) == data


@pytest.mark.parametrize("abi", ALL_ABIS)
@pytest.mark.parametrize(
    "cmd",
    [
        LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,  # memset, no member
        LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM,
        LttngConsumerCommand.LTTNG_CONSUMER_STOP,
        LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_METADATA,
    ],
)
def test_commands_without_member_keep_raw_union(abi: Abi, cmd: LttngConsumerCommand) -> None:
    union = tail_pattern(UNION_SIZE)
    data = struct.pack("<I", cmd) + union
    obj = MSG_TYPES[abi](cmd_type=cmd, u=union, u_tail=b"")
    assert_roundtrip(CONSUMER_MSG[abi], obj, data, c_sizeof=MSG_SIZE)


def test_string_bytes_after_nul_roundtrip() -> None:
    # strncpy + forced NUL leaves zeroes, but a peer may leave garbage after the
    # NUL: it is kept on the CStr and rebuilt byte for byte.
    _, raw = ask_channel_case(LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU, 0, "")
    name_at = 53 + 4096  # offset of name in the member
    raw = raw[:name_at] + b"channel0\0junk" + raw[name_at + 13 :]
    data = struct.pack("<I", 7) + raw
    parsed = CONSUMER_MSG_V2139.parse(data)
    assert isinstance(parsed.u, AskChannelMember)
    assert parsed.u.name == "channel0"
    assert isinstance(parsed.u.name, CStr) and parsed.u.name.tail == b"junk"
    assert CONSUMER_MSG_V2139.build(parsed) == data


# --- ADD_RELAYD_SOCKET, per ABI -------------------------------------------------


def test_add_relayd_socket_v2139() -> None:
    # consumer_send_relayd_socket: net_index, type CONTROL, major/minor 2.13,
    # relayd_socket_protocol = rsock->sock.proto (TCP), session ids.
    member = RelaydSockV2139(
        net_index=1,
        type=LttngStreamType.LTTNG_STREAM_CONTROL,
        major=2,
        minor=13,
        relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
        session_id=1,
        relayd_session_id=5,
    )
    raw = struct.pack("<QIIIBQQ", 1, 0, 2, 13, 1, 1, 5)
    data, tail = whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, raw)
    obj = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, u=member, u_tail=tail
    )
    assert_roundtrip(CONSUMER_MSG_V2139, obj, data, c_sizeof=MSG_SIZE)
    assert len(tail) == UNION_SIZE - 37


def relayd_sock_r97535efaa(addr: bytes, domain: int) -> bytes:
    # lttcomm_sock: fd (int32), proto (TCP = 1), sockaddr {type, addr[28]},
    # ops (the session daemon's pointer); then major, minor.
    sock = struct.pack("<iII", 23, 1, domain) + addr + struct.pack("<Q", 0x55D0C0FFEE10)
    relayd = sock + struct.pack("<II", 2, 13)
    assert len(relayd) == 56
    return struct.pack("<QI", 1, 1) + relayd + struct.pack("<QQ", 1, 0)


def test_add_relayd_socket_r97535efaa_inet() -> None:
    # sockaddr_in: family AF_INET (2) host order, port 5343 and 127.0.0.1 network
    # order, sin_zero; then the 12 bytes of the union beyond sockaddr_in.
    addr_tail = bytes(range(1, 13))
    addr = struct.pack("<H", 2) + struct.pack(">HI", 5343, 0x7F000001) + bytes(8) + addr_tail
    raw = relayd_sock_r97535efaa(addr, 0)
    member = RelaydSockR97535efaa(
        net_index=1,
        type=LttngStreamType.LTTNG_STREAM_DATA,
        sock=LttcommRelaydSock(
            sock=LttcommSock(
                fd=23,
                proto=LttcommSockProto.LTTCOMM_SOCK_TCP,
                sockaddr=LttcommSockaddr(
                    type=LttcommSockDomain.LTTCOMM_INET,
                    addr=SockaddrIn(
                        sin_family=2,
                        sin_port=5343,
                        sin_addr=InAddr(s_addr=0x7F000001),
                        sin_zero=bytes(8),
                    ),
                    addr_tail=addr_tail,
                ),
                ops=0x55D0C0FFEE10,
            ),
            major=2,
            minor=13,
        ),
        session_id=1,
        relayd_session_id=0,
    )
    data, tail = whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, raw)
    obj = ConsumerMsgR97535efaa(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, u=member, u_tail=tail
    )
    assert_roundtrip(CONSUMER_MSG_R97535EFAA, obj, data, c_sizeof=MSG_SIZE)
    assert len(tail) == UNION_SIZE - 84
    # The same bytes are not a valid v2.13.9 message: relayd_socket_protocol
    # (offset 24) would be the low byte of sockaddr.type... which is 0 (UDP), so
    # it parses, but as entirely different values.
    old = CONSUMER_MSG_V2139.parse(data)
    assert isinstance(old.u, RelaydSockV2139) and old.u.major == 23


def test_add_relayd_socket_r97535efaa_inet6() -> None:
    # sockaddr_in6: family AF_INET6 (10), port, flowinfo, ::1, scope id.
    addr = (
        struct.pack("<H", 10)
        + struct.pack(">HI", 5342, 0)
        + bytes(15)
        + b"\x01"
        + struct.pack("<I", 0)
    )
    raw = relayd_sock_r97535efaa(addr, 1)
    data, _ = whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, raw)
    parsed = CONSUMER_MSG_R97535EFAA.parse(data)
    assert isinstance(parsed.u, RelaydSockR97535efaa)
    sockaddr = parsed.u.sock.sock.sockaddr
    assert sockaddr.type == LttcommSockDomain.LTTCOMM_INET6
    assert sockaddr.addr == SockaddrIn6(
        sin6_family=10,
        sin6_port=5342,
        sin6_flowinfo=0,
        sin6_addr=In6Addr(**{"__in6_u": bytes(15) + b"\x01"}),
        sin6_scope_id=0,
    )
    assert sockaddr.addr_tail == b""
    assert CONSUMER_MSG_R97535EFAA.build(parsed) == data


# --- strictness ----------------------------------------------------------------


@pytest.mark.parametrize("abi", ALL_ABIS)
@pytest.mark.parametrize("value", [28, 0xFFFFFFFF])
def test_unknown_cmd_type(abi: Abi, value: int) -> None:
    data = struct.pack("<I", value) + bytes(UNION_SIZE)
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG[abi].parse(data)
    assert info.value.message == "lttcomm_consumer_msg"
    assert info.value.field == "cmd_type"
    assert info.value.offset == 0


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_pathname_without_nul(abi: Abi) -> None:
    _, raw = ask_channel_case(LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU, 0, "")
    raw = raw[:53] + b"p" * 4096 + raw[53 + 4096 :]
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG[abi].parse(struct.pack("<I", 7) + raw)
    assert info.value.field == "u.ask_channel.pathname"
    assert info.value.offset == 57
    assert "NUL" in str(info.value)


@pytest.mark.parametrize(
    ("what", "offset_in_member", "pack", "field", "msg_offset"),
    [
        ("type", 45 - 4, "<i", "u.ask_channel.type", 45),
        ("output", 41 - 4, "<i", "u.ask_channel.output", 41),
        ("shm_path", 8594 - 4, None, "u.ask_channel.shm_path", 8594),
    ],
)
def test_ask_channel_field_errors(
    what: str, offset_in_member: int, pack: str | None, field: str, msg_offset: int
) -> None:
    _, raw = ask_channel_case(LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU, 0, "")
    bad = struct.pack(pack, 2) if pack else b"s" * 4096
    raw = raw[:offset_in_member] + bad + raw[offset_in_member + len(bad) :]
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG_V2139.parse(struct.pack("<I", 7) + raw)
    assert info.value.field == field, what
    assert info.value.offset == msg_offset


def test_close_command_outside_enum() -> None:
    raw = struct.pack("<BQQQQBI", 0, 0, 1, 3, 0, 1, 4)
    data, _ = whole(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, raw)
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG_V2139.parse(data)
    assert info.value.field == "u.close_trace_chunk.close_command.value"
    assert info.value.offset == 38


def test_relayd_sock_enums_are_checked() -> None:
    v2139 = struct.pack("<QIIIBQQ", 1, 0, 2, 13, 7, 1, 5)  # protocol 7
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG_V2139.parse(
            whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, v2139)[0]
        )
    assert (info.value.field, info.value.offset) == ("u.relayd_sock.relayd_socket_protocol", 24)
    stream_type = struct.pack("<QIIIBQQ", 1, 2, 2, 13, 1, 1, 5)
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG_V2139.parse(
            whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, stream_type)[0]
        )
    assert (info.value.field, info.value.offset) == ("u.relayd_sock.type", 12)
    new = relayd_sock_r97535efaa(bytes(28), 2)  # sockaddr.type 2
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG_R97535EFAA.parse(
            whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, new)[0]
        )
    assert info.value.field == "u.relayd_sock.sock.sock.sockaddr.type"
    assert info.value.offset == 24


def test_kernel_channel_type_is_consumer_channel_type() -> None:
    chan = next(c for c in SHARED if c[0] == "add_channel")
    raw = bytearray(chan[3])
    struct.pack_into("<i", raw, 4393, 2)  # type at 4397 in the message
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG_V2139.parse(
            whole(LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL, bytes(raw))[0]
        )
    assert (info.value.field, info.value.offset) == ("u.channel.type", 4397)


@pytest.mark.parametrize("abi", ALL_ABIS)
@pytest.mark.parametrize("size", [0, 4, MSG_SIZE - 1, MSG_SIZE + 1])
def test_wrong_size(abi: Abi, size: int) -> None:
    data = struct.pack("<I", 13) + bytes(max(size - 4, 0))
    with pytest.raises(RemoteProtocolError) as info:
        CONSUMER_MSG[abi].parse(data[:size])
    assert info.value.offset == min(size, MSG_SIZE)


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_build_rejects_wrong_member_for_command(abi: Abi) -> None:
    obj = MSG_TYPES[abi](
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA, u=KeyArgs(key=1)
    )
    with pytest.raises(LocalProtocolError, match="push_metadata"):
        CONSUMER_MSG[abi].build(obj)
    raw = MSG_TYPES[abi](
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE, u=bytes(8)
    )
    with pytest.raises(LocalProtocolError, match="raw bytes"):
        CONSUMER_MSG[abi].build(raw)
    short_tail = MSG_TYPES[abi](
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, u=KeyArgs(key=1), u_tail=b"x"
    )
    with pytest.raises(LocalProtocolError, match="u_tail"):
        CONSUMER_MSG[abi].build(short_tail)


def test_build_rejects_relayd_sock_of_the_other_abi() -> None:
    member = RelaydSockV2139(
        net_index=1,
        type=LttngStreamType.LTTNG_STREAM_CONTROL,
        major=2,
        minor=13,
        relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
        session_id=1,
        relayd_session_id=5,
    )
    obj = ConsumerMsgR97535efaa(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, u=member
    )
    with pytest.raises(LocalProtocolError, match="RelaydSockR97535efaa"):
        CONSUMER_MSG_R97535EFAA.build(obj)


# --- status replies ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        (119, LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND),
        # flush_channel / close_metadata … (ust-consumer.c) put lttng_error_code here.
        (59, LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND),
        (170, LttngErrorCode.LTTNG_ERR_BUFFER_FLUSH_FAILED),
    ],
)
def test_status_msg_codes(value: int, expected: LttcommReturnCode | LttngErrorCode) -> None:
    data = struct.pack("<I", value)
    parsed = STATUS_MSG.parse(data)
    assert parsed.ret_code == expected
    assert type(parsed.ret_code) is type(expected)
    assert_roundtrip(STATUS_MSG, ConsumerStatusMsg(ret_code=expected), data, c_sizeof=4)


def test_status_msg_overlapping_value_reads_as_lttcomm() -> None:
    # 114 is LTTCOMM_CONSUMERD_ENOMEM and LTTNG_ERR_PROCESS_ATTR_EXISTS.
    parsed = STATUS_MSG.parse(struct.pack("<I", 114))
    assert parsed.ret_code is LttcommReturnCode.LTTCOMM_CONSUMERD_ENOMEM
    built = STATUS_MSG.build(
        ConsumerStatusMsg(ret_code=LttngErrorCode.LTTNG_ERR_PROCESS_ATTR_EXISTS)
    )
    assert built == struct.pack("<I", 114)


@pytest.mark.parametrize("value", [1, 94, 172, 0xFFFFFFFF])
def test_status_msg_rejects_values_of_neither_enum(value: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        STATUS_MSG.parse(struct.pack("<I", value))
    assert (info.value.field, info.value.offset) == ("ret_code", 0)
    with pytest.raises(LocalProtocolError, match="ret_code"):
        STATUS_MSG.build(ConsumerStatusMsg(ret_code=value))  # type: ignore[arg-type]


def test_status_channel_stays_strict() -> None:
    with pytest.raises(RemoteProtocolError):
        STATUS_CHANNEL.parse(struct.pack("<IQI", 59, 0, 0))


# --- other structs -------------------------------------------------------------


def test_channel_monitor_msg() -> None:
    obj = ConsumerChannelMonitorMsg(key=7, lowest=0, highest=65536, total_consumed=1 << 33)
    data = struct.pack("<QQQQ", 7, 0, 65536, 1 << 33)
    assert_roundtrip(CHANNEL_MONITOR_MSG, obj, data, c_sizeof=32)


def test_close_trace_chunk_reply() -> None:
    path = b"/home/u/lttng-traces/s-20240101-000000/archives/20240101T000000+0000-1\0"
    obj = ConsumerCloseTraceChunkReply(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS, path_length=len(path), path=path
    )
    data = struct.pack("<II", 0, len(path)) + path
    assert_roundtrip(CLOSE_TRACE_CHUNK_REPLY, obj, data, c_sizeof=8)
    assert close_trace_chunk_path(obj) == path[:-1].decode()
    # An empty path is sent as one NUL (strlen("") + 1).
    empty = CLOSE_TRACE_CHUNK_REPLY.parse(struct.pack("<II", 124, 1) + b"\0")
    assert empty.ret_code is LttcommReturnCode.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED
    assert close_trace_chunk_path(empty) == ""


def test_close_trace_chunk_reply_errors() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        CLOSE_TRACE_CHUNK_REPLY.parse(struct.pack("<II", 0, 10) + b"/short\0")
    assert info.value.field == "path" and info.value.offset == 8
    no_nul = CLOSE_TRACE_CHUNK_REPLY.parse(struct.pack("<II", 0, 3) + b"abc")
    with pytest.raises(RemoteProtocolError, match="NUL"):
        close_trace_chunk_path(no_nul)
    too_long = ConsumerCloseTraceChunkReply(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        path_length=4096,
        path=b"a" * 4095 + b"\0",
    )
    with pytest.raises(RemoteProtocolError, match="LTTNG_PATH_MAX"):
        close_trace_chunk_path(too_long)
    with pytest.raises(LocalProtocolError, match="path"):
        CLOSE_TRACE_CHUNK_REPLY.build(
            ConsumerCloseTraceChunkReply(
                ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS, path_length=2, path=b"\0"
            )
        )


def test_metadata_request_msg() -> None:
    # lttng_ustconsumer_request_metadata: bits_per_long 64, channel's app uid.
    obj = MetadataRequestMsg(session_id=3, session_id_per_pid=5, bits_per_long=64, uid=1000, key=8)
    data = struct.pack("<QQIIQ", 3, 5, 64, 1000, 8)
    assert_roundtrip(METADATA_REQUEST_MSG, obj, data, c_sizeof=32)


# --- bare scalar replies -------------------------------------------------------


def test_scalar_replies() -> None:
    assert_roundtrip(
        DATA_PENDING_REPLY, DataPendingReply(is_data_pending=1), struct.pack("<i", 1), 4
    )
    assert_roundtrip(
        DISCARDED_EVENTS_REPLY,
        DiscardedEventsReply(discarded_events=12345678901),
        struct.pack("<Q", 12345678901),
        8,
    )
    assert_roundtrip(LOST_PACKETS_REPLY, LostPacketsReply(lost_packets=3), struct.pack("<Q", 3), 8)
    assert_roundtrip(
        ERROR_SOCKET_CODE,
        ErrorSocketCode(code=LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY),
        struct.pack("<I", 100),
        4,
    )
    with pytest.raises(RemoteProtocolError) as info:
        ERROR_SOCKET_CODE.parse(struct.pack("<I", 59))
    assert (info.value.field, info.value.offset) == ("code", 0)
    with pytest.raises(RemoteProtocolError):
        DATA_PENDING_REPLY.parse(bytes(8))


# --- metadata socket -----------------------------------------------------------


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_metadata_socket_push_metadata(abi: Abi) -> None:
    member = struct.pack("<QQQQ", 8, 0, 4096, 1)
    data, _ = whole(
        LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA, member, bytes(UNION_SIZE - 32)
    )
    reply = parse_metadata_socket_reply(abi, data)
    assert isinstance(reply, MSG_TYPES[abi])
    assert reply.u == PushMetadataMember(key=8, target_offset=0, len=4096, version=1)


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_metadata_socket_error_reply(abi: Abi) -> None:
    # ust_consumer_metadata_request: memset(&msg, 0); msg.cmd_type = LTTNG_ERR_UND.
    data = struct.pack("<I", 12) + bytes(UNION_SIZE)
    reply = parse_metadata_socket_reply(abi, data)
    assert reply == MetadataRequestErrorReply()
    assert reply.cmd_type is LttngErrorCode.LTTNG_ERR_UND
    assert_roundtrip(METADATA_ERROR_REPLY, MetadataRequestErrorReply(), data, c_sizeof=MSG_SIZE)
    # The same bytes on the command socket would be a SETUP_METADATA (12).
    assert (
        CONSUMER_MSG[abi].parse(data).cmd_type is LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA
    )


@pytest.mark.parametrize("abi", ALL_ABIS)
@pytest.mark.parametrize("value", [11, 13, 0, 10 + 2**31])
def test_metadata_socket_other_cmd_types(abi: Abi, value: int) -> None:
    data = struct.pack("<I", value) + bytes(UNION_SIZE)
    with pytest.raises(RemoteProtocolError) as info:
        parse_metadata_socket_reply(abi, data)
    assert (info.value.field, info.value.offset) == ("cmd_type", 0)


def test_metadata_socket_wrong_size() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_metadata_socket_reply(Abi.V2_13_9, struct.pack("<I", 12) + bytes(100))
    assert info.value.offset == 104


# --- properties ----------------------------------------------------------------


def tiled(n: int, *, tail: bool = True) -> st.SearchStrategy[bytes]:
    """``n`` bytes repeating a short drawn pattern.

    Hypothesis cannot draw 12 KB of independent bytes within its entropy
    budget (``st.binary(min_size=12678)`` never completes an example), so
    large union tails repeat a drawn pattern of up to 32 bytes. An all-zero
    tail is ``b""`` (what ``UnionTail`` parses it to).
    """

    def tile(pattern: bytes) -> bytes:
        data = (pattern * (n // len(pattern) + 1))[:n]
        return data if any(data) or not tail else b""

    if n == 0:
        return st.just(b"")
    return st.binary(min_size=1, max_size=32).map(tile)


@pytest.mark.parametrize("abi", ALL_ABIS)
@pytest.mark.parametrize("cmd", list(LttngConsumerCommand), ids=lambda c: c.name)
@settings(suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_command_property(abi: Abi, cmd: LttngConsumerCommand, data: st.DataObject) -> None:
    # values_for(spec) draws cmd_type at random but only completes examples
    # whose union tail is small (ASK_CHANNEL_CREATION); here each command in
    # turn, with the member it selects (or raw union bytes) and a tiled tail.
    spec = CONSUMER_MSG[abi]
    union = unwrap(spec.grammar.subcon.subcons[1])
    assert isinstance(union, CUnion)
    member = union.member_for({"cmd_type": cmd})
    if member is None:
        u, tail = data.draw(tiled(UNION_SIZE, tail=False)), b""
    else:
        u = data.draw(strategy_for(union.members[member]))
        tail = data.draw(tiled(UNION_SIZE - union.member_sizes[member]))
    obj = MSG_TYPES[abi](cmd_type=cmd, u=u, u_tail=tail)
    raw = spec.build(obj)
    assert len(raw) == MSG_SIZE
    assert spec.parse(raw) == obj
    assert_bytes_roundtrip(spec, raw)


@settings(suppress_health_check=list(HealthCheck))
@given(code=st.sampled_from(list(LttngErrorCode)), u=tiled(UNION_SIZE, tail=False))
def test_metadata_error_reply_property(code: LttngErrorCode, u: bytes) -> None:
    # values_for cannot draw the 12686 raw bytes of ``u`` (too large): tiled instead.
    obj = MetadataRequestErrorReply(cmd_type=code, u=u)
    raw = METADATA_ERROR_REPLY.build(obj)
    assert raw == struct.pack("<I", code) + u
    assert METADATA_ERROR_REPLY.parse(raw) == obj
