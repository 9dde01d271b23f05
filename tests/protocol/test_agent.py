"""Agent grammars: bytes and values read in sessiond-comm/agent.h and lttng-sessiond/agent.c.

Every struct of src/common/sessiond-comm/agent.h is packed, so each layout is
its members back to back; ``struct.pack(">…")`` writes them big-endian at the
offsets derived in the comments.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from tests.protocol.roundtrip import assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.peers import agent
from ustref.protocol.peers.lttng_types import LttngDomainType
from ustref.protocol.registry import REGISTRY, StructSpec

ALL_SPECS: list[StructSpec[Any]] = [
    x
    for x in vars(agent).values()
    if isinstance(x, StructSpec) and x.dc_type.__module__ == agent.__name__
]

LTTNG_LOGLEVEL_TYPE_RANGE = 1  # include/lttng/event.h
LTTNG_LOGLEVEL_JUL_ALL = -(2**31)  # include/lttng/event.h: INT32_MIN


def test_hdr() -> None:
    # data_size u64 @0, cmd u32 @8, cmd_version u32 @12 → 16
    obj = agent.AgentHdr(
        data_size=0, cmd=agent.LttcommAgentCommand.AGENT_CMD_REG_DONE, cmd_version=0
    )
    assert_roundtrip(agent.HDR, obj, struct.pack(">QII", 0, 4, 0), c_sizeof=16)


def test_enable_event() -> None:
    # loglevel_value u32 @0, loglevel_type u32 @4, name char[256] @8,
    # filter_expression_length u32 @264 → 268
    data = (
        struct.pack(">iI", LTTNG_LOGLEVEL_JUL_ALL, LTTNG_LOGLEVEL_TYPE_RANGE)
        + b"my.logger".ljust(256, b"\0")
        + struct.pack(">I", 11)
    )
    obj = agent.AgentEnableEvent(
        loglevel_value=0x80000000,
        loglevel_type=LTTNG_LOGLEVEL_TYPE_RANGE,
        name="my.logger",
        filter_expression_length=11,
    )
    assert_roundtrip(agent.ENABLE_EVENT, obj, data, c_sizeof=268)


def test_disable_event() -> None:
    # name char[256] @0 → 256
    obj = agent.AgentDisableEvent(name="my.logger")
    assert_roundtrip(agent.DISABLE_EVENT, obj, b"my.logger".ljust(256, b"\0"), c_sizeof=256)


def test_generic_reply_accepts_any_code() -> None:
    # ret_code u32 @0 → 4; log_reply_code maps out-of-enum values to "Unknown code"
    obj = agent.AgentGenericReply(ret_code=agent.LttcommAgentRetCode.AGENT_RET_CODE_UNKNOWN_NAME)
    assert_roundtrip(agent.GENERIC_REPLY, obj, struct.pack(">I", 3), c_sizeof=4)
    assert agent.GENERIC_REPLY.parse(struct.pack(">I", 99)).ret_code == 99


def test_list_reply_hdr() -> None:
    # ret_code u32 @0, data_size u32 @4 → 8
    obj = agent.AgentListReplyHdr(ret_code=1, data_size=10)
    assert_roundtrip(agent.LIST_REPLY_HDR, obj, struct.pack(">II", 1, 10), c_sizeof=8)


def test_list_reply() -> None:
    # nb_event u32 @0 → 4; payload[] @4: NUL-terminated names
    payload = b"a.b\0c.d.e\0"
    obj = agent.AgentListReply(nb_event=2, payload=payload)
    assert_roundtrip(agent.LIST_REPLY, obj, struct.pack(">I", 2) + payload, c_sizeof=4)
    assert agent.list_reply_names(obj) == ["a.b", "c.d.e"]


def test_list_reply_names_missing_nul() -> None:
    obj = agent.AgentListReply(nb_event=2, payload=b"a.b\0c")
    with pytest.raises(RemoteProtocolError) as info:
        agent.list_reply_names(obj)
    assert info.value.field == "payload"
    assert info.value.offset == 8


def test_register_msg() -> None:
    # domain @0, pid @4, major_version @8, minor_version @12 (u32, no padding) → 16
    obj = agent.AgentRegisterMsg(
        domain=LttngDomainType.LTTNG_DOMAIN_JUL, pid=1234, major_version=2, minor_version=0
    )
    # LTTNG_DOMAIN_JUL = 3, include/lttng/domain.h
    assert_roundtrip(agent.REGISTER_MSG, obj, struct.pack(">IIII", 3, 1234, 2, 0), c_sizeof=16)
    with pytest.raises(RemoteProtocolError) as info:
        agent.REGISTER_MSG.parse(struct.pack(">IIII", 9, 1234, 2, 0))
    assert info.value.field == "domain"


def test_pstring() -> None:
    # send_pstring: len u32 (big-endian), then len bytes including the NUL
    obj = agent.AgentPString(len=6, data=b"myctx\0")
    assert_roundtrip(agent.PSTRING, obj, struct.pack(">I", 6) + b"myctx\0", c_sizeof=4)


def test_unknown_command() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        agent.HDR.parse(struct.pack(">QII", 0, 7, 0))
    assert info.value.field == "cmd"
    assert info.value.offset == 8


def test_name_without_nul() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        agent.ENABLE_EVENT.parse(bytes(8) + b"x" * 256 + bytes(4))
    assert info.value.field == "name"
    assert info.value.offset == 8


@pytest.mark.parametrize("size", [0, 255, 257])
def test_wrong_size(size: int) -> None:
    with pytest.raises(RemoteProtocolError):
        agent.DISABLE_EVENT.parse(bytes(size))


def test_build_rejects_unknown_command() -> None:
    with pytest.raises(LocalProtocolError, match="cmd"):
        agent.HDR.build(agent.AgentHdr(data_size=0, cmd=0, cmd_version=0))  # type: ignore[arg-type]


def test_registered_for_both_abis() -> None:
    c_structs = {s.c_name for s in ALL_SPECS} - {agent.REGISTER_MSG.c_name, agent.PSTRING.c_name}
    assert len(c_structs) == 6  # every struct of sessiond-comm/agent.h
    for abi in (Abi.V2_13_9, Abi.R97535EFAA):
        names = {
            n for n, s in REGISTRY.structs[abi].items() if s.dc_type.__module__ == agent.__name__
        }
        assert names == c_structs
        assert REGISTRY.enums[abi]["lttcomm_agent_ret_code"] is agent.LttcommAgentRetCode
        assert REGISTRY.enums[abi]["lttcomm_agent_command"] is agent.LttcommAgentCommand
