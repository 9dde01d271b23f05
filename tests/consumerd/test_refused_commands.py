"""Commands the strict decode refuses get an answer: an enum value out of its enum.

The C consumer reads every enum field of ``lttcomm_consumer_msg`` as the integer it is
and meets a bad one in the command's own code: ASK_CHANNEL_CREATION's ``output`` makes
``consumer_allocate_channel`` return NULL, so ``end_channel_error`` answers a status
channel carrying CHANNEL_FAIL (past its ``assert(0)``; reproducer crash-283a072f4fa1);
its ``type`` goes to ``error_fatal`` (reproducer crash-798ab06c3bc2), where ustref
answers the same failure reply and stays up. ustref's strict decode refuses such a
message (``RemoteProtocolError``); the core used to drop it without a word, and now
answers the command's failure reply (``Behaviour.on_error``, in its reply's shape) and
serves the next command (``Core._refuse``). An unknown ``cmd_type`` and STOP get
nothing, as C's ``default: break`` gives nothing; an unset optional's value is not read
(``decode_command``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.test_channels import _ask as ask
from ustref.consumerd.behaviour import BEHAVIOUR
from ustref.consumerd.core import failure_reply
from ustref.consumerd.decode import decode_command
from ustref.consumerd.exchange import Action, Send, Sock
from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    CONSUMER_MSG_UNION_SIZE,
    STATUS_CHANNEL,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    InitMember,
    LttngConsumerCommand,
    LttngTraceChunkCommandType,
    OptionalTraceChunkCommand,
    OptionalU64,
)
from ustref.protocol.fields import CUnion, StrictEnum, unwrap
from ustref.protocol.layout import walk
from ustref.protocol.lttng_error import LttcommReturnCode

ABI = Abi.V2_13_9
FINDINGS = Path(__file__).resolve().parents[2] / "spec" / "findings"
Cmd = LttngConsumerCommand

#: The offsets of ``ask_channel.output`` and ``.type`` in the message.
_FIELDS = {f.name: f for f in walk(CONSUMER_MSG[ABI].grammar)}


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[ABI].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _with(raw: bytes, field: str, value: int, *, signed: bool = True) -> bytes:
    """``raw`` with the integer ``field`` set to ``value``."""
    f = _FIELDS[field]
    return (
        raw[: f.offset] + value.to_bytes(f.size, "little", signed=signed) + raw[f.offset + f.size :]
    )


def _served(driver: Driver) -> None:
    init = _msg(Cmd.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(range(16))))
    assert driver.statuses(driver.command(init)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    assert not driver.core.closed


def _channel_fail(actions: Sequence[Action]) -> None:
    """One status channel carrying CHANNEL_FAIL, key 0, no stream
    (``consumer_send_status_channel(sock, NULL)``)."""
    (reply,) = actions
    assert isinstance(reply, Send) and reply.sock is Sock.COMMAND
    status = STATUS_CHANNEL.parse(reply.data)
    assert len(reply.data) == STATUS_CHANNEL.size
    assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL
    assert (status.key, status.stream_count) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("u.ask_channel.output", 2),  # past LTTNG_EVENT_MMAP
        ("u.ask_channel.output", -1),
        ("u.ask_channel.type", 2),  # past LTTNG_UST_ABI_CHAN_METADATA
        ("u.ask_channel.type", 0x7FFFFFFF),
    ],
)
def test_ask_channel_with_an_enum_out_of_range_answers_channel_fail(field: str, value: int) -> None:
    driver = Driver(observe=False)  # the observer rightly refuses the value too
    _channel_fail(driver.command(_with(ask(5, metadata=False), field, value)))
    assert 5 not in driver.core.registry.channels
    _served(driver)


@pytest.mark.parametrize("name", ["crash-283a072f4fa1", "crash-798ab06c3bc2"])
def test_the_reproducers_ask_channel_answers_channel_fail(name: str) -> None:
    """The committed reproducers' messages (the first ``lttcomm_consumer_msg`` of each)."""
    doc = json.loads((FINDINGS / f"{name}.json").read_text())
    (action,) = doc["actions"]
    raw = bytes.fromhex(action["data_hex"])[:CONSUMER_MSG_SIZE]
    with pytest.raises(RemoteProtocolError, match="is not a value of enum"):
        decode_command(ABI, raw)
    driver = Driver(observe=False)
    _channel_fail(driver.command(raw))
    _served(driver)


def _enum_fields() -> list[tuple[LttngConsumerCommand, str]]:
    """Every (command, enum field of the member it selects) of the grammar."""
    fields = list(walk(CONSUMER_MSG[ABI].grammar))
    (union,) = [f for f in fields if f.name == "u"]
    selector: CUnion = unwrap(union.construct)
    out = []
    for cmd in LttngConsumerCommand:
        member = selector.member_for_key(cmd)
        if member is None:
            continue
        out += [
            (cmd, f.name)
            for f in fields
            if f.name.startswith(f"u.{member}.") and isinstance(unwrap(f.construct), StrictEnum)
        ]
    return out


ENUM_FIELDS = _enum_fields()


def test_the_grammar_has_the_enum_fields_c_reads() -> None:
    assert (Cmd.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, "u.ask_channel.output") in ENUM_FIELDS
    assert (Cmd.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, "u.relayd_sock.type") in ENUM_FIELDS
    assert (
        Cmd.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK,
        "u.close_trace_chunk.close_command.value",
    ) in ENUM_FIELDS


@pytest.mark.parametrize(("cmd", "field"), ENUM_FIELDS, ids=lambda x: getattr(x, "name", x))
def test_every_enum_out_of_range_gets_the_commands_failure_reply(
    cmd: LttngConsumerCommand, field: str
) -> None:
    """All ones in the field (no member of these enums), an optional marked set: the
    command's failure reply as :func:`failure_reply` builds it (``on_error`` in the
    shape of the command's reply), or nothing for a command C answers nothing."""
    raw = int(cmd).to_bytes(4, "little") + bytes(CONSUMER_MSG_SIZE - 4)
    size = _FIELDS[field].size
    raw = _with(raw, field, (1 << (8 * size)) - 1, signed=False)
    flag = field.removesuffix(".value") + ".is_set"
    if flag in _FIELDS:
        raw = _with(raw, flag, 1, signed=False)
    with pytest.raises(RemoteProtocolError):
        decode_command(ABI, raw)
    driver = Driver(observe=False)
    actions = driver.command(raw)
    expected = failure_reply(ABI, cmd, 0)
    if BEHAVIOUR[cmd].on_error is None:
        assert expected is None and actions == []
    else:
        assert [a.data for a in actions if isinstance(a, Send)] == [expected]
    _served(driver)


def test_an_unknown_command_type_and_stop_get_nothing() -> None:
    """C's ``default: break;`` and ``end_nosignal``: no reply (STOP, past its assert,
    has no case either)."""
    driver = Driver(observe=False)
    for cmd_type in (9999, len(LttngConsumerCommand) + 1, 0xFFFFFFFF):
        assert driver.command(cmd_type.to_bytes(4, "little") + bytes(CONSUMER_MSG_SIZE - 4)) == []
    stop = _msg(Cmd.LTTNG_CONSUMER_STOP, bytes(CONSUMER_MSG_UNION_SIZE))
    assert driver.command(stop) == []
    _served(driver)


def _close(is_set: int, value: int) -> bytes:
    member = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        session_id=1,
        chunk_id=7,
        close_timestamp=0,
        close_command=OptionalTraceChunkCommand(is_set=is_set, value=0),  # type: ignore[arg-type]
    )
    raw = _msg(Cmd.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, member)
    return _with(raw, "u.close_trace_chunk.close_command.value", value, signed=False)


def test_an_unset_optional_enum_is_not_read() -> None:
    """CLOSE_TRACE_CHUNK with ``close_command.is_set`` = 0 and a value out of the enum:
    C passes ``is_set ? &close_command : NULL`` and never reads it; so neither does
    ``decode_command`` (the enum's first member stands in), and the close goes on
    (an unknown chunk: UNKNOWN_TRACE_CHUNK). Set, the same value is refused."""
    unset = decode_command(ABI, _close(0, 0xFFFFFFFF))
    assert isinstance(unset.u, CloseTraceChunkMember)
    assert unset.u.close_command == OptionalTraceChunkCommand(
        is_set=0, value=LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED
    )
    with pytest.raises(RemoteProtocolError, match=r"close_command\.value"):
        decode_command(ABI, _close(1, 0xFFFFFFFF))
    driver = Driver(observe=False)
    (reply,) = driver.command(_close(0, 0xFFFFFFFF))
    assert isinstance(reply, Send)
    parsed = CLOSE_TRACE_CHUNK_REPLY.parse(reply.data)
    assert parsed.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    (failed,) = driver.command(_close(1, 0xFFFFFFFF))
    assert isinstance(failed, Send)
    assert failed.data == failure_reply(ABI, Cmd.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, 0)
    _served(driver)


def test_a_message_in_range_decodes_as_before() -> None:
    raw = _close(0, 0)
    assert decode_command(ABI, raw) == CONSUMER_MSG[ABI].parse(raw)
