"""Live sessions in ustref-consumerd's sans-IO core: each data packet's index waits for
a metadata synchronisation with the session daemon (``consumer_stream_sync_metadata_index``,
consumer-stream.c), and metadata reaches the relay daemon in complete units only
(``struct metadata_bucket``, metadata-bucket.c)."""

from __future__ import annotations

import dataclasses
from typing import cast

import pytest

from tests.consumerd.fakes import NoRing, bare_channel
from ustref.consumerd import relayd as client
from ustref.consumerd import streams
from ustref.consumerd.core import RELAY_BATCH_DEPTH, Core
from ustref.consumerd.exchange import Action, RelaydSock, Send, SendRelaydData, Sock
from ustref.consumerd.metadata import MetadataBucket, MetadataCache
from ustref.consumerd.registry import Channel, ChannelType, RelayPacket, Stream
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import UstStream
from ustref.ids import StreamKey
from ustref.output.index import PacketIndex
from ustref.protocol.consumer import (
    METADATA_ERROR_REPLY,
    METADATA_REQUEST_MSG,
    MetadataRequestErrorReply,
)
from ustref.protocol.relayd import (
    GENERIC_REPLY,
    HDR,
    INDEX,
    LttcommRelaydCommand,
    RelaydGenericReply,
)
from ustref.ring.reader import Status, StreamReader, Subbuffer

R0 = RelaydSock(0)
NO_REGISTRY = METADATA_ERROR_REPLY.build(MetadataRequestErrorReply())
OK = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK))
INDEX_0 = PacketIndex(
    offset=0,
    packet_size=4096 * 8,
    content_size=100 * 8,
    timestamp_begin=10,
    timestamp_end=20,
    events_discarded=0,
    stream_id=1,
    stream_instance_id=0,
    packet_seq_num=0,
)


PACKET_0 = RelayPacket(0, client.data_header(7, 0, 5, 0) + b"hello", INDEX_0)


def _stream(channel: Channel, key: int) -> Stream:
    stream = Stream(
        key=StreamKey(key), channel=channel, cpu=0, ust=cast(UstStream, NoRing()), wait_fd=-1
    )
    channel.streams.append(stream)
    return stream


def _live_session(core: Core, *, live: bool = True) -> Stream:
    """A live session: a metadata channel (key 5) and a data channel (key 6) whose one
    stream goes to relay daemon 0 as relay stream 7; returns that data stream."""
    metadata = bare_channel(5, ChannelType.METADATA, is_live=live)
    metadata.metadata_cache = MetadataCache()
    _stream(metadata, 0)
    data = bare_channel(6, ChannelType.DATA, is_live=live)
    stream = _stream(data, 1)
    stream.output = RelayOutput(
        core, client.Relayd(R0, 2, 13), name="chan6_0", relay_stream_id=7, metadata=False
    )
    for channel in (metadata, data):
        core.registry.channels[channel.key] = channel
    core.open_relayd_slot(R0)
    return stream


def _on(actions: list[Action], sock: Sock | RelaydSock) -> list[bytes]:
    return [a.data for a in actions if isinstance(a, Send) and a.sock == sock]


def _relay_command(raw: bytes) -> LttcommRelaydCommand:
    cmd: LttcommRelaydCommand = HDR.parse(raw[: HDR.size]).cmd
    return cmd


def test_the_index_of_a_live_packet_waits_for_the_metadata_request() -> None:
    core = Core()
    stream = _live_session(core)
    stream.relay_packets.append(PACKET_0)
    core.drain(stream)
    actions = core.take_actions()
    (request,) = _on(actions, Sock.METADATA)
    assert METADATA_REQUEST_MSG.parse(request).key == 5
    assert _on(actions, R0) == []  # nothing for the relay before the session daemon answers
    assert not [a for a in actions if isinstance(a, SendRelaydData)]
    assert stream.waiting_on_metadata == 1
    core.receive(Sock.METADATA, NO_REGISTRY, [], 1)
    actions = core.take_actions()
    assert len(_on(actions, Sock.METADATA)) == 1  # the acknowledgement
    assert [a.data for a in actions if isinstance(a, SendRelaydData)] == [PACKET_0.data]
    (raw,) = _on(actions, R0)
    assert _relay_command(raw) is LttcommRelaydCommand.RELAYD_SEND_INDEX
    index = INDEX.parse(raw[HDR.size :])
    assert (index.relay_stream_id, index.net_seq_num, index.timestamp_end) == (7, 0, 20)
    assert stream.waiting_on_metadata == 0


def test_a_stream_closed_while_its_index_waits_closes_after_it() -> None:
    """RELAYD_CLOSE_STREAM never overtakes the index of the stream's last packet."""
    core = Core()
    stream = _live_session(core)
    stream.relay_packets.append(PACKET_0)
    core.drain(stream)
    core.take_actions()
    streams.close_output(stream)
    assert stream.output is None
    assert _on(core.take_actions(), R0) == []
    core.receive(Sock.METADATA, NO_REGISTRY, [], 1)
    (raw,) = _on(core.take_actions(), R0)
    assert _relay_command(raw) is LttcommRelaydCommand.RELAYD_SEND_INDEX
    core.receive(R0, OK, [], 2)
    (raw,) = _on(core.take_actions(), R0)
    assert _relay_command(raw) is LttcommRelaydCommand.RELAYD_CLOSE_STREAM
    assert stream.closing_output is None


def test_the_live_timer_leaves_a_stream_waiting_on_metadata_alone() -> None:
    """``check_stream``: a stream waiting on metadata is marked, not flushed; the mark
    goes once its last index is sent (``send_live_beacon`` then)."""
    core = Core()
    stream = _live_session(core)
    stream.relay_packets.append(PACKET_0)
    core.drain(stream)
    core.take_actions()
    core._live_timer(stream.channel)
    assert stream.missed_metadata_flush
    assert _on(core.take_actions(), R0) == []
    core.receive(Sock.METADATA, NO_REGISTRY, [], 1)
    assert len(_on(core.take_actions(), R0)) == 1
    assert not stream.missed_metadata_flush


def test_a_bucket_sends_incoherent_subbuffers_with_the_next_coherent_one() -> None:
    """``metadata_bucket_fill``: incoherent sub-buffers are kept padded; the coherent one
    ends the unit, its own padding left off."""
    bucket = MetadataBucket()
    first = memoryview(b"trace {" + bytes(9))
    second = memoryview(b" major = 1;" + bytes(5))
    last = memoryview(b" };" + bytes(13))
    assert bucket.fill(first, 7, False) is None
    assert bucket.fill(second, 11, False) is None
    unit = bucket.fill(last, 3, True)
    assert unit == (bytes(first) + bytes(second) + bytes(last), 13)
    assert bucket.buffer_count == 0 and not bucket.content
    assert bucket.fill(last, 3, True) == (bytes(last), 13)  # a lone coherent one as is


def _commands(raw: bytes) -> list[tuple[LttcommRelaydCommand, bytes]]:
    """Split one write on a relay control socket into its commands and payloads."""
    commands = []
    while raw:
        header = HDR.parse(raw[: HDR.size])
        end = HDR.size + header.data_size
        commands.append((header.cmd, raw[HDR.size : end]))
        raw = raw[end:]
    return commands


def test_packets_drained_together_go_at_once_with_their_indexes_pipelined() -> None:
    """Not live: the packets of one drain go in one exchange, their data then every
    index in one write; the next drain's packets wait until the relay answered them
    all (C's data thread waits for each answer before the next packet)."""
    core = Core()
    stream = _live_session(core, live=False)
    second = RelayPacket(1, client.data_header(7, 1, 5, 0) + b"world", INDEX_0)
    third = RelayPacket(2, client.data_header(7, 2, 5, 0) + b"again", INDEX_0)
    stream.relay_packets += [PACKET_0, second]
    core.drain(stream)
    actions = core.take_actions()
    assert _on(actions, Sock.METADATA) == []  # not live: no metadata synchronisation
    assert [a.data for a in actions if isinstance(a, SendRelaydData)] == [
        PACKET_0.data + second.data
    ]
    (sent,) = _on(actions, R0)
    commands = _commands(sent)
    assert [cmd for cmd, _ in commands] == [LttcommRelaydCommand.RELAYD_SEND_INDEX] * 2
    assert [INDEX.parse(payload).net_seq_num for _, payload in commands] == [0, 1]
    stream.relay_packets.append(third)
    core.drain(stream)
    assert core.take_actions() == []  # the relay's slot is held until both answers
    core.receive(R0, OK, [], 1)
    assert core.take_actions() == []
    core.receive(R0, OK, [], 2)
    actions = core.take_actions()
    assert [a.data for a in actions if isinstance(a, SendRelaydData)] == [third.data]
    assert INDEX.parse(_commands(_on(actions, R0)[0])[0][1]).net_seq_num == 2


def test_a_failing_answer_among_pipelined_indexes_cleans_the_relay_up() -> None:
    """The second of two pipelined indexes answered with an error: the relay is
    cleaned up (the output's ``on_error``: ``lttng_consumer_cleanup_relayd``), as C
    does when ``relayd_send_index`` fails (consumer-stream.c:1135-1145)."""
    core = Core()
    stream = _live_session(core, live=False)
    second = RelayPacket(1, client.data_header(7, 1, 5, 0) + b"world", INDEX_0)
    output = stream.output
    assert isinstance(output, RelayOutput)
    cleaned: list[str] = []
    output.on_error = lambda: cleaned.append(output.name)
    stream.relay_packets += [PACKET_0, second]
    core.drain(stream)
    core.take_actions()
    failing = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK + 1))
    core.receive(R0, OK, [], 1)
    assert cleaned == []
    core.receive(R0, failing, [], 2)
    assert cleaned == ["chan6_0"]
    assert core.in_flight(R0) is None


class _Positions:
    """The reader calls ``_bucket`` makes: a ring of 16-byte sub-buffers whose
    produced position is ``produced``."""

    def __init__(self, produced: int) -> None:
        self.produced = produced

    def snapshot_sample_positions(self) -> None:
        pass

    def snapshot_get_produced(self) -> int:
        return self.produced

    def get_max_subbuf_size(self) -> int:
        return 16


def _metadata_to_relay(core: Core, cached: int, pushed: int) -> Stream:
    channel = bare_channel(5, ChannelType.METADATA, is_live=True)
    channel.metadata_cache = MetadataCache()
    channel.metadata_cache.write(0, bytes(cached), 0)
    stream = _stream(channel, 0)
    stream.ust_metadata_pushed = pushed
    stream.output = RelayOutput(
        core, client.Relayd(R0, 2, 13), name="metadata", relay_stream_id=3, metadata=True
    )
    core.open_relayd_slot(R0)
    return stream


def test_live_metadata_goes_to_the_relay_once_the_unit_is_complete() -> None:
    """``get_next_subbuffer_metadata``'s coherence: the cache is all in the ring and
    the sub-buffer is the ring's last; the two sub-buffers of a batch go as one
    RELAYD_SEND_METADATA, the first one padded, the last one's padding left off."""
    core = Core()
    stream = _metadata_to_relay(core, cached=20, pushed=20)
    first = _subbuf_at(0, b"trace { major", 16)
    last = _subbuf_at(16, b" = 1; };", 16)
    reader = cast(StreamReader, _Positions(produced=32))
    streams._bucket(stream, reader, [first, last], cast(RelayOutput, stream.output))
    (raw,) = _on(core.take_actions(), R0)
    assert raw == client.metadata_command(3, bytes(first.view) + b" = 1; };", 8)


def test_live_metadata_waits_while_the_cache_holds_more() -> None:
    core = Core()
    stream = _metadata_to_relay(core, cached=40, pushed=20)
    reader = cast(StreamReader, _Positions(produced=16))
    unit = _subbuf_at(0, b"trace { major", 16)
    streams._bucket(stream, reader, [unit], cast(RelayOutput, stream.output))
    assert _on(core.take_actions(), R0) == []
    assert stream.metadata_bucket is not None and stream.metadata_bucket.buffer_count == 1


def _subbuf_at(position: int, content: bytes, padded: int) -> Subbuffer:
    return Subbuffer(
        position=position,
        subbuf_size=len(content),
        padded_subbuf_size=padded,
        view=memoryview(content + bytes(padded - len(content))),
    )


def test_a_wake_up_drains_a_relay_stream_one_batch_per_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A relay data stream is drained ``once`` per wake-up; while it may have more
    ready, the next deadline is now and the next turn drains it again, until the
    ring has nothing ready. A local stream is drained to its end at once."""
    core = Core()
    stream = _live_session(core, live=False)
    ready = [Status.OK, Status.OK, Status.AGAIN]
    calls: list[tuple[int, bool]] = []

    def fake_drain(drained: Stream, *, once: bool = False) -> Status:
        calls.append((int(drained.key), once))
        return ready.pop(0) if once else Status.AGAIN

    monkeypatch.setattr(streams, "drain", fake_drain)
    core.stream_ready(stream, 10)
    assert calls == [(1, True)]
    assert core.next_deadline() == 10
    core.handle_timer(11)
    assert calls == [(1, True), (1, True)]
    assert core.next_deadline() == 11
    core.handle_timer(12)
    assert calls == [(1, True)] * 3
    assert core.next_deadline() is None  # nothing more ready, no timer armed
    stream.output = None  # a local stream (no relay)
    core.stream_ready(stream, 13)
    assert calls[-1] == (1, False)
    assert core.next_deadline() is None


def _packet(seq: int) -> RelayPacket:
    index = dataclasses.replace(INDEX_0, packet_seq_num=seq)
    return RelayPacket(seq, client.data_header(7, seq, 5, 0) + b"hello", index)


def test_packets_on_either_side_of_a_relay_rotation_go_in_separate_exchanges() -> None:
    """The relay was told to rotate at packet 2: packets 0-1 and 2-3 drained together
    go as two exchanges, the second's data only once the first's indexes are
    answered (lttng-relayd 2.13.9 crashes on a late index otherwise); later
    batches are whole again."""
    core = Core()
    stream = _live_session(core, live=False)
    stream.relay_rotation_at = 2
    stream.relay_packets += [_packet(seq) for seq in range(4)]
    core.drain(stream)
    actions = core.take_actions()
    assert [a.data for a in actions if isinstance(a, SendRelaydData)] == [
        _packet(0).data + _packet(1).data
    ]
    assert stream.relay_rotation_at is None
    core.receive(R0, OK * 2, [], 1)
    actions = core.take_actions()
    assert [a.data for a in actions if isinstance(a, SendRelaydData)] == [
        _packet(2).data + _packet(3).data
    ]
    assert [INDEX.parse(p).net_seq_num for _, p in _commands(_on(actions, R0)[0])] == [2, 3]
    core.receive(R0, OK * 2, [], 2)
    stream.relay_packets += [_packet(4), _packet(5)]
    core.drain(stream)
    sent = [a for a in core.take_actions() if isinstance(a, SendRelaydData)]
    assert [a.data for a in sent] == [_packet(4).data + _packet(5).data]


def test_a_batch_wholly_before_a_relay_rotation_keeps_the_mark() -> None:
    core = Core()
    stream = _live_session(core, live=False)
    stream.relay_rotation_at = 5
    stream.relay_packets += [_packet(0), _packet(1)]
    core.drain(stream)
    assert stream.relay_rotation_at == 5
    assert len([a for a in core.take_actions() if isinstance(a, SendRelaydData)]) == 1


def test_a_channel_with_a_trace_file_size_limit_sends_one_packet_at_a_time() -> None:
    """The relay switches trace files on a packet's data: with a size limit, each
    packet's index is answered before the next packet's data goes (C's order)."""
    core = Core()
    stream = _live_session(core, live=False)
    stream.channel.tracefile_size = 8192
    stream.relay_packets += [_packet(0), _packet(1)]
    core.drain(stream)
    sent = [a.data for a in core.take_actions() if isinstance(a, SendRelaydData)]
    assert sent == [_packet(0).data]
    core.receive(R0, OK, [], 1)
    sent = [a.data for a in core.take_actions() if isinstance(a, SendRelaydData)]
    assert sent == [_packet(1).data]


def test_a_wake_up_leaves_sub_buffers_in_the_ring_while_two_batches_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With RELAY_BATCH_DEPTH batches of a stream queued on its relay, the next turn
    does not drain it (its sub-buffers wait in the ring); once the relay answers
    the first batch, the stream is drained again at the next turn."""
    core = Core()
    stream = _live_session(core, live=False)
    taken: list[int] = []

    def fake_drain(drained: Stream, *, once: bool = False) -> Status:
        seq = len(taken)
        taken.append(seq)
        drained.relay_packets.append(_packet(seq))
        return Status.OK  # more is always ready

    monkeypatch.setattr(streams, "drain", fake_drain)
    core.stream_ready(stream, 1)  # batch 0 goes to the relay
    core.handle_timer(2)  # batch 1 waits behind it
    assert taken == [0, 1] and stream.relay_batches == RELAY_BATCH_DEPTH
    core.handle_timer(3)
    assert taken == [0, 1]  # left in the ring
    assert core.next_deadline() is None  # nothing to do until the relay answers
    core.take_actions()
    core.receive(R0, OK, [], 4)  # batch 0 answered: batch 1 goes
    sent = [a.data for a in core.take_actions() if isinstance(a, SendRelaydData)]
    assert sent == [_packet(1).data]
    assert core.next_deadline() == 4
    core.handle_timer(5)
    assert taken == [0, 1, 2]
