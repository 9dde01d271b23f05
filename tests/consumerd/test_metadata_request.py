"""``lttng_ustconsumer_request_metadata`` in ustref-consumerd's sans-IO core: the
consumer asks on the metadata socket while a command waits for its answer."""

from __future__ import annotations

from collections.abc import Sequence

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import bare_channel
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import HandlerGen, Send, Sock
from ustref.consumerd.handlers import request_metadata
from ustref.consumerd.metadata import MetadataCache
from ustref.consumerd.registry import Channel, ChannelType
from ustref.consumerd.state import ConsumerState
from ustref.ids import SessionId
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    CONSUMER_MSG_UNION_SIZE,
    ERROR_SOCKET_CODE,
    METADATA_ERROR_REPLY,
    METADATA_REQUEST_MSG,
    STATUS_MSG,
    ConsumerMsg,
    ConsumerMsgV2139,
    InitMember,
    LttngConsumerCommand,
    MetadataRequestErrorReply,
    PushMetadataMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.ring.timers import PeriodicTimer

TRIGGER = (
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL
)  # a command whose handler the test replaces
TRIGGER_RAW = int(TRIGGER).to_bytes(4, "little") + bytes(CONSUMER_MSG_UNION_SIZE)


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


def _core(channel: Channel, *, observe: bool = True) -> Driver:
    """A driver whose core answers TRIGGER by asking for metadata, TRIGGER sent: its
    actions wait in ``driver.pending``."""

    def asks(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
        yield from request_metadata(state, channel)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)  # the command's own answer

    core = Core(handlers={TRIGGER: asks})
    core.registry.channels[channel.key] = channel
    driver = Driver(core, observe=observe)
    driver.pending = driver.command(TRIGGER_RAW)
    return driver


def _sent(driver: Driver, sock: Sock | None = None, data: bytes = b"") -> list[tuple[Sock, bytes]]:
    """What the core sent: the actions pending, or those caused by ``data`` on ``sock``."""
    actions = driver.feed(sock, data) if sock is not None else driver.pending
    driver.pending = []
    return _sent_in(actions)


def _sent_by(driver: Driver) -> list[tuple[Sock, bytes]]:
    out = []
    for action in driver.actions():
        assert isinstance(action, Send) and isinstance(action.sock, Sock)
        out.append((action.sock, action.data))
    return out


def _status(data: bytes) -> object:
    return STATUS_MSG.parse(data).ret_code


def test_request_then_push_fills_the_cache_before_the_command_answers() -> None:
    channel = _metadata_channel()
    driver = _core(channel)
    ((sock, raw),) = _sent(driver)
    assert sock is Sock.METADATA
    request = METADATA_REQUEST_MSG.parse(raw)
    assert (request.key, request.session_id, request.session_id_per_pid) == (5, 3, 9)
    assert (request.uid, request.bits_per_long) == (1000, 64)
    text = b"/* CTF 1.8 */ trace { major = 1; };"
    push = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA,
        u=PushMetadataMember(key=5, target_offset=0, len=len(text), version=0),
    )
    # A command arriving meanwhile waits: the pending request reads the metadata socket.
    ready = _sent(driver, Sock.METADATA, CONSUMER_MSG[Abi.V2_13_9].build(push))
    assert [(s, _status(d)) for s, d in ready] == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    ]
    assert _sent(driver, Sock.METADATA, text[:10]) == []
    done = [(s, _status(d)) for s, d in _sent(driver, Sock.METADATA, text[10:])]
    assert done == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
    ]
    assert channel.metadata_cache is not None
    assert bytes(channel.metadata_cache.contents) == text


def test_no_registry_is_acknowledged_and_the_command_goes_on() -> None:
    channel = _metadata_channel()
    driver = _core(channel)
    _sent(driver)
    error = METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())
    assert [(s, _status(d)) for s, d in _sent(driver, Sock.METADATA, error)] == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
    ]
    assert channel.metadata_cache is not None
    assert channel.metadata_cache.size == 0


def test_a_wrong_reply_ends_the_request_without_killing_the_core() -> None:
    channel = _metadata_channel()
    driver = _core(channel, observe=False)  # the session daemon breaks the table here
    _sent(driver)
    wrong = (int(LttngConsumerCommand.LTTNG_CONSUMER_INIT)).to_bytes(4, "little") + bytes(
        CONSUMER_MSG_UNION_SIZE
    )
    # The error boundary answers the command's failure status (SNAPSHOT_CHANNEL's).
    assert [(s, _status(d)) for s, d in _sent(driver, Sock.METADATA, wrong)] == [
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED)
    ]
    core = driver.core
    assert not core.closed
    assert core.in_flight(Sock.METADATA) is None and core.in_flight(Sock.COMMAND) is None


def test_unrequested_metadata_socket_bytes_are_dropped() -> None:
    driver = Driver(observe=False)  # the session daemon breaks the table here
    assert driver.feed(Sock.METADATA, b"stray") == []
    assert not driver.core.closed


SECOND = 1_000_000_000  # one second of the fake clock, in ns


def test_the_metadata_switch_timer_asks_the_session_daemon() -> None:
    """``metadata_switch_timer`` (consumer-timer.c): a metadata channel created with a
    switch timer requests metadata at each tick, on the timer's grid; a tick while the
    metadata slot is busy is skipped. Time is the driver's integer clock only."""
    channel = _metadata_channel()
    channel.switch_timer_interval_us = 500_000
    channel.metadata_timer = PeriodicTimer.armed(10 * SECOND - SECOND // 2, SECOND // 2)
    driver = Driver(now=9 * SECOND)
    driver.core.registry.channels[channel.key] = channel
    assert driver.core.next_deadline() == 10 * SECOND
    assert driver.tick(10 * SECOND - 1) == []
    ((sock, raw),) = _sent_by_tick(driver, 10 * SECOND)
    assert sock is Sock.METADATA
    assert METADATA_REQUEST_MSG.parse(raw).key == channel.key
    assert driver.core.next_deadline() == 10 * SECOND + SECOND // 2
    assert driver.tick(10 * SECOND + SECOND // 2) == []  # the first exchange still waits
    error = METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())
    assert [(s, _status(d)) for s, d in _sent_in(driver.feed(Sock.METADATA, error))] == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    ]
    # Late: three periods missed coalesce into one firing, the grid is kept.
    ((sock, _raw),) = _sent_by_tick(driver, 12 * SECOND + SECOND // 4)
    assert sock is Sock.METADATA
    assert driver.core.next_deadline() == 12 * SECOND + SECOND // 2


def _sent_in(actions: Sequence[object]) -> list[tuple[Sock, bytes]]:
    out = []
    for action in actions:
        assert isinstance(action, Send) and isinstance(action.sock, Sock)
        out.append((action.sock, action.data))
    return out


def _sent_by_tick(driver: Driver, now: int) -> list[tuple[Sock, bytes]]:
    return _sent_in(list(driver.tick(now)))


def test_commands_are_answered_while_a_timer_request_waits() -> None:
    """One exchange slot per socket: the metadata switch timer's request waits in the
    metadata slot while the command slot goes on answering commands."""
    channel = _metadata_channel()
    channel.metadata_timer = PeriodicTimer.armed(0, SECOND)
    driver = Driver()
    driver.core.registry.channels[channel.key] = channel
    ((sock, _raw),) = _sent_by_tick(driver, SECOND)
    assert sock is Sock.METADATA
    assert driver.core.in_flight(Sock.METADATA) is not None
    init = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_INIT, u=InitMember(sessiond_uuid=bytes(16))
    )
    replies = _sent_in(driver.command(CONSUMER_MSG[Abi.V2_13_9].build(init)))
    assert [(s, _status(d)) for s, d in replies] == [
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    ]
    assert driver.core.in_flight(Sock.METADATA) is not None  # still waiting
    error = METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())
    assert [(s, _status(d)) for s, d in _sent_in(driver.feed(Sock.METADATA, error))] == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    ]
    assert driver.core.in_flight(Sock.METADATA) is None


def test_a_command_needing_the_metadata_socket_queues_behind_the_timer() -> None:
    """A command whose handler asks for metadata (SNAPSHOT_CHANNEL → request_metadata)
    while the timer's request holds the metadata slot waits in that slot's queue,
    holding the command slot; once the timer's exchange ends it sends its request.
    (The session daemon serves the two requests one after the other — see
    spec/core.md, "Can the session daemon wait on us?")"""
    channel = _metadata_channel()
    channel.metadata_timer = PeriodicTimer.armed(0, SECOND)
    core = _core_without_trigger(channel)
    driver = Driver(core)
    ((sock, _raw),) = _sent_by_tick(driver, SECOND)
    assert sock is Sock.METADATA
    assert driver.command(TRIGGER_RAW) == []  # queued
    assert core.in_flight(Sock.COMMAND) == TRIGGER.name
    error = METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())
    first = _sent_in(driver.feed(Sock.METADATA, error))
    # The timer's exchange ends (its status), the command's request goes out at once.
    assert [s for s, _ in first] == [Sock.METADATA, Sock.METADATA]
    assert _status(first[0][1]) == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    assert METADATA_REQUEST_MSG.parse(first[1][1]).key == channel.key
    second = _sent_in(driver.feed(Sock.METADATA, error))
    assert [(s, _status(d)) for s, d in second] == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
    ]
    assert core.in_flight(Sock.COMMAND) is None and core.in_flight(Sock.METADATA) is None


def _core_without_trigger(channel: Channel) -> Core:
    def asks(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
        yield from request_metadata(state, channel)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)

    core = Core(handlers={TRIGGER: asks})
    core.registry.channels[channel.key] = channel
    return core


def test_metadata_socket_eof_ends_the_waiting_request_not_the_core() -> None:
    channel = _metadata_channel()
    driver = _core(channel, observe=False)  # stray bytes after EOF break the table
    _sent(driver)
    # A reply cut short by EOF is C's short read (lttng_ustconsumer_request_metadata):
    # ERROR_RECV_CMD on the error socket, and the request returns as done, so the
    # command goes on and answers.
    sent = _sent(driver, Sock.METADATA, b"")
    assert [s for s, _ in sent] == [Sock.ERROR, Sock.COMMAND]
    code = ERROR_SOCKET_CODE.parse(sent[0][1]).code
    assert code is LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_RECV_CMD
    assert _status(sent[1][1]) == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    assert not driver.core.closed
    # Nothing is left pending: later bytes on that socket are unrequested.
    assert _sent(driver, Sock.METADATA, b"stray") == []
    # A later request fails: the socket is closed (C's send fails).
    assert [(s, _status(d)) for s, d in _sent_in(driver.command(TRIGGER_RAW))] == [
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED)
    ]


def test_push_metadata_is_answered_while_the_timer_request_waits() -> None:
    """The session daemon's side (spec/core.md, "Can the session daemon wait on us?"):
    ``push_metadata`` (ust-app.c 800-834) holds the registry lock while it waits for
    PUSH_METADATA's replies on the command socket, and the thread that would answer our
    metadata request needs that lock (ust-consumer.c 496-498). So PUSH_METADATA must
    be answered in full while the timer's request waits; then the request's answer
    comes and is served."""
    channel = _metadata_channel()
    channel.metadata_timer = PeriodicTimer.armed(0, SECOND)
    driver = Driver()
    driver.core.registry.channels[channel.key] = channel
    ((sock, _raw),) = _sent_by_tick(driver, SECOND)
    assert sock is Sock.METADATA
    text = b"/* CTF 1.8 */"
    push = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA,
        u=PushMetadataMember(key=5, target_offset=0, len=len(text), version=0),
    )
    first = _sent_in(driver.command(CONSUMER_MSG[Abi.V2_13_9].build(push)))
    second = _sent_in(driver.command(text))
    assert [(s, _status(d)) for s, d in first + second] == [
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        (Sock.COMMAND, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
    ]
    assert channel.metadata_cache is not None and bytes(channel.metadata_cache.contents) == text
    # The registry lock is free again: the session daemon answers the request.
    nothing_new = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA,
        u=PushMetadataMember(key=5, target_offset=len(text), len=0, version=0),
    )
    done = _sent_in(driver.feed(Sock.METADATA, CONSUMER_MSG[Abi.V2_13_9].build(nothing_new)))
    assert [(s, _status(d)) for s, d in done] == [
        (Sock.METADATA, LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    ]
    assert driver.core.in_flight(Sock.METADATA) is None
