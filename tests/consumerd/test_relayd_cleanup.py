"""A relay daemon connection that fails (``lttng_consumer_cleanup_relayd``) in the
sans-IO core: the pair goes, its streams stop being sent and are deleted, other
relays and local streams go on, and later commands answer what the C consumer
answers once the pair is gone from its relayd table."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import bare_channel
from tests.consumerd.test_relayd_client import PACKET_INDEX, _subbuf
from tests.consumerd.test_relayd_sockets import _add, _is_open
from ustref.consumerd import handlers
from ustref.consumerd import relayd as client
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import Action, RelaydSock, Send, SendRelaydData, Sock
from ustref.consumerd.registry import Channel, ChannelType, Stream
from ustref.consumerd.relay_cleanup import cleanup_relayd
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import UstStream
from ustref.ids import ChannelKey, RelaydId, SessionId, StreamKey
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    DATA_PENDING_REPLY,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    DestroyRelaydMember,
    KeyArgs,
    LttngConsumerCommand,
    LttngStreamType,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    RotateChannelMember,
    SessionIdArgs,
    TraceChunkExistsMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.relayd import (
    GENERIC_REPLY,
    HDR,
    LttcommRelaydCommand,
    RelaydGenericReply,
)

NET = 3  # the relay index and session of test_relayd_sockets._add
SESSION = 7


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


class NoStream:
    """Stands in for a ust-ctl stream: records its destruction."""

    destroyed = False

    def destroy(self) -> None:
        self.destroyed = True


@dataclass
class Streamed:
    driver: Driver
    data: Channel
    metadata: Channel
    control: int
    data_fd: int

    @property
    def outputs(self) -> list[RelayOutput]:
        return [
            s.output
            for c in (self.data, self.metadata)
            for s in c.streams
            if isinstance(s.output, RelayOutput)
        ]


def _stream(driver: Driver, channel: Channel, cpu: int, relay_stream_id: int) -> Stream:
    """A stream announced to relay ``NET`` and handed to its thread, as GET_CHANNEL
    (or SETUP_METADATA) leaves it."""
    core = driver.core
    stream = Stream(
        key=StreamKey(relay_stream_id),
        channel=channel,
        cpu=cpu,
        ust=cast(UstStream, NoStream()),
        wait_fd=-1,
    )
    relay_output(core, stream, NET, relay_stream_id)
    channel.streams.append(stream)
    return stream


def relay_output(core: Core, stream: Stream, net: int, relay_stream_id: int) -> RelayOutput:
    """``stream`` announced to relay ``net`` and handed to its thread: its relay output,
    holding a reference on the relay pair as GET_CHANNEL (or SETUP_METADATA) leaves it."""
    pair = core.registry.relayds[RelaydId(net)]
    pair.refcount += 1
    output = RelayOutput(
        core,
        client.Relayd(RelaydSock(net), 2, 13),
        name=stream.name,
        relay_stream_id=relay_stream_id,
        metadata=stream.channel.type is ChannelType.METADATA,
        on_closed=handlers._closer(core, pair, RelaydId(net)),
        on_error=lambda: cleanup_relayd(core, RelaydId(net)),
    )
    output.in_thread = True
    stream.output = output
    return output


@pytest.fixture
def streamed() -> Iterator[Streamed]:
    """Relay ``NET`` of session ``SESSION`` with a data channel (two streams) and a
    metadata channel streaming to it."""
    driver = Driver(observe=False)
    control, peer1 = os.pipe()
    data, peer2 = os.pipe()
    _add(driver, LttngStreamType.LTTNG_STREAM_CONTROL, control)
    _add(driver, LttngStreamType.LTTNG_STREAM_DATA, data)
    relayd = RelaydId(NET)
    chan = bare_channel(4, ChannelType.DATA, relayd_id=relayd, session_id=SessionId(SESSION))
    meta = bare_channel(5, ChannelType.METADATA, relayd_id=relayd, session_id=SessionId(SESSION))
    chan.sent_to_sessiond = True
    for channel in (chan, meta):
        driver.core.registry.channels[channel.key] = channel
    _stream(driver, chan, 0, 10)
    _stream(driver, chan, 1, 11)
    _stream(driver, meta, 0, 12)
    try:
        yield Streamed(driver, chan, meta, control, data)
    finally:
        for fd in (peer1, peer2):
            os.close(fd)


def _relay_sends(actions: list[Action]) -> list[Action]:
    return [
        a
        for a in actions
        if isinstance(a, SendRelaydData) or (isinstance(a, Send) and isinstance(a.sock, RelaydSock))
    ]


def _gone(s: Streamed, actions: list[Action]) -> None:
    """What ``lttng_consumer_cleanup_relayd`` and the threads' deletion of the
    inactive streams leave."""
    core = s.driver.core
    assert RelaydId(NET) not in core.registry.relayds
    assert not _is_open(s.control) and not _is_open(s.data_fd)
    assert RelaydSock(NET) not in core.relayd_slots()
    # The streams are deleted without RELAYD_CLOSE_STREAM (no relay to send it to)…
    assert not s.data.streams
    assert not _relay_sends(actions)
    # …the data channel stays (the channel thread's reference), the metadata one goes
    # with its stream; nothing is said on the error socket.
    assert ChannelKey(4) in core.registry.channels
    assert ChannelKey(5) not in core.registry.channels
    assert not [a for a in actions if isinstance(a, Send) and a.sock is Sock.ERROR]


def test_relay_eof_cleans_the_relay_and_its_streams_up(streamed: Streamed) -> None:
    outputs = streamed.outputs
    streamed.driver.core.receive(RelaydSock(NET), b"", [], 0)
    _gone(streamed, streamed.driver.actions())
    assert all(o.inactive and o.closed for o in outputs)


def test_a_data_socket_error_cleans_the_relay_up(streamed: Streamed) -> None:
    """The shell's write on the data socket failed (``relayd_hang_up`` of
    ``lttng_consumer_on_read_subbuffer_mmap``)."""
    streamed.driver.core.relayd_failed(NET, 0)
    _gone(streamed, streamed.driver.actions())


def test_a_refused_index_cleans_the_relay_up(streamed: Streamed) -> None:
    """``consumer_stream_write_index``: RELAYD_SEND_INDEX answered with an error."""
    driver = streamed.driver
    output = streamed.outputs[0]
    output.write_subbuffers([_subbuf(b"event", 64)], [PACKET_INDEX])
    sent = driver.core.take_actions()  # the data packet is the shell's to send
    assert [type(a) for a in _relay_sends(sent)] == [SendRelaydData, Send]
    refused = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK + 1))
    driver.core.receive(RelaydSock(NET), refused, [], 0)
    _gone(streamed, driver.actions())
    # A drain that still held a sub-buffer of the stream sends nothing more.
    output.write_subbuffers([_subbuf(b"later", 64)], [PACKET_INDEX])
    assert not _relay_sends(driver.core.take_actions())


def _data_pending(driver: Driver) -> int:
    pending = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=SESSION)
    )
    sent = driver.command(pending)
    return _answer_data_pending(driver, sent)


def _answer_data_pending(driver: Driver, sent: list[Action]) -> int:
    replies = [a for a in sent if isinstance(a, Send) and a.sock is Sock.COMMAND]
    (reply,) = replies
    return int(DATA_PENDING_REPLY.parse(reply.data).is_data_pending)


def test_later_commands_answer_as_without_the_relay(streamed: Streamed) -> None:
    """Once the pair is gone: DATA_PENDING 0, ROTATE_CHANNEL ROTATION_FAIL,
    CLOSE_TRACE_CHUNK CLOSE_TRACE_CHUNK_FAILED, TRACE_CHUNK_EXISTS INVALID_PARAMETERS,
    CLOSE_METADATA of the deleted metadata channel UST_CHAN_NOT_FOUND, DESTROY_RELAYD
    RELAYD_FAIL, and GET_CHANNEL of a channel still to announce RELAYD_FAIL."""
    driver = streamed.driver
    driver.core.receive(RelaydSock(NET), b"", [], 0)
    driver.actions()
    assert _data_pending(driver) == 0
    rotate = RotateChannelMember(metadata=0, relayd_id=NET, key=4)
    assert driver.statuses(
        driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL, rotate))
    ) == [LttcommReturnCode.LTTCOMM_CONSUMERD_ROTATION_FAIL]
    exists = TraceChunkExistsMember(
        relayd_id=OptionalU64(is_set=1, value=NET), session_id=SESSION, chunk_id=1
    )
    assert driver.statuses(
        driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS, exists))
    ) == [LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS]
    close_metadata = _msg(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA, KeyArgs(key=5))
    assert driver.statuses(driver.command(close_metadata)) == [
        LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND
    ]
    destroy = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD, DestroyRelaydMember(net_seq_idx=NET)
    )
    assert driver.statuses(driver.command(destroy)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL
    ]
    fresh = bare_channel(6, ChannelType.DATA, relayd_id=RelaydId(NET))
    driver.core.registry.channels[fresh.key] = fresh
    get = _msg(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, KeyArgs(key=6))
    assert driver.statuses(driver.command(get)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL]


def _chunk_command(driver: Driver, cmd: LttngConsumerCommand, u: object) -> list[Action]:
    return driver.command(_msg(cmd, u))


def test_trace_chunks_of_a_gone_relay_fail(streamed: Streamed) -> None:
    """``lttng_consumer_create_trace_chunk`` / ``lttng_consumer_close_trace_chunk``
    with a relay id the relayd table no longer holds: CREATE_TRACE_CHUNK_FAILED and
    CLOSE_TRACE_CHUNK_FAILED (neither cleans a relay up itself)."""
    driver = streamed.driver
    create = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=1, value=NET),
        override_name="",
        session_id=SESSION,
        chunk_id=1,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(is_set=0, value=Credentials(uid=0, gid=0)),
    )
    sent = _chunk_command(driver, LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, create)
    (request,) = [a for a in sent if isinstance(a, Send) and a.sock == RelaydSock(NET)]
    assert HDR.parse(request.data[: HDR.size]).cmd is LttcommRelaydCommand.RELAYD_CREATE_TRACE_CHUNK
    ok = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK))
    driver.core.receive(RelaydSock(NET), ok, [], 0)
    assert driver.statuses(driver.actions()) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    driver.core.relayd_failed(NET, 0)
    driver.actions()
    close = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=1, value=NET),
        session_id=SESSION,
        chunk_id=1,
        close_timestamp=1_700_000_001,
        close_command=OptionalTraceChunkCommand(is_set=0, value=0),  # type: ignore[arg-type]
    )
    sent = _chunk_command(driver, LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, close)
    (reply,) = [a for a in sent if isinstance(a, Send) and a.sock is Sock.COMMAND]
    assert (
        CLOSE_TRACE_CHUNK_REPLY.parse(reply.data).ret_code
        is LttcommReturnCode.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED
    )
    again = dataclasses.replace(create, chunk_id=2)
    sent = _chunk_command(driver, LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, again)
    assert not _relay_sends(sent)
    assert driver.statuses(sent) == [LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED]


def test_a_failed_begin_data_pending_does_not_clean_up(streamed: Streamed) -> None:
    """``consumer_data_pending``: RELAYD_BEGIN_DATA_PENDING failing reads as "not
    pending" only; a failing per-stream query (here the metadata stream's
    RELAYD_QUIESCENT_CONTROL) also cleans the relay up."""
    driver = streamed.driver
    pending = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=SESSION)
    )
    driver.command(pending)
    refused = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK + 1))
    driver.core.receive(RelaydSock(NET), refused, [], 0)
    assert _answer_data_pending(driver, driver.actions()) == 0
    assert RelaydId(NET) in driver.core.registry.relayds
    driver.command(pending)
    ok = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK))
    not_pending = GENERIC_REPLY.build(RelaydGenericReply(ret_code=0))
    for reply in (ok, not_pending, not_pending):  # begin, then each data stream
        driver.core.receive(RelaydSock(NET), reply, [], 0)
    driver.core.receive(RelaydSock(NET), refused, [], 0)  # the metadata's QUIESCENT_CONTROL
    actions = driver.actions()
    assert _answer_data_pending(driver, actions) == 0
    _gone(streamed, [a for a in actions if not isinstance(a, Send) or a.sock != RelaydSock(NET)])


def _closes(actions: list[Action]) -> list[int]:
    """The relay stream ids of the RELAYD_CLOSE_STREAM commands sent."""
    out = []
    for a in actions:
        if isinstance(a, Send) and a.sock == RelaydSock(NET):
            assert HDR.parse(a.data[: HDR.size]).cmd is LttcommRelaydCommand.RELAYD_CLOSE_STREAM
            out.append(int.from_bytes(a.data[HDR.size : HDR.size + 8], "big"))
    return out


def test_streams_still_open_at_exit_are_closed_on_the_relay(streamed: Streamed) -> None:
    """``destroy_data_stream_ht`` / ``destroy_metadata_stream_ht`` at the end of the
    threads: each stream's RELAYD_CLOSE_STREAM, one at a time on the control socket;
    the pair is closed once they are answered (``cleanup_relayd_ht``)."""
    core = streamed.driver.core
    core.shutdown(0)
    assert _closes(core.take_actions()) == [10]
    assert core.relay_exchanges_pending()
    assert RelaydId(NET) in core.registry.relayds and _is_open(streamed.control)
    ok = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK))
    for expected in ([11], [12], []):
        core.receive(RelaydSock(NET), ok, [], 0)
        assert _closes(core.take_actions()) == expected
    assert not core.relay_exchanges_pending()
    core.finish_shutdown(0)
    assert not core.registry.relayds
    assert not _is_open(streamed.control) and not _is_open(streamed.data_fd)


def test_a_relay_silent_at_exit_is_closed_all_the_same(streamed: Streamed) -> None:
    core = streamed.driver.core
    core.shutdown(0)
    assert _closes(core.take_actions()) == [10]
    core.finish_shutdown(0)  # the shell stopped waiting
    assert not core.registry.relayds
    assert not core.relay_exchanges_pending()
    assert not _is_open(streamed.control)
