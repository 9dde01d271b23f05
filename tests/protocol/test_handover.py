"""UST ABI structs (ust_abi) and the ust-ctl channel/stream hand-over (handover).

Byte images are built with ``struct.pack`` from the declarations of lttng-ust
v2.13.5 include/lttng/ust-abi.h, src/common/events.h, lttng-tools
sessiond-comm.h (v2.13.9 = 97535efaa here), and the sends of
lttng_ust_ctl_send_channel / lttng_ust_ctl_send_stream (ustctl.c).
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from tests.protocol.roundtrip import assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol import handover, ust_abi
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG_SIZE, ConsumerStatusMsg
from ustref.protocol.conversation import Conversation, Direction, Socket
from ustref.protocol.fields import CStr
from ustref.protocol.layout import struct_layout
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.peers import ust_app
from ustref.protocol.registry import REGISTRY, StructSpec

PAD288 = bytes(range(256)) + bytes(32)  # a recognisable 288-byte padding area

# --- ust_abi: enums -------------------------------------------------------------


def test_command_values_are_the_macro_expansions() -> None:
    # LTTNG_UST_ABI_CMD(minor) / CMDR / CMDW all expand to (minor).
    cmd = ust_abi.LttngUstAbiCommand
    assert int(cmd.LTTNG_UST_ABI_RELEASE) == 0x1
    assert int(cmd.LTTNG_UST_ABI_TRACER_VERSION) == 0x41  # CMDR(0x41, …)
    assert int(cmd.LTTNG_UST_ABI_CHANNEL) == 0x51  # CMDW(0x51, …)
    assert int(cmd.LTTNG_UST_ABI_STREAM) == 0x60
    assert int(cmd.LTTNG_UST_ABI_CONTEXT) == 0x70
    assert int(cmd.LTTNG_UST_ABI_CAPTURE) == 0xB6
    assert int(cmd.LTTNG_UST_ABI_COUNTER_CPU) == 0xD1
    assert len(cmd) == 27


def test_enums_registered_for_both_abis() -> None:
    for abi in Abi:
        enums = REGISTRY.enums[abi]
        assert enums["lttng_ust_abi_chan_type"] is ust_abi.LttngUstAbiChanType
        assert enums["lttng_ust_abi_object_type"] is ust_abi.LttngUstAbiObjectType
        assert enums["lttng_ust_abi_command"] is ust_abi.LttngUstAbiCommand  # a set of #defines
    assert int(ust_abi.LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_UNKNOWN) == -1
    assert int(ust_abi.LttngUstAbiContextType.LTTNG_UST_ABI_CONTEXT_TIME_NS) == 21


# --- ust_abi: structs -----------------------------------------------------------


def test_tracer_version() -> None:
    obj = ust_abi.LttngUstAbiTracerVersion(major=2, minor=13, patchlevel=5)
    assert_roundtrip(ust_abi.TRACER_VERSION, obj, struct.pack("<III", 2, 13, 5), c_sizeof=12)


def test_channel() -> None:
    # packed: len u64 @0, type s32 @8, padding[288] @12, data[] @300 → 300
    obj = ust_abi.LttngUstAbiChannel(
        len=4096, type=ust_abi.LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU, padding=PAD288
    )
    assert_roundtrip(ust_abi.CHANNEL, obj, struct.pack("<Qi", 4096, 0) + PAD288, c_sizeof=300)


def test_channel_data_never_inline() -> None:
    chan = ust_abi.LttngUstAbiChannel(len=1, type=ust_abi.LttngUstAbiChanType(1), padding=PAD288)
    with pytest.raises(RemoteProtocolError, match="trailing"):
        ust_abi.CHANNEL.parse(ust_abi.CHANNEL.build(chan) + b"x")
    with pytest.raises(LocalProtocolError, match="data"):
        ust_abi.CHANNEL.build(
            ust_abi.LttngUstAbiChannel(len=1, type=chan.type, padding=PAD288, data=b"x")
        )


def test_stream() -> None:
    obj = ust_abi.LttngUstAbiStream(len=1 << 20, stream_nr=3, padding=PAD288)
    assert_roundtrip(ust_abi.STREAM, obj, struct.pack("<QI", 1 << 20, 3) + PAD288, c_sizeof=300)


def _event_bytes(name: bytes) -> bytes:
    # instrumentation s32 @0, name[256] @4, loglevel_type @260, loglevel @264,
    # token u64 @268, padding[8] @276, u.padding[288] @284 → 572
    return struct.pack("<i256siiQ", 0, name, 2, 6, 0xABCD) + b"\x01" * 8 + PAD288


def test_event() -> None:
    obj = ust_abi.LttngUstAbiEvent(
        instrumentation=ust_abi.LttngUstAbiInstrumentation.LTTNG_UST_ABI_TRACEPOINT,
        name="ust_tests_hello:tptest",
        loglevel_type=ust_abi.LttngUstAbiLoglevelType.LTTNG_UST_ABI_LOGLEVEL_SINGLE,
        loglevel=6,
        token=0xABCD,
        padding=b"\x01" * 8,
        u=PAD288,
    )
    assert_roundtrip(ust_abi.EVENT, obj, _event_bytes(b"ust_tests_hello:tptest"), c_sizeof=572)


def test_perf_counter_ctx() -> None:
    obj = ust_abi.LttngUstAbiPerfCounterCtx(type=4, config=0x10, name="perf:thread:cycles")
    data = struct.pack("<IQ256s", 4, 0x10, b"perf:thread:cycles")
    assert_roundtrip(ust_abi.PERF_COUNTER_CTX, obj, data, c_sizeof=268)


def test_context_perf_counter_member() -> None:
    # ctx @0, padding[16] @4, u @20 (288): perf_counter is 268, tail 20
    perf = ust_abi.LttngUstAbiPerfCounterCtx(type=0, config=1, name="perf:thread:instructions")
    obj = ust_abi.LttngUstAbiContext(
        ctx=ust_abi.LttngUstAbiContextType.LTTNG_UST_ABI_CONTEXT_PERF_THREAD_COUNTER,
        padding=bytes(16),
        u=perf,
        u_tail=b"\x07" * 20,
    )
    data = (
        struct.pack("<i16sIQ256s", 5, bytes(16), 0, 1, b"perf:thread:instructions") + b"\x07" * 20
    )
    assert_roundtrip(ust_abi.CONTEXT, obj, data, c_sizeof=308)


def test_context_app_ctx_member() -> None:
    obj = ust_abi.LttngUstAbiContext(
        ctx=ust_abi.LttngUstAbiContextType.LTTNG_UST_ABI_CONTEXT_APP_CONTEXT,
        padding=bytes(16),
        u=ust_abi.LttngUstAbiContextAppCtx(provider_name_len=5, ctx_name_len=4),
        u_tail=b"",
    )
    data = struct.pack("<i16sII", 7, bytes(16), 5, 4) + bytes(280)
    assert_roundtrip(ust_abi.CONTEXT, obj, data, c_sizeof=308)


def test_context_other_type_keeps_union_raw() -> None:
    obj = ust_abi.LttngUstAbiContext(
        ctx=ust_abi.LttngUstAbiContextType.LTTNG_UST_ABI_CONTEXT_VPID, padding=bytes(16), u=PAD288
    )
    assert_roundtrip(ust_abi.CONTEXT, obj, struct.pack("<i16s", 1, bytes(16)) + PAD288, 308)


def test_object_data_channel_and_stream() -> None:
    # type s32 @0, handle s32 @4, size u64 @8, padding1[32] @16, u @48 (288) → 336
    chan = ust_abi.LttngUstAbiObjectData(
        type=ust_abi.LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_CHANNEL,
        handle=-1,
        size=8192,
        padding1=bytes(32),
        u=ust_abi.LttngUstAbiObjectDataChannel(
            data=0x7F00_0000_1000, type=ust_abi.LttngUstAbiChanType(0), wakeup_fd=9
        ),
        u_tail=b"",
    )
    data = struct.pack("<iiQ32sQii", 0, -1, 8192, bytes(32), 0x7F00_0000_1000, 0, 9)
    assert_roundtrip(ust_abi.OBJECT_DATA, chan, data + bytes(272), c_sizeof=336)
    stream = ust_abi.LttngUstAbiObjectData(
        type=ust_abi.LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_STREAM,
        handle=-1,
        size=4096,
        padding1=bytes(32),
        u=ust_abi.LttngUstAbiObjectDataStream(shm_fd=10, wakeup_fd=11, stream_nr=1),
        u_tail=b"",
    )
    data = struct.pack("<iiQ32siiI", 1, -1, 4096, bytes(32), 10, 11, 1)
    assert_roundtrip(ust_abi.OBJECT_DATA, stream, data + bytes(276), c_sizeof=336)


def test_object_data_counters_and_unknown() -> None:
    ot = ust_abi.LttngUstAbiObjectType
    head = struct.pack("<iQ32s", -1, 0, bytes(32))  # handle, size, padding1
    cases: list[tuple[ust_abi.LttngUstAbiObjectType, Any, bytes]] = [
        (ot.LTTNG_UST_ABI_OBJECT_TYPE_COUNTER, ust_abi.LttngUstAbiObjectDataCounter(data=5), b"<Q"),
        (
            ot.LTTNG_UST_ABI_OBJECT_TYPE_COUNTER_GLOBAL,
            ust_abi.LttngUstAbiObjectDataCounterGlobal(shm_fd=3),
            struct.pack("<i", 3),
        ),
        (
            ot.LTTNG_UST_ABI_OBJECT_TYPE_COUNTER_CPU,
            ust_abi.LttngUstAbiObjectDataCounterCpu(shm_fd=3, cpu_nr=2),
            struct.pack("<iI", 3, 2),
        ),
        (ot.LTTNG_UST_ABI_OBJECT_TYPE_UNKNOWN, PAD288, PAD288),
    ]
    for kind, member, raw in cases:
        member_bytes = struct.pack("<Q", 5) if raw == b"<Q" else raw
        tail = 288 - len(member_bytes)
        obj = ust_abi.LttngUstAbiObjectData(
            type=kind, handle=-1, size=0, padding1=bytes(32), u=member, u_tail=b""
        )
        data = struct.pack("<i", kind) + head + member_bytes + bytes(tail)
        assert_roundtrip(ust_abi.OBJECT_DATA, obj, data, c_sizeof=336)


def _channel_config_bytes(chan_id: int, uuid: bytes) -> bytes:
    # natural alignment: unused1 @0, unused2 @8, unused3 @16, unused4 @24, unused5 @32,
    # _deprecated1 @36, _deprecated2 @40, unused6 @48, unused7 @64, unused8 @72,
    # unused9 @80, _deprecated3 byte @88, id @92, unused10 @96, uuid @100,
    # unused11 byte @116, tail padding to 120
    values = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, chan_id, 0, uuid, 1)
    return struct.pack("<Qi4xQQiII4xQQQi4xQB3xIi16sB3x", *values)


def test_channel_config() -> None:
    uuid = bytes(range(16))
    obj = ust_abi.LttngUstAbiChannelConfig(
        unused1=1,
        unused2=2,
        unused3=3,
        unused4=4,
        unused5=5,
        _deprecated1=6,
        _deprecated2=7,
        unused6=ust_abi.CdsListHead(next=8, prev=9),
        unused7=10,
        unused8=11,
        unused9=12,
        _deprecated3=1,
        id=7,
        unused10=ust_abi.LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU,
        uuid=uuid,
        unused11=1,
    )
    data = _channel_config_bytes(7, uuid)
    assert len(data) == 120
    assert_roundtrip(ust_abi.CHANNEL_CONFIG, obj, data, c_sizeof=120)
    offsets = {f["name"]: f["offset"] for f in struct_layout(ust_abi.CHANNEL_CONFIG)["fields"]}
    assert (offsets["unused6.prev"], offsets["_deprecated3"], offsets["id"]) == (56, 88, 92)
    assert (offsets["uuid"], offsets["unused11"]) == (100, 116)
    for abi in Abi:
        assert "lttng_ust_abi_channel_config" not in REGISTRY.structs[abi]


def test_ust_msg_channel() -> None:
    # handle @0, cmd @4, u @8 (572): channel is 300, tail 272
    obj = ust_app.LttcommUstMsg(
        handle=1,
        cmd=ust_abi.LttngUstAbiCommand.LTTNG_UST_ABI_CHANNEL,
        u=ust_abi.LttngUstAbiChannel(
            len=8192, type=ust_abi.LttngUstAbiChanType(0), padding=bytes(288)
        ),
        u_tail=b"",
    )
    data = struct.pack("<IIQi288s", 1, 0x51, 8192, 0, bytes(288)) + bytes(272)
    assert_roundtrip(ust_app.UST_MSG, obj, data, c_sizeof=580)


def test_ust_msg_stream_event_context_version_and_raw() -> None:
    stream = ust_abi.LttngUstAbiStream(len=4096, stream_nr=2, padding=bytes(288))
    obj = ust_app.LttcommUstMsg(handle=3, cmd=0x60, u=stream, u_tail=b"")
    data = struct.pack("<IIQI288s", 3, 0x60, 4096, 2, bytes(288)) + bytes(272)
    assert_roundtrip(ust_app.UST_MSG, obj, data, c_sizeof=580)

    event = ust_abi.EVENT.parse(_event_bytes(b"a:b"))
    obj = ust_app.LttcommUstMsg(handle=4, cmd=0x61, u=event)
    assert_roundtrip(ust_app.UST_MSG, obj, struct.pack("<II", 4, 0x61) + _event_bytes(b"a:b"), 580)

    ctx = ust_abi.LttngUstAbiContext(
        ctx=ust_abi.LttngUstAbiContextType(0), padding=bytes(16), u=PAD288
    )
    obj = ust_app.LttcommUstMsg(handle=5, cmd=0x70, u=ctx, u_tail=b"")
    data = struct.pack("<IIi16s", 5, 0x70, 0, bytes(16)) + PAD288 + bytes(264)
    assert_roundtrip(ust_app.UST_MSG, obj, data, c_sizeof=580)

    version = ust_abi.LttngUstAbiTracerVersion(major=0, minor=0, patchlevel=0)
    obj = ust_app.LttcommUstMsg(handle=0, cmd=0x41, u=version, u_tail=b"")
    assert_roundtrip(ust_app.UST_MSG, obj, struct.pack("<II", 0, 0x41) + bytes(572), 580)

    raw = bytes(range(256)) * 2 + bytes(60)
    obj = ust_app.LttcommUstMsg(
        handle=2, cmd=ust_abi.LttngUstAbiCommand.LTTNG_UST_ABI_ENABLE, u=raw
    )
    assert_roundtrip(ust_app.UST_MSG, obj, struct.pack("<II", 2, 0x80) + raw, c_sizeof=580)


def test_ust_reply() -> None:
    # handle, cmd, ret_code, ret_val @0..16, u @16 (12) → 28
    obj = ust_app.LttcommUstReply(
        handle=0,
        cmd=0x41,
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        ret_val=0,
        u=ust_abi.LttngUstAbiTracerVersion(major=2, minor=13, patchlevel=5),
    )
    data = struct.pack("<IIIIIII", 0, 0x41, 0, 0, 2, 13, 5)
    assert_roundtrip(ust_app.UST_REPLY, obj, data, c_sizeof=28)
    raw_obj = ust_app.LttcommUstReply(
        handle=1, cmd=0x51, ret_code=LttcommReturnCode(0), ret_val=7, u=struct.pack("<QI", 9, 0)
    )
    assert_roundtrip(ust_app.UST_REPLY, raw_obj, struct.pack("<IIIIQI", 1, 0x51, 0, 7, 9, 0), 28)


# --- ust_abi: strictness --------------------------------------------------------


def test_unknown_chan_type_in_msg_names_path_and_offset() -> None:
    data = struct.pack("<IIQi288s", 1, 0x51, 8192, 2, bytes(288)) + bytes(272)
    with pytest.raises(RemoteProtocolError) as info:
        ust_app.UST_MSG.parse(data)
    assert info.value.message == "lttcomm_ust_msg"
    assert info.value.field == "u.channel.type"
    assert info.value.offset == 16


def test_unknown_context_type() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        ust_abi.CONTEXT.parse(struct.pack("<i", 22) + bytes(304))
    assert (info.value.field, info.value.offset) == ("ctx", 0)


def test_event_name_without_nul() -> None:
    data = struct.pack("<II", 0, 0x61) + _event_bytes(b"x" * 256)
    with pytest.raises(RemoteProtocolError) as info:
        ust_app.UST_MSG.parse(data)
    assert (info.value.field, info.value.offset) == ("u.event.name", 12)


def test_unknown_object_type_and_reply_code() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        ust_abi.OBJECT_DATA.parse(struct.pack("<i", 9) + bytes(332))
    assert info.value.field == "type"
    with pytest.raises(RemoteProtocolError) as info:
        ust_app.UST_REPLY.parse(struct.pack("<IIII", 0, 0x41, 99, 0) + bytes(12))
    assert (info.value.field, info.value.offset) == ("ret_code", 8)


@pytest.mark.parametrize(
    ("spec", "size"),
    [(ust_app.UST_MSG, 579), (ust_app.UST_MSG, 581), (ust_app.UST_REPLY, 27), (ust_abi.STREAM, 0)],
)
def test_wrong_size(spec: StructSpec[Any], size: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        spec.parse(bytes(size))
    assert info.value.offset == min(size, spec.size)


def test_union_member_mismatch_is_local_error() -> None:
    bad = ust_app.LttcommUstMsg(
        handle=0, cmd=0x51, u=ust_abi.LttngUstAbiTracerVersion(major=1, minor=0, patchlevel=0)
    )
    with pytest.raises(LocalProtocolError, match="channel"):
        ust_app.UST_MSG.build(bad)


def test_layout_offsets_of_nested_members() -> None:
    fields = {f["name"]: f for f in struct_layout(ust_app.UST_MSG)["fields"]}
    assert fields["u.channel.data"]["offset"] == 308
    assert fields["u.event.u.padding"]["offset"] == 292
    assert fields["u.context.u.perf_counter.name"]["offset"] == 40
    assert {f["name"] for f in struct_layout(ust_app.UST_REPLY)["fields"]} >= {
        "u.channel.memory_map_size",
        "u.stream.memory_map_size",
        "u.version.patchlevel",
    }


# --- handover: the hand-over pieces ---------------------------------------------------


def test_handover_scalars() -> None:
    assert_roundtrip(
        handover.CHANNEL_SIZE, handover.UstctlChannelSize(size=9000), struct.pack("<Q", 9000), 8
    )
    assert_roundtrip(
        handover.CHANNEL_TYPE,
        handover.UstctlChannelType(type=ust_abi.LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU),
        struct.pack("<i", 0),
        4,
    )
    assert_roundtrip(handover.FD_BYTE, handover.UstcommFdByte(), b"\x00", 1)
    assert_roundtrip(
        handover.STREAM_MEMORY_MAP_SIZE,
        handover.UstctlStreamMemoryMapSize(memory_map_size=1 << 21),
        struct.pack("<Q", 1 << 21),
        8,
    )
    assert_roundtrip(
        handover.STREAM_NR, handover.UstctlStreamNr(stream_nr=3), struct.pack("<I", 3), 4
    )
    assert_roundtrip(
        handover.STREAM_LIST_END, handover.UstctlStreamListEndMarker(), struct.pack("<q", -1), 8
    )


def test_channel_data_is_variable() -> None:
    blob = bytes(range(256)) * 3
    obj = handover.UstctlChannelData(data=blob)
    assert handover.CHANNEL_DATA.variable
    assert_roundtrip(handover.CHANNEL_DATA, obj, blob, c_sizeof=0)


def test_fd_byte_value_is_not_checked_by_receivers() -> None:
    assert handover.FD_BYTE.parse(b"\x2a") == handover.UstcommFdByte(dummy=0x2A)


def test_end_marker_and_stream_size() -> None:
    assert handover.STREAM_MEMORY_MAP_SIZE.parse(struct.pack("<Q", 4096)).memory_map_size == 4096
    with pytest.raises(RemoteProtocolError) as info:
        handover.STREAM_LIST_END.parse(struct.pack("<Q", 4096))
    assert (info.value.field, info.value.offset) == ("marker", 0)
    with pytest.raises(RemoteProtocolError, match="truncated"):
        handover.STREAM_MEMORY_MAP_SIZE.parse(b"\xff" * 4)


def test_handover_strictness() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        handover.CHANNEL_TYPE.parse(struct.pack("<i", -1))
    assert (info.value.message, info.value.field) == ("ustctl channel type", "type")
    with pytest.raises(RemoteProtocolError, match="trailing"):
        handover.STREAM_NR.parse(bytes(8))
    with pytest.raises(LocalProtocolError, match="type"):
        handover.CHANNEL_TYPE.build(handover.UstctlChannelType(type=5))  # type: ignore[arg-type]


def test_handover_pieces_are_not_in_the_layout() -> None:
    for abi in Abi:
        names = set(REGISTRY.structs[abi])
        assert not any(name.startswith(("ustctl ", "ustcomm ")) for name in names)


# --- handover: the sequence ---------------------------------------------------------


def _consumer_sends(chan_size: int, streams: list[tuple[int, int]]) -> list[tuple[bytes, int]]:
    """What a consumer sends (payload, fd count), written from ustctl.c directly."""
    sends = [(struct.pack("<I", 0), 0)]  # status.before: LTTCOMM_CONSUMERD_SUCCESS
    sends += [
        (struct.pack("<Q", chan_size), 0),
        (struct.pack("<i", 0), 0),
        (bytes(chan_size), 0),
        (b"\x00", 1),
    ]
    for size, nr in streams:
        sends += [(struct.pack("<Q", size), 0), (struct.pack("<I", nr), 0), (b"\x00", 2)]
    sends += [(struct.pack("<Q", handover.END_OF_STREAMS), 0), (struct.pack("<I", 0), 0)]
    return sends


def test_two_stream_handover_through_the_conversation_table() -> None:
    """The sends of liblttng-ust-ctl decode, step by step, with the conversation table."""
    chan_size = 1234
    sends = _consumer_sends(chan_size, [(1 << 20, 0), (1 << 20, 1)])
    conv = Conversation()
    command = struct.pack("<IQ", 8, 1) + bytes(CONSUMER_MSG_SIZE - 12)  # GET_CHANNEL key 1
    events = conv.observe(Socket.COMMAND, Direction.TO_CONSUMERD, command)
    for payload, fd_count in sends:
        events += conv.observe(Socket.COMMAND, Direction.TO_SESSIOND, payload, fd_count)
    events += conv.finish()
    replies = events[1:]
    assert len(replies) == len(sends) == 13
    assert sum(len(e.raw) for e in replies) == chan_size + 55
    assert [e.fds for e in replies if e.fds] == [1, 2, 2]
    assert [e.step for e in replies[:5]] == [
        "status.before",
        "channel.size",
        "channel.type",
        "channel.data",
        "channel.wakeup_fd",
    ]
    assert replies[-2].step == "streams.end"
    assert replies[-1].value == ConsumerStatusMsg(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    )
    for event in replies:
        if event.spec is not None:
            assert event.spec.build(event.value) == event.raw
    assert max(e.fds for e in replies) <= handover.USTCOMM_MAX_SEND_FDS


def test_cstr_tail_survives_in_nested_union() -> None:
    raw = _event_bytes(b"a:b\0junk")
    event = ust_abi.EVENT.parse(raw)
    assert isinstance(event.name, CStr) and event.name.tail == b"junk"
    assert ust_abi.EVENT.build(event) == raw


# --- hypothesis properties: one per message kind ------------------------------------


def test_ring_create_builds_the_handover_from_these_grammars() -> None:
    """:mod:`ustref.ring.create` builds its hand-over bytes through the grammars above:
    the same bytes as the hand-packed ``struct.pack`` of ``lttng_ust_ctl_send_channel`` /
    ``lttng_ust_ctl_send_stream`` it used to write."""
    from ustref.ring import create

    blob = bytes(range(256)) * 3
    for chan_type in create.ChanType:
        assert create.channel_handover(chan_type, bytearray(blob)) == (
            struct.pack("<Qi", len(blob), int(chan_type)) + blob
        )
    assert create.stream_handover(1 << 20, 3) == struct.pack("<QI", 1 << 20, 3)
    assert create.stream_handover(4096, -1) == struct.pack("<QI", 4096, 0xFFFF_FFFF)
    assert create.END_OF_STREAMS == struct.pack("<q", -1) == b"\xff" * 8
    assert create.FD_CARRIER == b"\0"
