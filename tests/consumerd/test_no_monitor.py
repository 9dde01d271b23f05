"""Channels without ``monitor`` (sessions created with ``--no-output``, recorded
only by ``lttng snapshot record``): their streams never enter the data or
metadata thread, so nothing consumes them between snapshots and DATA_PENDING
does not wait for them (ust-consumer.c 1692-1705, consumer.c
``consumer_data_pending``). No LTTng daemon runs."""

from __future__ import annotations

from typing import cast

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.test_testpoint import _stream
from ustref.consumerd import streams
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import Send
from ustref.consumerd.registry import ChannelType
from ustref.consumerd.ring_backend import UstChannel, UstStream
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    LOST_PACKETS_REPLY,
    ConsumerMsgV2139,
    KeyArgs,
    LttngConsumerCommand,
    SessionChannelArgs,
    SessionIdArgs,
)
from ustref.protocol.lttng_error import LttcommReturnCode


def test_streams_of_an_unmonitored_channel_are_neither_polled_nor_drained() -> None:
    core = Core()
    watched, watched_reader = _stream(core, 1, ChannelType.DATA, wait_fd=100)
    alone, alone_reader = _stream(core, 2, ChannelType.DATA, wait_fd=101)
    alone.channel.monitor = False
    assert set(core.watched()) == {100}
    core.drain(alone)
    core.drain(watched)
    assert alone_reader.reads == 0
    assert watched_reader.reads > 0


def test_data_pending_ignores_unmonitored_channels() -> None:
    core = Core()
    alone, alone_reader = _stream(core, 2, ChannelType.DATA, wait_fd=101)
    alone.channel.monitor = False
    msg = ConsumerMsgV2139(
        cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING,
        u=SessionIdArgs(session_id=int(alone.channel.session_id)),
    )
    (reply,) = Driver(core).command(CONSUMER_MSG[Abi.V2_13_9].build(msg))
    assert isinstance(reply, Send)
    assert DATA_PENDING_REPLY.parse(reply.data).is_data_pending == 0
    assert alone_reader.reads == 0


class _Ust:
    """Stands in for the ust-ctl channel and stream handles: records destruction."""

    def __init__(self) -> None:
        self.destroyed = False

    def destroy(self) -> None:
        self.destroyed = True

    def close_wakeup_fd(self) -> None:
        pass

    def next_deadline(self) -> None:
        return None


def test_an_unmonitored_channel_is_deleted_when_its_wait_fd_hangs_up() -> None:
    """consumer_add_channel puts every data channel with a wait fd in the channel
    thread; at hang-up an unmonitored one (refcount 1) is deleted with its streams."""
    core = Core()
    stream, _ = _stream(core, 3, ChannelType.DATA, wait_fd=102)
    channel = stream.channel
    channel.monitor = False
    channel.ust = cast(UstChannel, _Ust())
    stream.ust = cast(UstStream, _Ust())
    channel.wait_fd = 103
    channel.sent_to_sessiond = True
    assert core.watched() == {103: channel}
    core.channel_hangup(channel, 0)
    assert channel.key not in core.registry.channels
    assert cast(_Ust, channel.ust).destroyed
    assert cast(_Ust, stream.ust).destroyed


def test_hash_table_commands_do_not_see_unmonitored_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FLUSH_CHANNEL and CLEAR_QUIESCENT_CHANNEL walk ``stream_per_chan_id_ht``,
    DISCARDED_EVENTS and LOST_PACKETS ``stream_list_ht`` (ust-consumer.c): an unmonitored
    channel's streams are in neither, so nothing is flushed or changed and the counts
    are 0 although the channel counted lost packets."""
    core = Core()
    stream, _reader = _stream(core, 5, ChannelType.DATA, wait_fd=-1)
    channel = stream.channel
    channel.monitor = False
    channel.lost_packets = channel.discarded_events = 3
    stream.quiescent = True
    flushed: list[object] = []
    monkeypatch.setattr(streams, "flush", lambda s, producer_active: flushed.append(s))
    driver = Driver(core)

    def build(cmd: LttngConsumerCommand, u: object) -> bytes:
        return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]

    ok = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    flush = build(LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL, KeyArgs(key=5))
    assert driver.statuses(driver.command(flush)) == [ok]
    assert flushed == []
    clear = build(LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL, KeyArgs(key=5))
    assert driver.statuses(driver.command(clear)) == [ok]
    assert stream.quiescent is True
    args = SessionChannelArgs(session_id=int(channel.session_id), channel_key=5)
    (lost,) = driver.command(build(LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS, args))
    assert isinstance(lost, Send)
    assert LOST_PACKETS_REPLY.parse(lost.data).lost_packets == 0
    (discarded,) = driver.command(build(LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS, args))
    assert isinstance(discarded, Send)
    assert DISCARDED_EVENTS_REPLY.parse(discarded.data).discarded_events == 0
