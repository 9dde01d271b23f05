"""Every reply rule of the command socket, pinned by hand from the C receiver.

The expectations below were written from ``lttng_ustconsumer_recv_cmd``
(src/common/ust-consumer/ust-consumer.c @ v2.13.9; line numbers are that
file's unless another file is named), ``consumer_add_relayd_socket``
(src/common/consumer/consumer.c @ v2.13.9) and the ust-ctl senders of
lttng-ust 2.13.5 (src/lib/lttng-ust-ctl/ustctl.c) — not from ustref's
conversation table, which they check. Byte values come from the C-layout
facts (``c_layout/*.json``: enum values, struct sizes, union offsets), not
from ustref's grammars, so a table that is wrong but agrees with itself (a
status where the C sends nothing, nothing where it sends a status) fails here.
This file touches the table only through its public entry points:
:class:`~ustref.protocol.conversation.Conversation` (which decodes with it)
and :func:`~ustref.protocol.conversation.rules.following`.

The C answers at the two labels the switch jumps to: ``end_nosignal``
(lines 2288-2294: nothing is sent) and ``end_msg_sessiond`` (2296-2312: one
``consumer_send_status_msg``, i.e. a 4-byte ``lttcomm_consumer_status_msg``).
``default: break;`` (2284-2285) falls into ``end_nosignal``.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ustref.errors import RemoteProtocolError
from ustref.ids import U64_MAX
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.conversation import Conversation, Direction, Socket
from ustref.protocol.conversation.rules import INITIATORS, following

FACTS = Path(__file__).parent / "c_layout"
TO_C = Direction.TO_CONSUMERD
TO_S = Direction.TO_SESSIOND


@cache
def facts(abi: Abi) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FACTS / f"{abi.value}.json").read_text())
    return doc


def c_enum(abi: Abi, enum: str, name: str) -> int:
    return int(facts(abi)["enums"][enum][name])


def c_sizeof(abi: Abi, struct_name: str) -> int:
    return int(facts(abi)["structs"][struct_name]["size"])


def c_member(abi: Abi, struct_name: str, path: str) -> tuple[int, int]:
    """(offset, size) of member ``path`` of ``struct_name``."""
    for field in facts(abi)["structs"][struct_name]["fields"]:
        if field["name"] == path:
            return int(field["offset"]), int(field["size"])
    raise KeyError(f"{struct_name}.{path}")


def command_bytes(abi: Abi, name: str, members: dict[str, int]) -> bytes:
    """A whole ``struct lttcomm_consumer_msg``: ``cmd_type`` and the given members
    (little-endian, at their C offsets), zeros elsewhere."""
    msg = bytearray(c_sizeof(abi, "lttcomm_consumer_msg"))
    cmd_offset, cmd_size = c_member(abi, "lttcomm_consumer_msg", "cmd_type")
    value = c_enum(abi, "lttng_consumer_command", name)
    msg[cmd_offset : cmd_offset + cmd_size] = value.to_bytes(cmd_size, "little")
    for path, value in members.items():
        offset, size = c_member(abi, "lttcomm_consumer_msg", path)
        msg[offset : offset + size] = value.to_bytes(size, "little")
    return bytes(msg)


@dataclasses.dataclass(frozen=True)
class Send:
    """One ``send`` after the command: ``what`` builds its bytes for an ABI."""

    direction: Direction
    what: str
    fds: int = 0
    arg: Any = None

    def data(self, abi: Abi) -> bytes:
        if self.what == "status":
            code = c_enum(abi, "lttcomm_return_code", self.arg)
            size = c_sizeof(abi, "lttcomm_consumer_status_msg")
            return code.to_bytes(size, "little")
        if self.what == "status_channel":
            size = c_sizeof(abi, "lttcomm_consumer_status_channel")
            code = c_enum(abi, "lttcomm_return_code", self.arg)
            off, width = c_member(abi, "lttcomm_consumer_status_channel", "ret_code")
            out = bytearray(size)
            out[off : off + width] = code.to_bytes(width, "little")
            return bytes(out)
        if self.what == "int":  # C int, e.g. is_data_pending
            return struct.pack("<i", self.arg)
        if self.what == "uint64_t":
            return struct.pack("<Q", self.arg)
        if self.what == "close_trace_chunk_reply":
            path: bytes = self.arg
            size = c_sizeof(abi, "lttcomm_consumer_close_trace_chunk_reply")
            out = bytearray(size)
            off, width = c_member(abi, "lttcomm_consumer_close_trace_chunk_reply", "path_length")
            out[off : off + width] = len(path).to_bytes(width, "little")
            return bytes(out)
        if self.what == "bytes":
            return bytes(self.arg)
        if self.what == "fd":  # lttcomm_{send,recv}_fds_unix_sock: 1 dummy byte + SCM_RIGHTS
            return b"\0"
        raise AssertionError(self.what)


def status(code: str = "LTTCOMM_CONSUMERD_SUCCESS") -> Send:
    return Send(TO_S, "status", arg=code)


def fd_from_sessiond(count: int = 1) -> Send:
    return Send(TO_C, "fd", fds=count)


#: GET_CHANNEL's hand-over of a channel with two streams, as
#: send_channel_to_sessiond_and_relayd (ust-consumer.c:505-587) makes
#: lttng-ust 2.13.5 send it: lttng_ust_ctl_send_channel (ustctl.c:882-929:
#: uint64_t size, enum type, ``size`` bytes of data, 1 wakeup fd), then
#: lttng_ust_ctl_send_stream per stream (ustctl.c:932-987: uint64_t
#: memory_map_size, uint32_t stream_nr, shm fd + wakeup fd), then the NULL
#: stream (ustctl.c:1489 → 944-946: uint64_t -1).
CHANNEL_DATA = b"channel-data"
HANDOVER = (
    Send(TO_S, "uint64_t", arg=len(CHANNEL_DATA)),
    Send(TO_S, "bytes", arg=struct.pack("<i", 0)),  # enum lttng_ust_abi_chan_type: PER_CPU
    Send(TO_S, "bytes", arg=CHANNEL_DATA),
    Send(TO_S, "fd", fds=1),
    *(
        step
        for cpu in range(2)
        for step in (
            Send(TO_S, "uint64_t", arg=8192),
            Send(TO_S, "bytes", arg=struct.pack("<I", cpu)),
            Send(TO_S, "fd", fds=2),
        )
    ),
    Send(TO_S, "uint64_t", arg=U64_MAX),
)

CLOSED_PATH = b"/chunk/path\0"


@dataclasses.dataclass(frozen=True)
class Rule:
    """What the C consumer does after one command, in one situation."""

    command: str
    situation: str
    c_lines: str
    after: tuple[Send, ...]
    members: tuple[tuple[str, int], ...] = ()


#: Hand-written, one entry per command and situation (every situation whose
#: answer has a different shape).
RULES: tuple[Rule, ...] = (
    Rule(
        "LTTNG_CONSUMER_ADD_CHANNEL",
        "kernel-only command",
        "default: break (2284-2285) → end_nosignal (2288-2294)",
        (),
    ),
    Rule(
        "LTTNG_CONSUMER_ADD_STREAM",
        "kernel-only command",
        "default: break (2284-2285) → end_nosignal (2288-2294)",
        (),
    ),
    Rule(
        "LTTNG_CONSUMER_UPDATE_STREAM",
        "not implemented",
        "return -ENOSYS (1473-1476); consumer.c:3283-3291 ends the command thread",
        (),
    ),
    Rule(
        "LTTNG_CONSUMER_STOP",
        "deprecated",
        "assert(msg.cmd_type != LTTNG_CONSUMER_STOP) (1418-1419): the consumer aborts",
        (),
    ),
    Rule(
        "LTTNG_CONSUMER_ADD_RELAYD_SOCKET",
        "relayd pair set up",
        "1427-1441 → consumer.c consumer_add_relayd_socket status (3612), fd (3628), status (3691)",
        (status(), fd_from_sessiond(), status()),
    ),
    Rule(
        "LTTNG_CONSUMER_ADD_RELAYD_SOCKET",
        "allocation failed",
        "consumer.c:3590-3593 goto error → status with the error (3709), no fd",
        (status("LTTCOMM_CONSUMERD_ENOMEM"),),
    ),
    Rule(
        "LTTNG_CONSUMER_DESTROY_RELAYD",
        "unknown relayd",
        "1443-1471: ret_code = RELAYD_FAIL; goto end_msg_sessiond",
        (status("LTTCOMM_CONSUMERD_RELAYD_FAIL"),),
    ),
    Rule(
        "LTTNG_CONSUMER_DATA_PENDING",
        "answer",
        "1478-1501: lttcomm_send_unix_sock(&is_data_pending, sizeof(int)); break, no status",
        (Send(TO_S, "int", arg=1),),
    ),
    Rule(
        "LTTNG_CONSUMER_ASK_CHANNEL_CREATION",
        "created",
        "1649: consumer_send_status_channel(sock, channel); break",
        (Send(TO_S, "status_channel", arg="LTTCOMM_CONSUMERD_SUCCESS"),),
    ),
    Rule(
        "LTTNG_CONSUMER_ASK_CHANNEL_CREATION",
        "failed",
        "goto end_channel_error (2314-2334): consumer_send_status_channel(sock, NULL)",
        (Send(TO_S, "status_channel", arg="LTTCOMM_CONSUMERD_CHANNEL_FAIL"),),
    ),
    Rule(
        "LTTNG_CONSUMER_GET_CHANNEL",
        "channel with two streams",
        "1659-1715: status (545), ust-ctl channel and streams (551-578), end_msg_sessiond status",
        (status(), *HANDOVER, status()),
        (("u.get_channel.key", 7),),
    ),
    Rule(
        "LTTNG_CONSUMER_GET_CHANNEL",
        "unknown key",
        "1664-1669: CHAN_NOT_FOUND, goto end_get_channel → end_msg_sessiond (1714-1715)",
        (status("LTTCOMM_CONSUMERD_CHAN_NOT_FOUND"),),
    ),
    Rule(
        "LTTNG_CONSUMER_GET_CHANNEL",
        "relayd failed",
        "546-551 status RELAYD_FAIL, then goto end_get_channel_nosignal (1685, 1718-1719)",
        (status("LTTCOMM_CONSUMERD_RELAYD_FAIL"),),
    ),
    Rule(
        "LTTNG_CONSUMER_DESTROY_CHANNEL",
        "always",
        "1721-1731: notify_thread_del_channel; goto end_msg_sessiond",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_PUSH_METADATA",
        "metadata bytes",
        "1803-1833: status (1805), recv len bytes (1823), goto end_msg_sessiond",
        (status(), Send(TO_C, "bytes", arg=b"/* CTF 1.8 */"), status()),
        (("u.push_metadata.len", len(b"/* CTF 1.8 */")),),
    ),
    Rule(
        "LTTNG_CONSUMER_PUSH_METADATA",
        "len 0",
        "1794-1801: !len → end_push_metadata_msg_sessiond: one status",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_PUSH_METADATA",
        "unknown channel",
        "1779-1790: CHANNEL_FAIL → one status, the bytes are not read",
        (status("LTTCOMM_CONSUMERD_CHANNEL_FAIL"),),
        (("u.push_metadata.len", 5),),
    ),
    Rule(
        "LTTNG_CONSUMER_CLOSE_METADATA", "always", "1733-1742: goto end_msg_sessiond", (status(),)
    ),
    Rule(
        "LTTNG_CONSUMER_SETUP_METADATA", "always", "1837-1845: goto end_msg_sessiond", (status(),)
    ),
    Rule("LTTNG_CONSUMER_FLUSH_CHANNEL", "always", "1744-1753: goto end_msg_sessiond", (status(),)),
    Rule(
        "LTTNG_CONSUMER_SNAPSHOT_CHANNEL",
        "always",
        "1847-1893: consumer_send_status_msg (1887); break",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_SNAPSHOT_METADATA",
        "kernel-only command",
        "default: break (2284-2285) → end_nosignal (2288-2294)",
        (),
    ),
    Rule(
        "LTTNG_CONSUMER_STREAMS_SENT",
        "kernel-only command",
        "default: break (2284-2285) → end_nosignal (2288-2294)",
        (),
    ),
    Rule(
        "LTTNG_CONSUMER_DISCARDED_EVENTS",
        "answer",
        "1895-1944: lttcomm_send_unix_sock(&discarded_events, sizeof(uint64_t)) (1938); break",
        (Send(TO_S, "uint64_t", arg=3),),
    ),
    Rule(
        "LTTNG_CONSUMER_LOST_PACKETS",
        "answer",
        "1946-1995: lttcomm_send_unix_sock(&lost_packets, sizeof(uint64_t)) (1988); break",
        (Send(TO_S, "uint64_t", arg=4),),
    ),
    Rule(
        "LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL",
        "always",
        "1755-1765: goto end_msg_sessiond",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE",
        "always",
        "1997-2044: status (2005), recv 1 fd (2010), goto end_msg_sessiond",
        (status(), fd_from_sessiond(), status()),
    ),
    Rule(
        "LTTNG_CONSUMER_ROTATE_CHANNEL",
        "always",
        "2046-2099: consumer_send_status_msg (2075); break",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_INIT",
        "always",
        "2132-2144: consumer_send_status_msg (2139); break",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_CREATE_TRACE_CHUNK",
        "local trace",
        "2146-2214: relayd_id unset → status (2172), recv dirfd (2182), end_msg_sessiond",
        (status(), fd_from_sessiond(), status()),
    ),
    Rule(
        "LTTNG_CONSUMER_CREATE_TRACE_CHUNK",
        "remote trace",
        "2146-2214: relayd_id set → no fd, goto end_msg_sessiond",
        (status(),),
        (("u.create_trace_chunk.relayd_id.is_set", 1),),
    ),
    Rule(
        "LTTNG_CONSUMER_CLOSE_TRACE_CHUNK",
        "always",
        "2216-2247: reply struct (2238), then path_length bytes of path (2242); end_nosignal",
        (
            Send(TO_S, "close_trace_chunk_reply", arg=CLOSED_PATH),
            Send(TO_S, "bytes", arg=CLOSED_PATH),
        ),
    ),
    Rule(
        "LTTNG_CONSUMER_TRACE_CHUNK_EXISTS",
        "always",
        "2249-2259: goto end_msg_sessiond",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_CLEAR_CHANNEL",
        "always",
        "2103-2130: consumer_send_status_msg (2125); break",
        (status(),),
    ),
    Rule(
        "LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS",
        "always",
        "2261-2282: goto end_msg_sessiond",
        (status(),),
    ),
)

#: The commands after which the consumer daemon answers nothing at all.
SILENT = {
    "LTTNG_CONSUMER_ADD_CHANNEL",
    "LTTNG_CONSUMER_ADD_STREAM",
    "LTTNG_CONSUMER_UPDATE_STREAM",
    "LTTNG_CONSUMER_STOP",
    "LTTNG_CONSUMER_SNAPSHOT_METADATA",
    "LTTNG_CONSUMER_STREAMS_SENT",
}


def rule_id(rule: Rule) -> str:
    return f"{rule.command.removeprefix('LTTNG_CONSUMER_')}:{rule.situation}"


def exchange(abi: Abi, rule: Rule) -> list[tuple[Direction, bytes, int]]:
    command = command_bytes(abi, rule.command, dict(rule.members))
    return [(TO_C, command, 0)] + [(s.direction, s.data(abi), s.fds) for s in rule.after]


def replay(abi: Abi, sends: list[tuple[Direction, bytes, int]]) -> Conversation:
    conv = Conversation(abi)
    for direction, data, fds in sends:
        conv.observe(Socket.COMMAND, direction, data, fds)
    conv.finish()
    return conv


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_every_command_of_the_c_enum_has_a_hand_written_rule(abi: Abi) -> None:
    commands = set(facts(abi)["enums"]["lttng_consumer_command"])
    assert len(commands) == 28
    assert {rule.command for rule in RULES} == commands
    assert {rule.command for rule in RULES if not rule.after} == SILENT


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_the_table_accepts_exactly_what_the_c_sends(abi: Abi, rule: Rule) -> None:
    sends = exchange(abi, rule)
    events = Conversation(abi).observe(Socket.COMMAND, TO_C, sends[0][1], 0)
    assert [e.step for e in events][:1] == ["command"]
    assert events[0].exchange == rule.command
    # The whole C exchange decodes, and nothing is left waiting.
    replay(abi, sends)


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_the_table_rejects_one_status_more(abi: Abi, rule: Rule) -> None:
    """A consumer that sent one more status than the C does breaks the conversation."""
    sends = [*exchange(abi, rule), (TO_S, status().data(abi), 0)]
    with pytest.raises(RemoteProtocolError):
        replay(abi, sends)


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("rule", [r for r in RULES if r.after], ids=rule_id)
def test_the_table_rejects_the_exchange_cut_short(abi: Abi, rule: Rule) -> None:
    """Without the C's last send, the exchange is unfinished at end of input."""
    sends = exchange(abi, rule)[:-1]
    with pytest.raises(RemoteProtocolError):
        replay(abi, sends)


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("command", sorted(SILENT | {r.command for r in RULES}))
def test_following_is_empty_exactly_for_the_silent_commands(abi: Abi, command: str) -> None:
    value = SimpleNamespace(cmd_type=c_enum(abi, "lttng_consumer_command", command))
    steps = following(abi, Socket.COMMAND, value)
    assert (steps == ()) == (command in SILENT)
    # The command socket's exchanges are opened by the session daemon's message.
    assert INITIATORS[Socket.COMMAND].direction is TO_C


# -- the metadata socket ---------------------------------------------------------------


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("tail", [0, 0x07], ids=["zero-tail", "nonzero-tail"])
def test_metadata_reply_no_registry_is_decided_by_cmd_type_alone(abi: Abi, tail: int) -> None:
    """lttng_ustconsumer_request_metadata (ust-consumer.c:3380-3395) receives a whole
    lttcomm_consumer_msg and looks only at ``cmd_type``: ``LTTNG_ERR_UND`` means no
    registry (one status back), whatever the union bytes hold."""
    request_size = c_sizeof(abi, "lttcomm_metadata_request_msg")
    reply = bytearray(c_sizeof(abi, "lttcomm_consumer_msg"))
    und = c_enum(abi, "lttng_error_code", "LTTNG_ERR_UND")
    reply[0:4] = und.to_bytes(4, "little")
    reply[4] = tail  # the first byte of the union
    conv = Conversation(abi)
    events = conv.observe(Socket.METADATA, TO_S, bytes(request_size), 0)
    events += conv.observe(Socket.METADATA, TO_C, bytes(reply), 0)
    events += conv.observe(Socket.METADATA, TO_S, status().data(abi), 0)
    conv.finish()
    assert [e.step for e in events] == ["request", "reply", "status.ready"]
    assert int(events[1].value.cmd_type) == und
    assert type(events[1].value.cmd_type).__name__ == "LttngErrorCode"
