"""Client ↔ session daemon grammars: bytes packed at offsets derived from the C headers.

Offsets of ``struct lttcomm_session_msg`` (packed, sessiond-comm.h, both revisions):
``cmd_type`` @0 (4) · ``session`` @4 (``struct lttng_session``, 4376: ``name[255]`` @4,
``path[4096]`` @259, 1 compiler pad byte @4355, ``enabled`` @4356, ``snapshot_mode`` @4360,
``live_timer_interval`` @4364, ``alignment_padding[4]`` @4368, ``extended`` @4372 (8)) ·
``domain`` @4380 (``struct lttng_domain``, 308: ``type`` @4380, ``buf_type`` @4384,
``padding[12]`` @4388, ``attr`` @4400 (288)) · ``u`` @4688 (8464) · ``fd_count`` @13152 →
``sizeof`` 13156. Offsets inside ``u`` are relative to 4688 and derived next to each case.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from typing import Any

import pytest
from construct_typed import DataclassStruct
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.protocol.roundtrip import assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.fuzz.grammar_strategies import strategy_for
from ustref.ids import U64_MAX
from ustref.protocol import consumer, sockets
from ustref.protocol.abi import Abi
from ustref.protocol.fields import CUnion, unwrap
from ustref.protocol.layout import struct_layout
from ustref.protocol.peers import client, lttng_types
from ustref.protocol.peers.client import (
    SESSION_MSG,
    LttcommSessiondCommand,
    LttcommSessiondCommandV2139,
)
from ustref.protocol.peers.lttng_types import (
    LttngBufferType,
    LttngDomainType,
    LttngEventContextType,
    LttngEventType,
    LttngLoglevelType,
    LttngProcessAttr,
    LttngProcessAttrValueType,
    LttngRotationState,
    LttngTrackingPolicy,
)
from ustref.protocol.registry import REGISTRY, StructSpec
from ustref.protocol.sockets import LttcommSockDomain, LttcommSockProto

V2139 = Abi.V2_13_9
R975 = Abi.R97535EFAA
LSM_SIZE = 13156
U_OFFSET = 4688  # offset of lttcomm_session_msg.u
U_SIZE = 8464  # snapshot_record (4 + 8459, packed) rounded to the 4-byte union alignment


def _id(value: object) -> str | None:
    """Short test ids: C names, ABI names, enum names, byte counts."""
    if isinstance(value, StructSpec):
        return value.c_name
    if isinstance(value, Abi):
        return value.value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes):
        return f"{len(value)}B"
    return None


def cstr(text: str, size: int) -> bytes:
    """``char[size]`` holding ``text`` and zero-filled."""
    return text.encode().ljust(size, b"\0")


# ------------------------------------------------------------------------ helpers


def lsm_bytes(
    cmd: int,
    u: bytes = b"",
    *,
    session_name: str = "",
    domain: tuple[int, int, int] = (0, 0, 0),
    fd_count: int = 0,
) -> bytes:
    """A whole lttcomm_session_msg; ``domain`` is (type, buf_type, attr.pid)."""
    data = bytearray(LSM_SIZE)
    struct.pack_into("<I", data, 0, cmd)
    data[4 : 4 + 255] = cstr(session_name, 255)
    struct.pack_into("<II", data, 4380, domain[0], domain[1])
    struct.pack_into("<i", data, 4400, domain[2])
    data[U_OFFSET : U_OFFSET + len(u)] = u
    struct.pack_into("<I", data, 13152, fd_count)
    return bytes(data)


def session_obj(name: str = "") -> lttng_types.LttngSession:
    return lttng_types.LttngSession(
        name=name, path="", enabled=0, snapshot_mode=0, live_timer_interval=0, extended=0
    )


def domain_obj(
    dtype: LttngDomainType = LttngDomainType.LTTNG_DOMAIN_NONE,
    buf_type: LttngBufferType = LttngBufferType.LTTNG_BUFFER_PER_PID,
    pid: int = 0,
) -> lttng_types.LttngDomain:
    # attr parses as its pid member (4 B): the other 284 bytes of the union are the tail,
    # all zero here, which parses to the default b"".
    return lttng_types.LttngDomain(type=dtype, buf_type=buf_type, attr=pid)


def lsm_obj(
    abi: Abi,
    cmd: LttcommSessiondCommand,
    u: Any,
    *,
    u_tail: bytes = b"",
    session_name: str = "",
    domain: lttng_types.LttngDomain | None = None,
    fd_count: int = 0,
) -> Any:
    cls = client.SessionMsgV2139 if abi is V2139 else client.SessionMsgR97535efaa
    return cls(
        cmd_type=cmd,
        session=session_obj(session_name),
        domain=domain or domain_obj(),
        u=u,
        u_tail=u_tail,  # all zero (the senders zero the union) parses to b""
        fd_count=fd_count,
    )


def event_bytes(
    etype: int,
    name: str,
    *,
    loglevel_type: int = 0,
    loglevel: int = -1,
    attr: bytes = b"",
    flags: int = 0,
    ptr: int = 0,
) -> bytes:
    """struct lttng_event (584 B): offsets as commented in include/lttng/event.h."""
    data = bytearray(584)
    struct.pack_into("<i", data, 0, etype)  # type @0 (enum with -1: signed)
    data[4:260] = cstr(name, 256)  # name @4
    # loglevel_type @260, loglevel @264, enabled @268, pid @272
    struct.pack_into("<Iiii", data, 260, loglevel_type, loglevel, 1, 0)
    struct.pack_into("<BB", data, 276, 0, 0)  # filter @276, exclusion @277, padding2 @278
    struct.pack_into("<I", data, 280, flags)  # flags @280, padding[4] @284
    struct.pack_into("<Q", data, 288, ptr)  # extended @288 (union, 8 B)
    data[296 : 296 + len(attr)] = attr  # attr @296 (union, 288 B)
    return bytes(data)


def event_obj(
    etype: LttngEventType,
    name: str,
    attr: Any,
    attr_tail: bytes,
    *,
    loglevel_type: LttngLoglevelType = LttngLoglevelType.LTTNG_EVENT_LOGLEVEL_ALL,
    loglevel: int = -1,
    flags: int = 0,
    ptr: int = 0,
) -> lttng_types.LttngEvent:
    return lttng_types.LttngEvent(
        type=etype,
        name=name,
        loglevel_type=loglevel_type,
        loglevel=loglevel,
        enabled=1,
        pid=0,
        filter=0,
        exclusion=0,
        flags=flags,
        extended=ptr,
        attr=attr,
        attr_tail=attr_tail,
    )


def probe_attr_bytes(addr: int, offset: int, symbol: str) -> bytes:
    # struct lttng_event_probe_attr: addr @0, offset @8, symbol_name[256] @16, padding[16] @272
    return struct.pack("<QQ", addr, offset) + cstr(symbol, 256) + bytes(16)


# ------------------------------------------------------------------------- sizes


def test_session_msg_size_is_the_same_at_both_abis() -> None:
    assert SESSION_MSG[V2139].size == LSM_SIZE
    assert SESSION_MSG[R975].size == LSM_SIZE
    assert SESSION_MSG[V2139] is not SESSION_MSG[R975]


@pytest.mark.parametrize(
    ("spec", "size"),
    [
        (client.LTTNG_MSG, 24),
        (client.LTTNG_OUTPUT_ID, 4),
        (client.LIST_COMMAND_HEADER, 4),
        (client.EVENT_COMMAND_HEADER, 4),
        (client.EVENT_EXTENDED_HEADER, 12),
        (client.SESSION_DESTROY_COMMAND_HEADER, 4),
        (client.TRACKER_COMMAND_HEADER, 4),
        (client.PROCESS_ATTR_INTEGRAL_VALUE_COMM, 8),
        (client.BYTECODE, 48),
        (client.EVENT_EXCLUSION, 36),
        (sockets.SOCKADDR, 32),
        (sockets.SOCK, 48),
        (sockets.RELAYD_SOCK, 56),
        (sockets.NET_FAMILY, 16),
        (sockets.PROTO_OPS, 56),
        (lttng_types.SESSION, 4376),
        (lttng_types.DOMAIN, 308),
        (lttng_types.CALIBRATE, 20),
        (lttng_types.SNAPSHOT_OUTPUT, 8459),
        (lttng_types.SAVE_SESSION_ATTR, 4354),
        (lttng_types.EVENT_PROBE_ATTR, 288),
        (lttng_types.EVENT_FUNCTION_ATTR, 272),
        (lttng_types.EVENT, 584),
        (lttng_types.EVENT_PERF_COUNTER_CTX, 288),
        (lttng_types.EVENT_CONTEXT, 312),
        (lttng_types.CHANNEL_ATTR, 344),
        (lttng_types.CHANNEL, 624),
        (lttng_types.CHANNEL_EXTENDED, 32),
    ],
    ids=_id,
)
def test_sizeof(spec: StructSpec[Any], size: int) -> None:
    assert spec.size == size


def test_union_members_per_abi_layout() -> None:
    def fields(abi: Abi) -> dict[str, tuple[int, int]]:
        return {
            f["name"]: (f["offset"], f["size"]) for f in struct_layout(SESSION_MSG[abi])["fields"]
        }

    old, new = fields(V2139), fields(R975)
    assert old["u"] == new["u"] == (U_OFFSET, U_SIZE)
    assert old["fd_count"] == new["fd_count"] == (13152, 4)
    assert old["u.enable"] == (U_OFFSET, 260) and old["u.enable.length"] == (U_OFFSET + 256, 4)
    assert old["u.channel"] == (U_OFFSET, 4) and old["u.context"] == (U_OFFSET, 260)
    assert new["u.enable"] == (U_OFFSET, 856) and new["u.enable.event"] == (U_OFFSET + 256, 584)
    assert new["u.enable.event.attr.probe.symbol_name"] == (U_OFFSET + 256 + 312, 256)
    assert new["u.disable"] == (U_OFFSET, 848)
    assert new["u.channel"] == (U_OFFSET, 656) and new["u.channel.extended"] == (U_OFFSET + 624, 32)
    assert new["u.context"] == (U_OFFSET, 576) and new["u.context.ctx.u"] == (
        U_OFFSET + 256 + 24,
        288,
    )
    assert "u.enable.event" not in old and "u.enable.length" not in new
    assert old["session.enabled"] == (4356, 4) and old["domain.attr"] == (4400, 288)


def test_command_enums_per_abi() -> None:
    assert REGISTRY.enums[V2139]["lttcomm_sessiond_command"] is LttcommSessiondCommandV2139
    assert REGISTRY.enums[R975]["lttcomm_sessiond_command"] is LttcommSessiondCommand
    members = LttcommSessiondCommandV2139.__members__
    assert members["LTTCOMM_SESSIOND_COMMAND_MIN"] == -1
    assert members["LTTCOMM_SESSIOND_COMMAND_MAX"] == 53
    assert len(members) == len(LttcommSessiondCommand) + 2
    assert all(members[m.name] == m.value for m in LttcommSessiondCommand)
    assert "lttcomm_list_command_header" in REGISTRY.structs[V2139]
    assert "lttcomm_list_command_header" not in REGISTRY.structs[R975]
    assert "lttcomm_event_command_header" in REGISTRY.structs[R975]
    assert "lttcomm_event_command_header" not in REGISTRY.structs[V2139]


# ------------------------------------------------- lttcomm_session_msg round trips

_OUTPUT = lttng_types.LttngSnapshotOutput(
    id=0, max_size=1 << 20, name="out", ctrl_url="net://relay:5342", data_url="net://relay:5343"
)
# lttng_snapshot_output (packed): id @0, max_size @4, name[255] @12, ctrl_url[4096] @267,
# data_url[4096] @4363 → 8459
_OUTPUT_BYTES = (
    struct.pack("<IQ", 0, 1 << 20)
    + cstr("out", 255)
    + cstr("net://relay:5342", 4096)
    + cstr("net://relay:5343", 4096)
)

# (command, bytes of u, parsed member, member size): members declared alike at both ABIs.
SHARED_CASES: list[tuple[LttcommSessiondCommand, bytes, Any, int]] = [
    (
        LttcommSessiondCommand.LTTNG_REGISTER_CONSUMER,
        cstr("/run/ustref", 4096),
        client.SessionMsgReg(path="/run/ustref"),
        4096,
    ),
    (
        LttcommSessiondCommand.LTTNG_LIST_EVENTS,
        cstr("channel0", 256),
        client.SessionMsgList(channel_name="channel0"),
        256,
    ),
    (
        LttcommSessiondCommand.LTTNG_SET_CONSUMER_URI,
        struct.pack("<I", 2),
        client.SessionMsgUri(size=2),
        4,
    ),
    (
        LttcommSessiondCommand.LTTNG_SNAPSHOT_ADD_OUTPUT,
        _OUTPUT_BYTES,
        client.SessionMsgSnapshotOutput(output=_OUTPUT),
        8459,
    ),
    (
        LttcommSessiondCommand.LTTNG_SNAPSHOT_DEL_OUTPUT,
        _OUTPUT_BYTES,
        client.SessionMsgSnapshotOutput(output=_OUTPUT),
        8459,
    ),
    # snapshot_record: wait @0, output @4 → 8463 (the largest member)
    (
        LttcommSessiondCommand.LTTNG_SNAPSHOT_RECORD,
        struct.pack("<I", 1) + _OUTPUT_BYTES,
        client.SessionMsgSnapshotRecord(wait=1, output=_OUTPUT),
        8463,
    ),
    # lttng_save_session_attr (packed): session_name[255] @0, configuration_url[4096] @255,
    # overwrite @4351, omit_name @4352, omit_output @4353 → 4354
    (
        LttcommSessiondCommand.LTTNG_SAVE_SESSION,
        cstr("s1", 255) + cstr("file:///tmp/x", 4096) + bytes([1, 0, 1]),
        client.SessionMsgSaveSession(
            attr=lttng_types.LttngSaveSessionAttr(
                session_name="s1",
                configuration_url="file:///tmp/x",
                overwrite=1,
                omit_name=0,
                omit_output=1,
            )
        ),
        4354,
    ),
    (
        LttcommSessiondCommand.LTTNG_SET_SESSION_SHM_PATH,
        cstr("/dev/shm/x", 4096),
        client.SessionMsgSetShmPath(shm_path="/dev/shm/x"),
        4096,
    ),
    # add/remove include value: process_attr @0, value_type @4, integral_value @8, name_len @16
    *[
        (
            cmd,
            struct.pack("<iiqI", 1, 0, 4242, 0),
            client.SessionMsgProcessAttrValue(
                process_attr=LttngProcessAttr.LTTNG_PROCESS_ATTR_VIRTUAL_PROCESS_ID,
                value_type=LttngProcessAttrValueType.LTTNG_PROCESS_ATTR_VALUE_TYPE_PID,
                integral_value=client.ProcessAttrIntegralValueComm(u=4242),
                name_len=0,
            ),
            20,
        )
        for cmd in (
            LttcommSessiondCommand.LTTNG_PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE,
            LttcommSessiondCommand.LTTNG_PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE,
        )
    ],
    (
        LttcommSessiondCommand.LTTNG_PROCESS_ATTR_TRACKER_GET_POLICY,
        struct.pack("<i", 3),
        client.SessionMsgProcessAttr(
            process_attr=LttngProcessAttr.LTTNG_PROCESS_ATTR_VIRTUAL_USER_ID
        ),
        4,
    ),
    (
        LttcommSessiondCommand.LTTNG_PROCESS_ATTR_TRACKER_GET_INCLUSION_SET,
        struct.pack("<i", 5),
        client.SessionMsgProcessAttr(
            process_attr=LttngProcessAttr.LTTNG_PROCESS_ATTR_VIRTUAL_GROUP_ID
        ),
        4,
    ),
    (
        LttcommSessiondCommand.LTTNG_PROCESS_ATTR_TRACKER_SET_POLICY,
        struct.pack("<ii", 1, 2),
        client.SessionMsgSetTrackingPolicy(
            process_attr=LttngProcessAttr.LTTNG_PROCESS_ATTR_VIRTUAL_PROCESS_ID,
            tracking_policy=LttngTrackingPolicy.LTTNG_TRACKING_POLICY_INCLUDE_SET,
        ),
        8,
    ),
    # trigger: length @0, is_trigger_anonymous @4 → 5
    (
        LttcommSessiondCommand.LTTNG_REGISTER_TRIGGER,
        struct.pack("<IB", 300, 1),
        client.SessionMsgTrigger(length=300, is_trigger_anonymous=1),
        5,
    ),
    (
        LttcommSessiondCommand.LTTNG_UNREGISTER_TRIGGER,
        struct.pack("<IB", 120, 0),
        client.SessionMsgTrigger(length=120, is_trigger_anonymous=0),
        5,
    ),
    (
        LttcommSessiondCommand.LTTNG_EXECUTE_ERROR_QUERY,
        struct.pack("<I", 77),
        client.SessionMsgLength(length=77),
        4,
    ),
    (
        LttcommSessiondCommand.LTTNG_ROTATION_GET_INFO,
        struct.pack("<Q", 9),
        client.SessionMsgGetRotationInfo(rotation_id=9),
        8,
    ),
    # rotation_set_schedule: type u8 @0 (PERIODIC = 1), set u8 @1, value u64 @2 → 10
    (
        LttcommSessiondCommand.LTTNG_ROTATION_SET_SCHEDULE,
        struct.pack("<BBQ", 1, 1, 1_000_000),
        client.SessionMsgRotationSetSchedule(type=1, set=1, value=1_000_000),
        10,
    ),
    # create_session: home_dir_size u16 @0, session_descriptor_size u64 @2 → 10
    (
        LttcommSessiondCommand.LTTNG_CREATE_SESSION_EXT,
        struct.pack("<HQ", 6, 120),
        client.SessionMsgCreateSession(home_dir_size=6, session_descriptor_size=120),
        10,
    ),
]


@pytest.mark.parametrize("abi", list(Abi), ids=_id)
@pytest.mark.parametrize(
    ("cmd", "u_bytes", "u_obj", "u_size"), SHARED_CASES, ids=[c[0].name for c in SHARED_CASES]
)
def test_shared_member_roundtrip(
    abi: Abi, cmd: LttcommSessiondCommand, u_bytes: bytes, u_obj: Any, u_size: int
) -> None:
    assert len(u_bytes) == u_size
    domain = domain_obj(LttngDomainType.LTTNG_DOMAIN_UST, LttngBufferType.LTTNG_BUFFER_PER_UID, 0)
    data = lsm_bytes(cmd, u_bytes, session_name="s1", domain=(2, 1, 0))
    obj = lsm_obj(abi, cmd, u_obj, session_name="s1", domain=domain)
    assert_roundtrip(SESSION_MSG[abi], obj, data, LSM_SIZE)


@pytest.mark.parametrize("abi", list(Abi), ids=_id)
def test_bytes_after_the_member_are_kept(abi: Abi) -> None:
    # trigger (5 B) then 8459 bytes of junk up to the end of the 8464-byte union.
    junk = bytes(range(1, 256)) * 33 + b"\x01" * 44
    u = struct.pack("<IB", 64, 1) + junk
    member = client.SessionMsgTrigger(length=64, is_trigger_anonymous=1)
    obj = lsm_obj(
        abi, LttcommSessiondCommand.LTTNG_REGISTER_TRIGGER, member, u_tail=junk, fd_count=0
    )
    assert_roundtrip(
        SESSION_MSG[abi], obj, lsm_bytes(LttcommSessiondCommand.LTTNG_REGISTER_TRIGGER, u), LSM_SIZE
    )


@pytest.mark.parametrize("abi", list(Abi), ids=_id)
@pytest.mark.parametrize(
    "cmd",
    [
        LttcommSessiondCommand.LTTNG_START_TRACE,
        LttcommSessiondCommand.LTTNG_LIST_SESSIONS,
        LttcommSessiondCommand.LTTNG_DESTROY_SESSION,
        LttcommSessiondCommand.LTTNG_CLEAR_SESSION,
    ],
    ids=_id,
)
def test_command_without_member_keeps_union_raw(abi: Abi, cmd: LttcommSessiondCommand) -> None:
    # No member is read: the union is the 8464 raw bytes (here with junk left by a sender).
    junk = bytes(range(256)) * 33 + bytes(16)
    data = lsm_bytes(cmd, junk, session_name="trace", fd_count=0)
    obj = lsm_obj(abi, cmd, junk, session_name="trace")
    assert_roundtrip(SESSION_MSG[abi], obj, data, LSM_SIZE)


@pytest.mark.parametrize(
    "cmd",
    [
        LttcommSessiondCommand.LTTNG_ENABLE_EVENT,
        LttcommSessiondCommand.LTTNG_DISABLE_EVENT,
        LttcommSessiondCommand.LTTNG_DISABLE_CHANNEL,
        LttcommSessiondCommand.LTTNG_ADD_CONTEXT,
    ],
    ids=_id,
)
def test_v2139_channel_name_and_length(cmd: LttcommSessiondCommand) -> None:
    # v2.13.9 enable/disable/context: channel_name[256] @0, length @256 → 260 (packed)
    u = cstr("channel0", 256) + struct.pack("<I", 321)
    member = client.SessionMsgChannelNameLength(channel_name="channel0", length=321)
    data = lsm_bytes(cmd, u, session_name="s", domain=(2, 0, 1234))
    obj = lsm_obj(
        V2139,
        cmd,
        member,
        session_name="s",
        domain=domain_obj(LttngDomainType.LTTNG_DOMAIN_UST, pid=1234),
    )
    assert_roundtrip(SESSION_MSG[V2139], obj, data, LSM_SIZE)


def test_v2139_enable_channel_length() -> None:
    # v2.13.9 channel: {uint32_t length} — a serialized lttng_channel_comm follows.
    data = lsm_bytes(
        LttcommSessiondCommand.LTTNG_ENABLE_CHANNEL, struct.pack("<I", 93), session_name="s"
    )
    obj = lsm_obj(
        V2139,
        LttcommSessiondCommand.LTTNG_ENABLE_CHANNEL,
        client.SessionMsgLength(length=93),
        session_name="s",
    )
    assert_roundtrip(SESSION_MSG[V2139], obj, data, LSM_SIZE)


def test_r97535efaa_enable_event_kprobe() -> None:
    # enable: channel_name @0 (256), event @256 (584), expression_len @840, bytecode_len @844,
    # exclusion_count @848, userspace_probe_location_len @852 → 856.
    # LTTNG_EVENT_PROBE (1) selects attr.probe (288 B, the whole union: no tail).
    ev = event_bytes(1, "my_probe", attr=probe_attr_bytes(0, 0x10, "do_sys_open"), ptr=0x55AA0010)
    u = cstr("channel0", 256) + ev + struct.pack("<IIII", 12, 48, 2, 0)
    probe = lttng_types.LttngEventProbeAttr(addr=0, offset=0x10, symbol_name="do_sys_open")
    member = client.SessionMsgEnableR97535efaa(
        channel_name="channel0",
        event=event_obj(LttngEventType.LTTNG_EVENT_PROBE, "my_probe", probe, b"", ptr=0x55AA0010),
        expression_len=12,
        bytecode_len=48,
        exclusion_count=2,
        userspace_probe_location_len=0,
    )
    data = lsm_bytes(
        LttcommSessiondCommand.LTTNG_ENABLE_EVENT, u, session_name="k", domain=(1, 2, 0)
    )
    obj = lsm_obj(
        R975,
        LttcommSessiondCommand.LTTNG_ENABLE_EVENT,
        member,
        session_name="k",
        domain=domain_obj(LttngDomainType.LTTNG_DOMAIN_KERNEL, LttngBufferType.LTTNG_BUFFER_GLOBAL),
    )
    assert_roundtrip(SESSION_MSG[R975], obj, data, LSM_SIZE)


def test_r97535efaa_enable_event_function_entry_selects_ftrace() -> None:
    # FUNCTION_ENTRY (3) selects attr.ftrace: symbol_name @0 (256), padding @256 (16) → 272,
    # leaving 16 bytes of the 288-byte union in attr_tail (junk here: kept verbatim).
    ftrace = cstr("schedule", 256) + bytes(16) + b"\xaa" * 16
    ev = event_bytes(3, "fentry", attr=ftrace)
    u = cstr("ch", 256) + ev + bytes(16)
    member = client.SessionMsgEnableR97535efaa(
        channel_name="ch",
        event=event_obj(
            LttngEventType.LTTNG_EVENT_FUNCTION_ENTRY,
            "fentry",
            lttng_types.LttngEventFunctionAttr(symbol_name="schedule"),
            b"\xaa" * 16,
        ),
        expression_len=0,
        bytecode_len=0,
        exclusion_count=0,
        userspace_probe_location_len=0,
    )
    obj = lsm_obj(R975, LttcommSessiondCommand.LTTNG_ENABLE_EVENT, member)
    assert_roundtrip(
        SESSION_MSG[R975], obj, lsm_bytes(LttcommSessiondCommand.LTTNG_ENABLE_EVENT, u), LSM_SIZE
    )


def test_r97535efaa_disable_event_tracepoint() -> None:
    # disable: channel_name @0, event @256, expression_len @840, bytecode_len @844 → 848.
    # A TRACEPOINT (0) event reads no attr member: the 288 bytes stay raw.
    ev = event_bytes(0, "ust_tests_hello:tptest", loglevel_type=2, loglevel=6, flags=0)
    u = cstr("channel0", 256) + ev + struct.pack("<II", 0, 0)
    member = client.SessionMsgDisableR97535efaa(
        channel_name="channel0",
        event=event_obj(
            LttngEventType.LTTNG_EVENT_TRACEPOINT,
            "ust_tests_hello:tptest",
            bytes(288),
            b"",
            loglevel_type=LttngLoglevelType.LTTNG_EVENT_LOGLEVEL_SINGLE,
            loglevel=6,
        ),
        expression_len=0,
        bytecode_len=0,
    )
    obj = lsm_obj(R975, LttcommSessiondCommand.LTTNG_DISABLE_EVENT, member)
    assert_roundtrip(
        SESSION_MSG[R975], obj, lsm_bytes(LttcommSessiondCommand.LTTNG_DISABLE_EVENT, u), LSM_SIZE
    )


def channel_bytes() -> bytes:
    """lttng_channel (624) + lttng_channel_extended (32), offsets from channel.h."""
    data = bytearray(656)
    data[0:256] = cstr("channel0", 256)  # name @0
    struct.pack_into("<I", data, 256, 1)  # enabled @256, 4 pad bytes @260
    # attr @264: overwrite @264 (s32), pad @268, subbuf_size @272, num_subbuf @280,
    # switch_timer_interval @288, read_timer_interval @292, output @296 (MMAP = 1), pad @300,
    # tracefile_size @304, tracefile_count @312, live_timer_interval @320, align_to_64 @324,
    # extended @328 (NULL from lttng_enable_channel), padding[268] @336, pad @604
    struct.pack_into("<i", data, 264, -1)
    struct.pack_into("<QQIII", data, 272, 1 << 19, 4, 0, 200, 1)
    struct.pack_into("<QQII", data, 304, 0, 0, 0, 0)
    # padding[16] @608; lttng_channel_extended @624: discarded_events, lost_packets,
    # monitor_timer_interval, blocking_timeout (s64)
    struct.pack_into("<QQQq", data, 624, 0, 0, 1_000_000, -1)
    return bytes(data)


def channel_objs() -> tuple[lttng_types.LttngChannel, lttng_types.LttngChannelExtended]:
    attr = lttng_types.LttngChannelAttr(
        overwrite=-1,
        subbuf_size=1 << 19,
        num_subbuf=4,
        switch_timer_interval=0,
        read_timer_interval=200,
        output=consumer.LttngEventOutput.LTTNG_EVENT_MMAP,
        tracefile_size=0,
        tracefile_count=0,
        live_timer_interval=0,
        align_to_64=0,
        extended=0,
    )
    chan = lttng_types.LttngChannel(name="channel0", enabled=1, attr=attr)
    ext = lttng_types.LttngChannelExtended(
        discarded_events=0, lost_packets=0, monitor_timer_interval=1_000_000, blocking_timeout=-1
    )
    return chan, ext


def test_r97535efaa_enable_channel() -> None:
    chan, ext = channel_objs()
    member = client.SessionMsgChannelR97535efaa(chan=chan, extended=ext)
    data = lsm_bytes(
        LttcommSessiondCommand.LTTNG_ENABLE_CHANNEL,
        channel_bytes(),
        session_name="s",
        domain=(2, 1, 0),
    )
    obj = lsm_obj(
        R975,
        LttcommSessiondCommand.LTTNG_ENABLE_CHANNEL,
        member,
        session_name="s",
        domain=domain_obj(LttngDomainType.LTTNG_DOMAIN_UST, LttngBufferType.LTTNG_BUFFER_PER_UID),
    )
    assert_roundtrip(SESSION_MSG[R975], obj, data, LSM_SIZE)
    assert_roundtrip(lttng_types.CHANNEL, chan, channel_bytes()[:624], 624)
    assert_roundtrip(lttng_types.CHANNEL_EXTENDED, ext, channel_bytes()[624:], 32)


@pytest.mark.parametrize(
    ("ctx", "u_bytes", "u_obj", "u_tail"),
    [
        # perf_counter @0 of u: type @0, pad @4, config @8, name @16 (256), padding @272 (16)
        (
            LttngEventContextType.LTTNG_EVENT_CONTEXT_PERF_CPU_COUNTER,
            struct.pack("<IIQ", 0, 0, 1) + cstr("perf:cpu:instructions", 256) + bytes(16),
            lttng_types.LttngEventPerfCounterCtx(type=0, config=1, name="perf:cpu:instructions"),
            b"",
        ),
        # app_ctx: provider_name @0, ctx_name @8 (client pointers, sent NULL) → 16; the
        # other 272 bytes of the union (junk here) are kept in u_tail
        (
            LttngEventContextType.LTTNG_EVENT_CONTEXT_APP_CONTEXT,
            bytes(16) + b"\x5a" * 272,
            lttng_types.LttngEventContextAppCtx(provider_name=0, ctx_name=0),
            b"\x5a" * 272,
        ),
        (LttngEventContextType.LTTNG_EVENT_CONTEXT_VPID, bytes(288), bytes(288), b""),
    ],
    ids=_id,
)
def test_r97535efaa_add_context(
    ctx: LttngEventContextType, u_bytes: bytes, u_obj: Any, u_tail: bytes
) -> None:
    # context: channel_name @0, ctx @256 (312: ctx @256, padding @260, pad @276, u @280),
    # provider_name_len @568, context_name_len @572 → 576
    ctx_bytes = struct.pack("<I", ctx) + bytes(20) + u_bytes.ljust(288, b"\0")
    u = cstr("channel0", 256) + ctx_bytes + struct.pack("<II", 4, 5)
    ctx_obj = lttng_types.LttngEventContext(ctx=ctx, u=u_obj, u_tail=u_tail)
    member = client.SessionMsgContextR97535efaa(
        channel_name="channel0", ctx=ctx_obj, provider_name_len=4, context_name_len=5
    )
    obj = lsm_obj(R975, LttcommSessiondCommand.LTTNG_ADD_CONTEXT, member)
    assert_roundtrip(
        SESSION_MSG[R975], obj, lsm_bytes(LttcommSessiondCommand.LTTNG_ADD_CONTEXT, u), LSM_SIZE
    )
    assert_roundtrip(lttng_types.EVENT_CONTEXT, ctx_obj, ctx_bytes, 312)


# ----------------------------------------------------------- replies and payloads


def test_lttng_msg() -> None:
    # cmd_type, ret_code (LTTNG_OK = 10), pid, cmd_header_size, data_size, fd_count: "<6I"
    obj = client.LttngMsg(
        cmd_type=LttcommSessiondCommand.LTTNG_LIST_EVENTS,
        ret_code=10,
        pid=0,
        cmd_header_size=4,
        data_size=1168,
        fd_count=0,
    )
    assert_roundtrip(client.LTTNG_MSG, obj, struct.pack("<6I", 12, 10, 0, 4, 1168, 0), 24)


def test_empty_lttng_msg_header() -> None:
    # setup_empty_lttng_msg sends an all-zero header: cmd_type 0 is LTTNG_ADD_CONTEXT.
    obj = client.LttngMsg(
        cmd_type=LttcommSessiondCommand.LTTNG_ADD_CONTEXT,
        ret_code=0,
        pid=0,
        cmd_header_size=0,
        data_size=0,
        fd_count=0,
    )
    assert_roundtrip(client.LTTNG_MSG, obj, bytes(24), 24)


@pytest.mark.parametrize(
    ("spec", "obj", "data"),
    [
        (client.LTTNG_OUTPUT_ID, client.LttngOutputId(id=3), struct.pack("<I", 3)),
        (client.LIST_COMMAND_HEADER, client.ListCommandHeader(count=7), struct.pack("<I", 7)),
        (client.EVENT_COMMAND_HEADER, client.EventCommandHeader(nb_events=2), struct.pack("<I", 2)),
        (
            client.EVENT_EXTENDED_HEADER,
            client.EventExtendedHeader(
                filter_len=5, nb_exclusions=1, userspace_probe_location_len=0
            ),
            struct.pack("<III", 5, 1, 0),
        ),
        (
            client.SESSION_DESTROY_COMMAND_HEADER,
            client.SessionDestroyCommandHeader(
                rotation_state=LttngRotationState.LTTNG_ROTATION_STATE_ERROR
            ),
            struct.pack("<i", -1),
        ),
        (
            client.SESSION_DESTROY_COMMAND_HEADER,
            client.SessionDestroyCommandHeader(
                rotation_state=LttngRotationState.LTTNG_ROTATION_STATE_COMPLETED
            ),
            struct.pack("<i", 2),
        ),
        (
            client.TRACKER_COMMAND_HEADER,
            client.TrackerCommandHeader(nb_tracker_id=4),
            struct.pack("<I", 4),
        ),
        (
            client.PROCESS_ATTR_INTEGRAL_VALUE_COMM,
            client.ProcessAttrIntegralValueComm(u=U64_MAX),
            struct.pack("<q", -1),  # _signed -1 reads as _unsigned 2**64 - 1
        ),
    ],
    ids=_id,
)
def test_small_reply_structs(spec: StructSpec[Any], obj: Any, data: bytes) -> None:
    assert_roundtrip(spec, obj, data, len(data))


def test_bytecode_with_data() -> None:
    # len @0, reloc_table_offset @4, seqnum @8, padding[32] @16, data[len] @48
    data = struct.pack("<IIQ", 5, 3, 7) + bytes(32) + b"\x01\x02\x03\x04\x05"
    obj = client.LttngBytecode(len=5, reloc_table_offset=3, seqnum=7, data=b"\x01\x02\x03\x04\x05")
    assert_roundtrip(client.BYTECODE, obj, data, 48)


def test_bytecode_truncated_data_is_remote_error() -> None:
    data = struct.pack("<IIQ", 5, 3, 7) + bytes(32) + b"\x01\x02"
    with pytest.raises(RemoteProtocolError) as info:
        client.BYTECODE.parse(data)
    assert info.value.field == "data"
    assert info.value.offset == 48


def test_event_exclusion_names() -> None:
    # count @0, padding[32] @4, names[count][256] @36
    names = cstr("foo*", 256) + cstr("bar", 256)
    data = struct.pack("<I", 2) + bytes(32) + names
    obj = client.LttngEventExclusion(count=2, names=names)
    assert_roundtrip(client.EVENT_EXCLUSION, obj, data, 36)
    assert client.exclusion_names(obj) == ["foo*", "bar"]


def test_event_exclusion_name_without_nul() -> None:
    obj = client.LttngEventExclusion(count=2, names=cstr("ok", 256) + b"x" * 256)
    with pytest.raises(RemoteProtocolError) as info:
        client.exclusion_names(obj)
    assert info.value.field == "names"
    assert info.value.offset == 36 + 256


# -------------------------------------------------------------- in-process structs


def sockaddr_in_bytes() -> bytes:
    # type LTTCOMM_INET @0; sin @4: sin_family AF_INET (2, host order) @4, sin_port @6 (big
    # endian), sin_addr.s_addr @8 (big endian), sin_zero[8] @12; the union is 28 B → 12 tail B
    return struct.pack("<IH", 0, 2) + struct.pack(">HI", 5342, 0x7F000001) + bytes(8 + 12)


def sockaddr_in_obj() -> sockets.LttcommSockaddr:
    addr = sockets.InAddr(s_addr=0x7F000001)
    sin = sockets.SockaddrIn(sin_family=2, sin_port=5342, sin_addr=addr, sin_zero=bytes(8))
    return sockets.LttcommSockaddr(type=LttcommSockDomain.LTTCOMM_INET, addr=sin)


def test_sockaddr_inet() -> None:
    assert_roundtrip(sockets.SOCKADDR, sockaddr_in_obj(), sockaddr_in_bytes(), 32)


def test_sockaddr_inet6() -> None:
    # sin6 @4: family AF_INET6 (10) @4, port @6 (BE), flowinfo @8 (BE), addr @12 (16),
    # scope_id @28 (host order)
    loopback = bytes(15) + b"\x01"
    data = struct.pack("<IH", 1, 10) + struct.pack(">HI", 5343, 0) + loopback + struct.pack("<I", 0)
    sin6 = sockets.SockaddrIn6(
        sin6_family=10,
        sin6_port=5343,
        sin6_flowinfo=0,
        sin6_addr=sockets.In6Addr(**{"__in6_u": loopback}),
        sin6_scope_id=0,
    )
    obj = sockets.LttcommSockaddr(type=LttcommSockDomain.LTTCOMM_INET6, addr=sin6, addr_tail=b"")
    assert_roundtrip(sockets.SOCKADDR, obj, data, 32)
    parsed = sockets.SOCKADDR.parse(data).addr
    assert isinstance(parsed, sockets.SockaddrIn6)
    assert getattr(parsed.sin6_addr, "__in6_u") == loopback  # the C name, unmangled


def test_sock_and_relayd_sock() -> None:
    # lttcomm_sock: fd @0, proto @4 (TCP = 1), sockaddr @8 (32), ops @40 (pointer)
    sock_data = struct.pack("<iI", 7, 1) + sockaddr_in_bytes() + struct.pack("<Q", 0x7F00DEAD0000)
    sock = sockets.LttcommSock(
        fd=7,
        proto=LttcommSockProto.LTTCOMM_SOCK_TCP,
        sockaddr=sockaddr_in_obj(),
        ops=0x7F00DEAD0000,
    )
    assert_roundtrip(sockets.SOCK, sock, sock_data, 48)
    # lttcomm_relayd_sock: sock @0 (48), major @48, minor @52
    relayd = sockets.LttcommRelaydSock(sock=sock, major=2, minor=13)
    assert_roundtrip(sockets.RELAYD_SOCK, relayd, sock_data + struct.pack("<II", 2, 13), 56)


def test_net_family_and_proto_ops() -> None:
    # lttcomm_net_family: int family @0, 4 pad bytes, create @8
    fam = sockets.LttcommNetFamily(family=2, create=0x401000)
    assert_roundtrip(sockets.NET_FAMILY, fam, struct.pack("<i4xQ", 2, 0x401000), 16)
    ptrs = [0x1000 * i for i in range(1, 8)]
    ops = sockets.LttcommProtoOps(
        bind=ptrs[0], close=ptrs[1], connect=ptrs[2], accept=ptrs[3], listen=ptrs[4],
        recvmsg=ptrs[5], sendmsg=ptrs[6],
    )  # fmt: skip
    assert_roundtrip(sockets.PROTO_OPS, ops, struct.pack("<7Q", *ptrs), 56)


def test_public_structs_standalone() -> None:
    probe = probe_attr_bytes(0xFFFF0000, 0, "")
    probe_obj = lttng_types.LttngEventProbeAttr(addr=0xFFFF0000, offset=0, symbol_name="")
    assert_roundtrip(lttng_types.EVENT_PROBE_ATTR, probe_obj, probe, 288)
    ev = event_obj(LttngEventType.LTTNG_EVENT_FUNCTION, "kretp", probe_obj, b"", flags=3)
    assert_roundtrip(lttng_types.EVENT, ev, event_bytes(2, "kretp", attr=probe, flags=3), 584)
    # lttng_calibrate: type @0, padding[16] @4
    calibrate = lttng_types.LttngCalibrate(type=lttng_types.LttngCalibrateType(0))
    assert_roundtrip(lttng_types.CALIBRATE, calibrate, bytes(20), 20)
    # lttng_domain: LTTNG_DOMAIN_JUL (3), PER_UID (1), padding[12], attr.pid = 99
    domain_data = struct.pack("<II", 3, 1) + bytes(12) + struct.pack("<i", 99) + bytes(284)
    domain = domain_obj(LttngDomainType.LTTNG_DOMAIN_JUL, LttngBufferType.LTTNG_BUFFER_PER_UID, 99)
    assert_roundtrip(lttng_types.DOMAIN, domain, domain_data, 308)
    # lttng_session: name[255] @0, path[4096] @255, pad @4351, enabled @4352,
    # snapshot_mode @4356, live_timer_interval @4360, alignment_padding @4364, extended @4368
    session_data = (
        cstr("s", 255) + cstr("/root/lttng-traces/s", 4096) + b"\0"
        + struct.pack("<III4xQ", 1, 0, 0, 0)
    )  # fmt: skip
    session = lttng_types.LttngSession(
        name="s", path="/root/lttng-traces/s", enabled=1, snapshot_mode=0,
        live_timer_interval=0, extended=0,
    )  # fmt: skip
    assert_roundtrip(lttng_types.SESSION, session, session_data, 4376)


# ------------------------------------------------------------------- strictness


@pytest.mark.parametrize("abi", list(Abi), ids=_id)
@pytest.mark.parametrize("cmd", [1, 7, 8, 22, 37, 53, 0xFFFFFFFF], ids=hex)
def test_unknown_command_is_rejected(abi: Abi, cmd: int) -> None:
    # 1 (old CALIBRATE), 7/8/22/37 (holes), 53 (v2.13.9's MAX sentinel), -1 (MIN as u32).
    with pytest.raises(RemoteProtocolError) as info:
        SESSION_MSG[abi].parse(lsm_bytes(cmd))
    assert info.value.field == "cmd_type"
    assert info.value.offset == 0


def _unterminated_session_name() -> bytes:
    data = bytearray(lsm_bytes(LttcommSessiondCommand.LTTNG_START_TRACE))
    data[4 : 4 + 255] = b"x" * 255  # session.name[255] without its NUL
    return bytes(data)


@pytest.mark.parametrize(
    ("abi", "data", "field", "offset"),
    [
        (V2139, _unterminated_session_name(), "session.name", 4),
        (R975, lsm_bytes(0, domain=(6, 0, 0)), "domain.type", 4380),
        (V2139, lsm_bytes(0, domain=(2, 3, 0)), "domain.buf_type", 4384),
        (
            V2139,
            lsm_bytes(
                LttcommSessiondCommand.LTTNG_PROCESS_ATTR_TRACKER_SET_POLICY,
                struct.pack("<ii", 0, 3),
            ),
            "u.process_attr_tracker_set_tracking_policy.tracking_policy",
            U_OFFSET + 4,
        ),
        (
            R975,
            lsm_bytes(
                LttcommSessiondCommand.LTTNG_ENABLE_EVENT, cstr("c", 256) + struct.pack("<i", 7)
            ),
            "u.enable.event.type",
            U_OFFSET + 256,
        ),
        (
            R975,
            lsm_bytes(
                LttcommSessiondCommand.LTTNG_ADD_CONTEXT, cstr("c", 256) + struct.pack("<I", 42)
            ),
            "u.context.ctx.ctx",
            U_OFFSET + 256,
        ),
        (
            V2139,
            lsm_bytes(LttcommSessiondCommand.LTTNG_LIST_EVENTS, b"z" * 256),
            "u.list.channel_name",
            U_OFFSET,
        ),
    ],
    ids=_id,
)
def test_strict_fields_name_path_and_offset(abi: Abi, data: bytes, field: str, offset: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        SESSION_MSG[abi].parse(data)
    assert info.value.message == "lttcomm_session_msg"
    assert info.value.field == field
    assert info.value.offset == offset


@pytest.mark.parametrize("size", [0, 24, LSM_SIZE - 1, LSM_SIZE + 1])
def test_session_msg_wrong_size(size: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        SESSION_MSG[V2139].parse(bytes(size))
    assert info.value.offset == min(size, LSM_SIZE)


@pytest.mark.parametrize(
    ("spec", "data", "field"),
    [
        (client.LTTNG_MSG, struct.pack("<6I", 53, 10, 0, 0, 0, 0), "cmd_type"),
        (client.SESSION_DESTROY_COMMAND_HEADER, struct.pack("<i", 4), "rotation_state"),
        (sockets.SOCKADDR, struct.pack("<I", 2) + bytes(28), "type"),
        (sockets.SOCK, struct.pack("<iI", 3, 2) + bytes(40), "proto"),
    ],
    ids=_id,
)
def test_unknown_enum_values(spec: StructSpec[Any], data: bytes, field: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        spec.parse(data)
    assert info.value.field == field


def test_building_wrong_member_for_command_is_local_error() -> None:
    obj = lsm_obj(
        V2139,
        LttcommSessiondCommand.LTTNG_REGISTER_CONSUMER,
        client.SessionMsgList(channel_name="c"),
    )
    with pytest.raises(LocalProtocolError, match="u"):
        SESSION_MSG[V2139].build(obj)


def test_building_v2139_member_with_97535efaa_grammar_is_local_error() -> None:
    member = client.SessionMsgChannelNameLength(channel_name="c", length=0)
    obj = lsm_obj(R975, LttcommSessiondCommand.LTTNG_ENABLE_EVENT, member)
    with pytest.raises(LocalProtocolError):
        SESSION_MSG[R975].build(obj)


def test_building_sentinel_command_is_local_error() -> None:
    obj = dataclasses.replace(
        lsm_obj(V2139, LttcommSessiondCommand.LTTNG_START_TRACE, bytes(U_SIZE)),
        cmd_type=LttcommSessiondCommandV2139.__members__["LTTCOMM_SESSIOND_COMMAND_MAX"],
    )
    with pytest.raises(LocalProtocolError, match="cmd_type"):
        SESSION_MSG[V2139].build(obj)


def test_too_long_channel_name_is_local_error() -> None:
    obj = lsm_obj(
        V2139,
        LttcommSessiondCommand.LTTNG_LIST_EVENTS,
        client.SessionMsgList(channel_name="c" * 256),
    )
    with pytest.raises(LocalProtocolError, match="channel_name"):
        SESSION_MSG[V2139].build(obj)


# ------------------------------------------------------------------- properties


def _session_union(abi: Abi) -> CUnion:
    for sub in SESSION_MSG[abi].grammar.subcon.subcons:
        inner = unwrap(sub)
        if isinstance(inner, CUnion):
            return inner
    raise AssertionError("no union")


def _member_kinds() -> list[tuple[Abi, str, list[LttcommSessiondCommand]]]:
    kinds = []
    for abi in Abi:
        union = _session_union(abi)
        by_member: dict[str | None, list[LttcommSessiondCommand]] = {}
        for cmd in LttcommSessiondCommand:
            by_member.setdefault(union.cases.get(cmd), []).append(cmd)
        kinds += [(abi, member or "<raw>", cmds) for member, cmds in by_member.items()]
    return kinds


@pytest.mark.parametrize(
    ("abi", "member", "cmds"),
    _member_kinds(),
    ids=lambda v: v.value if isinstance(v, Abi) else v if isinstance(v, str) else None,
)
@settings(max_examples=10)
@given(data=st.data())
def test_property_session_msg_per_member(
    abi: Abi, member: str, cmds: list[LttcommSessiondCommand], data: st.DataObject
) -> None:
    # values_for(spec) draws cmd_type among all 43 commands and whole random unions: here
    # each member kind gets its own property, with mostly-zero raw areas (8 KiB of random
    # bytes per example would exceed Hypothesis' entropy budget).
    spec = SESSION_MSG[abi]
    union = _session_union(abi)

    def sparse(n: int) -> st.SearchStrategy[bytes]:
        return st.binary(max_size=min(n, 64)).map(lambda b: b.ljust(n, b"\0"))

    cmd = data.draw(st.sampled_from(cmds))
    if member == "<raw>":
        u, tail = data.draw(sparse(U_SIZE)), b""
    else:
        u = data.draw(strategy_for(union.members[member]))
        tail = data.draw(sparse(U_SIZE - union.member_sizes[member]))
        tail = tail if any(tail) else b""  # an all-zero tail parses to b""
    cls = client.SessionMsgV2139 if abi is V2139 else client.SessionMsgR97535efaa
    obj = cls(
        cmd_type=cmd,
        session=data.draw(strategy_for(DataclassStruct(lttng_types.LttngSession))),
        domain=data.draw(strategy_for(DataclassStruct(lttng_types.LttngDomain))),
        u=u,
        u_tail=tail,
        fd_count=data.draw(st.integers(0, 2**32 - 1)),
    )
    encoded = spec.build(obj)
    assert len(encoded) == LSM_SIZE
    assert spec.parse(encoded) == obj
    assert spec.build(spec.parse(encoded)) == encoded
