"""``lttng_ustconsumer_request_metadata`` in ustref-consumerd's sans-IO core: the
consumer asks on the metadata socket while a command waits for its answer."""

from __future__ import annotations

from tests.consumerd.fakes import bare_channel
from ustref.consumerd.core import Core, HandlerGen, Send, Sock
from ustref.consumerd.handlers import request_metadata
from ustref.consumerd.metadata import MetadataCache
from ustref.consumerd.registry import Channel, ChannelType
from ustref.ids import SessionId
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    CONSUMER_MSG_UNION_SIZE,
    METADATA_ERROR_REPLY,
    METADATA_REQUEST_MSG,
    STATUS_MSG,
    ConsumerMsg,
    ConsumerMsgV2139,
    LttngConsumerCommand,
    MetadataRequestErrorReply,
    PushMetadataMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode

C = LttngConsumerCommand
R = LttcommReturnCode
TRIGGER = C.LTTNG_CONSUMER_SNAPSHOT_METADATA  # a command whose handler the test replaces


def _metadata_channel() -> Channel:
    channel = bare_channel(
        5,
        ChannelType.METADATA,
        session_id=SessionId(3),
        name="metadata",
        session_id_per_pid=9,
        monitor=False,
        ust_app_uid=1000,
    )
    channel.metadata_cache = MetadataCache()
    return channel


def _core(channel: Channel) -> Core:
    def asks(core: Core, msg: ConsumerMsg) -> HandlerGen:
        yield from request_metadata(core, channel)
        core.send_status(R.LTTCOMM_CONSUMERD_SUCCESS)  # the command's own answer

    core = Core(handlers={TRIGGER: asks})
    core.registry.channels[channel.key] = channel
    trigger = ConsumerMsgV2139(cmd_type=TRIGGER, u=bytes(CONSUMER_MSG_UNION_SIZE))
    core.receive(Sock.COMMAND, CONSUMER_MSG[Abi.V2_13_9].build(trigger), [], 0.0)
    return core


def _sent(core: Core) -> list[tuple[Sock, bytes]]:
    out = []
    for action in core.take_actions():
        assert isinstance(action, Send)
        out.append((action.sock, action.data))
    return out


def _status(data: bytes) -> object:
    return STATUS_MSG.parse(data).ret_code


def test_request_then_push_fills_the_cache_before_the_command_answers() -> None:
    channel = _metadata_channel()
    core = _core(channel)
    ((sock, raw),) = _sent(core)
    assert sock is Sock.METADATA
    request = METADATA_REQUEST_MSG.parse(raw)
    assert (request.key, request.session_id, request.session_id_per_pid) == (5, 3, 9)
    assert (request.uid, request.bits_per_long) == (1000, 64)
    text = b"/* CTF 1.8 */ trace { major = 1; };"
    push = ConsumerMsgV2139(
        cmd_type=C.LTTNG_CONSUMER_PUSH_METADATA,
        u=PushMetadataMember(key=5, target_offset=0, len=len(text), version=0),
    )
    # A command arriving meanwhile waits: the pending request reads the metadata socket.
    core.receive(Sock.METADATA, CONSUMER_MSG[Abi.V2_13_9].build(push), [], 0.0)
    ready = _sent(core)
    assert [(s, _status(d)) for s, d in ready] == [(Sock.METADATA, R.LTTCOMM_CONSUMERD_SUCCESS)]
    core.receive(Sock.METADATA, text[:10], [], 0.0)
    assert _sent(core) == []
    core.receive(Sock.METADATA, text[10:], [], 0.0)
    done = [(s, _status(d)) for s, d in _sent(core)]
    assert done == [
        (Sock.METADATA, R.LTTCOMM_CONSUMERD_SUCCESS),
        (Sock.COMMAND, R.LTTCOMM_CONSUMERD_SUCCESS),
    ]
    assert channel.metadata_cache is not None
    assert bytes(channel.metadata_cache.contents) == text


def test_no_registry_is_acknowledged_and_the_command_goes_on() -> None:
    channel = _metadata_channel()
    core = _core(channel)
    _sent(core)
    core.receive(Sock.METADATA, METADATA_ERROR_REPLY.build(MetadataRequestErrorReply()), [], 0.0)
    assert [(s, _status(d)) for s, d in _sent(core)] == [
        (Sock.METADATA, R.LTTCOMM_CONSUMERD_SUCCESS),
        (Sock.COMMAND, R.LTTCOMM_CONSUMERD_SUCCESS),
    ]
    assert channel.metadata_cache is not None
    assert channel.metadata_cache.size == 0


def test_a_wrong_reply_ends_the_request_without_killing_the_core() -> None:
    channel = _metadata_channel()
    core = _core(channel)
    _sent(core)
    wrong = (int(C.LTTNG_CONSUMER_INIT)).to_bytes(4, "little") + bytes(CONSUMER_MSG_UNION_SIZE)
    core.receive(Sock.METADATA, wrong, [], 0.0)
    assert _sent(core) == []
    assert not core.closed


def test_unrequested_metadata_socket_bytes_are_dropped() -> None:
    core = Core()
    core.receive(Sock.METADATA, b"stray", [], 0.0)
    assert core.take_actions() == []
    assert not core.closed


def test_the_metadata_switch_timer_asks_the_session_daemon() -> None:
    """``metadata_switch_timer`` (consumer-timer.c): a metadata channel created with a
    switch timer requests metadata at each tick; a tick during an exchange is skipped."""
    channel = _metadata_channel()
    channel.switch_timer_interval_us = 500_000
    channel.next_metadata_request = 10.0
    core = Core()
    core.registry.channels[channel.key] = channel
    assert core.next_deadline() == 10.0
    core.handle_timer(9.9)
    assert core.take_actions() == []
    core.handle_timer(10.0)
    ((sock, raw),) = _sent(core)
    assert sock is Sock.METADATA
    assert METADATA_REQUEST_MSG.parse(raw).key == channel.key
    assert core.next_deadline() == 10.5
    core.handle_timer(10.5)  # the first exchange is still waiting for its reply
    assert _sent(core) == []
    core.receive(Sock.METADATA, METADATA_ERROR_REPLY.build(MetadataRequestErrorReply()), [], 0.0)
    assert [(s, _status(d)) for s, d in _sent(core)] == [
        (Sock.METADATA, R.LTTCOMM_CONSUMERD_SUCCESS)
    ]
    core.handle_timer(11.0)
    ((sock, _raw),) = _sent(core)
    assert sock is Sock.METADATA


def test_metadata_socket_eof_ends_the_waiting_request_not_the_core() -> None:
    channel = _metadata_channel()
    core = _core(channel)
    _sent(core)
    core.receive(Sock.METADATA, b"", [], 0.0)
    assert _sent(core) == []  # the test handler did not catch: its command has no answer
    assert not core.closed
    # Nothing is left pending: later bytes on that socket are unrequested.
    core.receive(Sock.METADATA, b"stray", [], 0.0)
    assert _sent(core) == []
