"""Hostile peers: arbitrary bytes as the answer of the session daemon on the
metadata socket and of a relay daemon on its control socket (issue 22).

The sans-IO core is driven into each state where it waits on such a peer: a
metadata request in flight (the metadata switch timer's, and SNAPSHOT_CHANNEL's of
the metadata), and each relay exchange (RELAYD_ADD_STREAM of GET_CHANNEL and
SETUP_METADATA, RELAYD_STREAMS_SENT, the data-pending queries,
RELAYD_ROTATE_STREAMS, the trace chunk commands, RELAYD_SEND_INDEX after a packet,
RELAYD_RESET_METADATA, RELAYD_CLOSE_STREAM). It is then fed bytes drawn by
hypothesis: random bytes, well-shaped replies with hostile codes and lengths, split
at random offsets or one byte at a time, then EOF.

Each scenario carries an oracle: a model of what lttng-consumerd does with that
byte stream, written from the C function it names (relayd.c, consumer.c,
ust-consumer.c @ v2.13.9). A table of byte streams reaches every branch of every
oracle. The properties:

- nothing escapes ``Core.receive``;
- the command that waited gets the C consumer's answer, none while the reply is
  incomplete, and its failure answer at EOF;
- a failure that C follows with ``lttng_consumer_cleanup_relayd`` cleans the relay
  up (its pair gone, its streams inactive), and one that C only answers leaves it
  alone;
- the answer does not depend on how the bytes were split;
- another session's relay daemon and the command socket keep working;
- what the core holds is bounded by what arrived (a 2**63-byte PUSH_METADATA, a
  relay flood).

Focused tests check the roll-back of a refused remote chunk, the deletion of a
metadata channel whose relay announcement failed, and the shell's
ERROR_RECV_CMD.
"""

from __future__ import annotations

import os
import socket
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import NoRing, bare_channel
from tests.consumerd.test_relayd_cleanup import relay_output
from tests.consumerd.test_relayd_client import PACKET_INDEX, _subbuf
from ustref.consumerd import effects
from ustref.consumerd import relayd as client
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import (
    Action,
    PeerFamily,
    Received,
    RelaydSock,
    Request,
    Send,
    SendRelaydData,
    Sock,
)
from ustref.consumerd.loop import Shell
from ustref.consumerd.metadata import MetadataCache
from ustref.consumerd.registry import Channel, ChannelType, Stream
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import UstChannel, UstStream
from ustref.consumerd.startup import Paths
from ustref.ids import U64_MAX, ChannelKey, RelaydId, SessionId, StreamKey
from ustref.output.chunk import TraceChunk
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    DATA_PENDING_REPLY,
    ERROR_SOCKET_CODE,
    METADATA_REQUEST_MSG,
    STATUS_MSG,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    KeyArgs,
    LttngConsumerCommand,
    LttngStreamType,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    RelaydSockV2139,
    RotateChannelMember,
    SessionIdArgs,
    SnapshotChannelMember,
    TraceChunkExistsMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.relayd import CLOSE_TRACE_CHUNK, HDR, LttcommRelaydCommand
from ustref.protocol.sockets import LttcommSockProto
from ustref.ring.timers import PeriodicTimer

Cmd = LttngConsumerCommand
Code = LttcommReturnCode

HOSTILE = 3
"""The relay daemon connection that answers garbage (session :data:`SESSION`)."""
SESSION = 7
OTHER = 4
"""A second session's relay daemon connection, well behaved (session :data:`OTHER_SESSION`)."""
OTHER_SESSION = 8
LTTNG_OK = client.LTTNG_OK
SECOND = 1_000_000_000

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _be32(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


# -- fakes: channels and streams with no ring buffer -------------------------------------


class FakeRing(NoRing):
    """A ust-ctl channel with no buffers that can be handed over (GET_CHANNEL) and
    creates no stream (a metadata snapshot finds none)."""

    wait_fd = -1

    def handover(self) -> list[tuple[bytes, list[int]]]:
        return []

    def create_stream(self, cpu: int, identity: object) -> None:
        return None


class FakeStream:
    """A ust-ctl stream with no buffers."""

    wait_fd = -1
    destroyed = False

    def destroy(self) -> None:
        self.destroyed = True

    def handover(self) -> list[tuple[bytes, list[int]]]:
        return []

    def close_wakeup_fd(self) -> None:
        pass


def _channel(key: int, kind: ChannelType, **changes: object) -> Channel:
    """A channel of session :data:`SESSION` on a :class:`FakeRing`."""
    ust = cast(UstChannel, FakeRing())
    return bare_channel(key, kind, session_id=SessionId(SESSION), ust=ust, **changes)


def _stream(channel: Channel, cpu: int, key: int) -> Stream:
    stream = Stream(
        key=StreamKey(key),
        channel=channel,
        cpu=cpu,
        ust=cast(UstStream, FakeStream()),
        wait_fd=-1,
    )
    channel.streams.append(stream)
    return stream


# -- the world: a core, two relay daemons, the shell's effects -----------------------------


@dataclass
class World:
    driver: Driver
    fds: list[int] = field(default_factory=list)

    @property
    def core(self) -> Core:
        return self.driver.core

    def take(self) -> list[Action]:
        """The shell's turn: perform requests, return every other action."""
        out: list[Action] = []
        while actions := self.core.take_actions():
            for action in actions:
                if isinstance(action, PeerFamily):
                    self.core.complete(action, Received(data=(2).to_bytes(2, "little")), 0)
                elif isinstance(action, Request):
                    self.core.complete(action, effects.answer(action), 0)
                else:
                    out.append(action)
        return out

    def command(self, raw: bytes, fds: Sequence[int] = ()) -> list[Action]:
        self.core.receive(Sock.COMMAND, raw, list(fds), 0)
        return self.take()

    def feed(self, sock: Sock | RelaydSock, pieces: Sequence[bytes]) -> list[Action]:
        """Each piece as one ``receive``; the actions they caused."""
        out: list[Action] = []
        for piece in pieces:
            if piece:  # an empty piece would be EOF
                self.core.receive(sock, piece, [], 0)
                out += self.take()
        return out

    def eof(self, sock: Sock | RelaydSock) -> list[Action]:
        self.core.receive(sock, b"", [], 0)
        return self.take()

    def relay_output(self, stream: Stream, net: int, relay_stream_id: int) -> RelayOutput:
        """The stream announced to relay ``net`` and handed to its thread."""
        return relay_output(self.core, stream, net, relay_stream_id)


def _add_relay(world: World, net: int, session: int) -> None:
    for kind in (LttngStreamType.LTTNG_STREAM_CONTROL, LttngStreamType.LTTNG_STREAM_DATA):
        ours, peer = os.pipe()
        world.fds.append(peer)
        sock = RelaydSockV2139(
            net_index=net,
            type=kind,
            major=2,
            minor=13,
            relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
            session_id=session,
            relayd_session_id=40 + net,
        )
        first = world.command(_msg(Cmd.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, sock))
        second = world.command(b"\0", [ours])
        assert _statuses(first + second) == [Code.LTTCOMM_CONSUMERD_SUCCESS] * 2


@contextmanager
def _world() -> Iterator[World]:
    world = World(Driver(observe=False))
    try:
        _add_relay(world, HOSTILE, SESSION)
        _add_relay(world, OTHER, OTHER_SESSION)
        yield world
    finally:
        world.core.shutdown(0)
        world.core.finish_shutdown(0)
        for fd in world.fds:
            os.close(fd)


def _to(actions: Sequence[Action], sock: Sock | RelaydSock) -> list[bytes]:
    return [a.data for a in actions if isinstance(a, Send) and a.sock == sock]


def _statuses(actions: Sequence[Action], sock: Sock = Sock.COMMAND) -> list[int]:
    return [int(STATUS_MSG.parse(raw).ret_code) for raw in _to(actions, sock)]


# -- C's view of a reply stream ------------------------------------------------------------


class Replies:
    """The bytes a peer sent, read as ``recv_reply`` reads them: exactly ``n`` bytes
    or nothing (the consumer waits; at EOF the read fails)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes | None:
        if len(self.data) - self.pos < n:
            return None
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        return raw

    def code(self) -> int | None:
        """A ``lttcomm_relayd_generic_reply``'s ``ret_code``."""
        raw = self.take(4)
        return None if raw is None else _be32(raw)


@dataclass(frozen=True)
class Outcome:
    """What the C consumer does with a reply stream."""

    answer: object
    """The command's answer (``None``: a consumer-initiated exchange, nothing)."""
    cleaned: bool
    """``lttng_consumer_cleanup_relayd`` ran (or EOF met the wait: ustref's shell
    sees a relay socket's hang-up and cleans it up)."""
    complete: bool = True
    """``False``: the reply is incomplete; ``answer`` is the one due at EOF."""
    eof_error: bool = False
    """EOF now sends ERROR_RECV_CMD on the error socket (a metadata reply cut short)."""


def _waiting(answer: object) -> Outcome:
    return Outcome(answer, cleaned=True, complete=False)


# -- hostile bytes ---------------------------------------------------------------------------

CODES = st.one_of(
    st.sampled_from([LTTNG_OK, 0, 1, 2, LTTNG_OK + 1, 2**31 - 1, 2**31, 2**32 - 1]),
    st.integers(0, 2**32 - 1),
)
"""Reply codes: success, the data-pending flags, errors, and the values C reads as
negative once in an ``int``."""


def _relay_reply(size: int, code_at: int) -> st.SearchStrategy[bytes]:
    """One reply of ``size`` bytes: a big-endian code at ``code_at`` amid random
    bytes, or random bytes."""
    shaped = st.builds(
        lambda code, rest: rest[:code_at] + code.to_bytes(4, "big") + rest[code_at:],
        CODES,
        st.binary(min_size=size - 4, max_size=size - 4),
    )
    return st.one_of(shaped, st.binary(min_size=size, max_size=size))


GENERIC = (4, 0)
"""``lttcomm_relayd_generic_reply``: its size and where its code is."""
STATUS_STREAM = (12, 8)
"""``lttcomm_relayd_status_stream``: a u64 handle, then the code."""
CHUNK_EXISTS = (5, 0)
"""``lttcomm_relayd_trace_chunk_exists_reply``: the code, then one byte."""


def _replies(*shapes: tuple[int, int]) -> st.SearchStrategy[bytes]:
    """A stream of replies (each a well-shaped one or random), possibly cut short,
    possibly followed by junk."""
    return st.tuples(
        st.tuples(*(_relay_reply(size, at) for size, at in shapes)),
        st.integers(0, sum(size for size, _ in shapes)),
        st.binary(max_size=16),
        st.booleans(),
    ).map(lambda t: _cut(b"".join(t[0]), t[1], t[2], t[3]))


def _cut(whole: bytes, keep: int, junk: bytes, truncate: bool) -> bytes:
    return whole[:keep] if truncate else whole + junk


def _splits(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` cut at random offsets (one piece per ``receive``)."""
    return st.lists(st.integers(0, len(data)), max_size=6).map(lambda cuts: _pieces(data, cuts))


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


# -- scenarios: the states where the core waits on the hostile relay ------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    replies: st.SearchStrategy[bytes]
    start: Callable[[World], list[Action]]
    """Puts the core where it waits on relay :data:`HOSTILE`; the actions so far."""
    answer: Callable[[list[Action]], list[object]]
    """The command's answers among ``actions`` (empty: none yet)."""
    oracle: Callable[[Replies], Outcome]


def _status_answers(actions: list[Action]) -> list[object]:
    return list(_statuses(actions))


def _pending_answers(actions: list[Action]) -> list[object]:
    return [
        int(DATA_PENDING_REPLY.parse(raw).is_data_pending) for raw in _to(actions, Sock.COMMAND)
    ]


def _close_answers(actions: list[Action]) -> list[object]:
    out: list[object] = []
    for raw in _to(actions, Sock.COMMAND):
        reply = CLOSE_TRACE_CHUNK_REPLY.parse(raw)
        out.append((int(reply.ret_code), bytes(reply.path)))
    return out


def _none(actions: list[Action]) -> list[object]:
    assert not _to(actions, Sock.COMMAND)
    return []


def _streamed(world: World) -> tuple[Channel, Channel]:
    """Session :data:`SESSION` streams to relay :data:`HOSTILE`: a data channel (relay
    streams 10 and 11, one packet sent each) and a metadata channel (relay stream 12)."""
    relayd = RelaydId(HOSTILE)
    data = _channel(4, ChannelType.DATA, relayd_id=relayd)
    meta = _channel(5, ChannelType.METADATA, relayd_id=relayd)
    data.sent_to_sessiond = True
    for channel in (data, meta):
        world.core.registry.channels[channel.key] = channel
    for cpu, key in ((0, 10), (1, 11)):
        world.relay_output(_stream(data, cpu, key), HOSTILE, key).next_net_seq_num = 1
    world.relay_output(_stream(meta, 0, 12), HOSTILE, 12)
    return data, meta


# GET_CHANNEL: send_channel_to_sessiond_and_relayd (ust-consumer.c:519-552) announces each
# stream (consumer_send_relayd_stream, consumer.c:730-744: relayd_add_stream, a
# lttcomm_relayd_status_stream whose ret_code must be LTTNG_OK, relayd.c:556-571); a
# failure cleans the relay up and answers RELAYD_FAIL alone (ust-consumer.c:536, 545-551).


def _get_channel_start(world: World) -> list[Action]:
    channel = _channel(6, ChannelType.DATA, relayd_id=RelaydId(HOSTILE))
    _stream(channel, 0, 20)
    _stream(channel, 1, 21)
    world.core.registry.channels[channel.key] = channel
    return world.command(_msg(Cmd.LTTNG_CONSUMER_GET_CHANNEL, KeyArgs(key=6)))


def _get_channel_oracle(r: Replies) -> Outcome:
    fail = [Code.LTTCOMM_CONSUMERD_RELAYD_FAIL]
    for _ in range(2):
        reply = r.take(12)
        if reply is None:
            return _waiting(fail)
        if _be32(reply[8:]) != LTTNG_OK:
            return Outcome(fail, cleaned=True)
    return Outcome([Code.LTTCOMM_CONSUMERD_SUCCESS] * 2, cleaned=False)


# SETUP_METADATA: setup_metadata (ust-consumer.c:909-922): RELAYD_ADD_STREAM failing
# answers ERROR_METADATA, RELAYD_STREAMS_SENT failing RELAYD_FAIL; both clean the
# relay up (consumer.c:740-743, 783-786).


def _setup_metadata_start(world: World) -> list[Action]:
    channel = _channel(9, ChannelType.METADATA, relayd_id=RelaydId(HOSTILE))
    _stream(channel, 0, 30)
    channel.metadata_cache = MetadataCache()
    world.core.registry.channels[channel.key] = channel
    return world.command(_msg(Cmd.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=9)))


def _setup_metadata_oracle(r: Replies) -> Outcome:
    reply = r.take(12)
    if reply is None:
        return _waiting([Code.LTTCOMM_CONSUMERD_ERROR_METADATA])
    if _be32(reply[8:]) != LTTNG_OK:
        return Outcome([Code.LTTCOMM_CONSUMERD_ERROR_METADATA], cleaned=True)
    code = r.code()
    if code is None:
        return _waiting([Code.LTTCOMM_CONSUMERD_RELAYD_FAIL])
    if code != LTTNG_OK:
        return Outcome([Code.LTTCOMM_CONSUMERD_RELAYD_FAIL], cleaned=True)
    return Outcome([Code.LTTCOMM_CONSUMERD_SUCCESS], cleaned=False)


# DATA_PENDING: consumer_data_pending (consumer.c:3817-3866). BEGIN failing: "not
# pending", no clean-up. Per stream, relayd_quiescent_control (metadata: anything but
# LTTNG_OK fails) or relayd_data_pending (relayd.c:928-934: the u32 code becomes the int
# return, so 1 is pending and a code >= 2**31 is negative: a failure); a failure cleans
# up and reads "not pending". relayd_end_data_pending (relayd.c:1065-1072): a code
# >= 2**31 fails (clean-up), any other non-zero code is "data in flight".


def _data_pending_start(world: World) -> list[Action]:
    _streamed(world)
    return world.command(_msg(Cmd.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=SESSION)))


def _data_pending_oracle(r: Replies) -> Outcome:
    code = r.code()
    if code is None:
        return _waiting([0])
    if code != LTTNG_OK:
        return Outcome([0], cleaned=False)
    for metadata in (False, False, True):
        code = r.code()
        if code is None:
            return _waiting([0])
        if metadata and code != LTTNG_OK:
            return Outcome([0], cleaned=True)
        if not metadata and code >= 2**31:
            return Outcome([0], cleaned=True)
        if not metadata and code == 1:
            return Outcome([1], cleaned=False)
    code = r.code()
    if code is None:
        return _waiting([0])
    if code >= 2**31:
        return Outcome([0], cleaned=True)
    return Outcome([1 if code else 0], cleaned=False)


# ROTATE_CHANNEL: lttng_consumer_rotate_channel (consumer.c:4287-4299): a failing
# relayd_rotate_streams cleans the relay up; the command answers ROTATION_FAIL
# (ust-consumer.c's ROTATE_CHANNEL case).


def _rotate_start(world: World) -> list[Action]:
    _streamed(world)
    rotate = RotateChannelMember(metadata=0, relayd_id=HOSTILE, key=4)
    return world.command(_msg(Cmd.LTTNG_CONSUMER_ROTATE_CHANNEL, rotate))


def _rotate_oracle(r: Replies) -> Outcome:
    code = r.code()
    fail = [Code.LTTCOMM_CONSUMERD_ROTATION_FAIL]
    if code is None:
        return _waiting(fail)
    if code != LTTNG_OK:
        return Outcome(fail, cleaned=True)
    return Outcome([Code.LTTCOMM_CONSUMERD_SUCCESS], cleaned=False)


# Trace chunks: lttng_consumer_create_trace_chunk (consumer.c:4866-4891),
# lttng_consumer_close_trace_chunk (consumer.c:5002-5018) and
# lttng_consumer_trace_chunk_exists (consumer.c:5079-5099) answer the relay's failure
# and never clean it up. relayd_close_trace_chunk (relayd.c:1456-1489): a path length
# >= LTTNG_PATH_MAX fails before the path is read, a zero one fails (recv_reply of 0
# bytes), the path must end in NUL, then the code must be LTTNG_OK.


def _create_chunk(chunk: int) -> bytes:
    create = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=1, value=HOSTILE),
        override_name="",
        session_id=SESSION,
        chunk_id=chunk,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(is_set=0, value=Credentials(uid=0, gid=0)),
    )
    return _msg(Cmd.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, create)


def _create_start(world: World) -> list[Action]:
    return world.command(_create_chunk(1))


def _create_oracle(r: Replies) -> Outcome:
    """A refused creation is rolled back (consumer.c:4877-4887): RELAYD_CLOSE_TRACE_CHUNK,
    whose reply is read, its failure only logged, before the answer."""
    code = r.code()
    fail = [Code.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED]
    if code is None:
        return _waiting(fail)
    if code == LTTNG_OK:
        return Outcome([Code.LTTCOMM_CONSUMERD_SUCCESS], cleaned=False)
    closed = _close_oracle(r)
    return Outcome(fail, cleaned=not closed.complete, complete=closed.complete)


def _close_start(world: World) -> list[Action]:
    world.command(_create_chunk(1))
    ok = world.feed(RelaydSock(HOSTILE), [LTTNG_OK.to_bytes(4, "big")])
    assert _statuses(ok) == [Code.LTTCOMM_CONSUMERD_SUCCESS]
    close = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=1, value=HOSTILE),
        session_id=SESSION,
        chunk_id=1,
        close_timestamp=1_700_000_001,
        close_command=OptionalTraceChunkCommand(is_set=0, value=0),  # type: ignore[arg-type]
    )
    return world.command(_msg(Cmd.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, close))


def _close_oracle(r: Replies) -> Outcome:
    fail = [(int(Code.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED), b"\0")]
    head = r.take(8)
    if head is None:
        return _waiting(fail)
    length = _be32(head[4:])
    if length >= 4096 or length == 0:
        return Outcome(fail, cleaned=False)
    path = r.take(length)
    if path is None:
        return _waiting(fail)
    if path[-1] != 0 or _be32(head[:4]) != LTTNG_OK:
        return Outcome(fail, cleaned=False)
    text = path.split(b"\0", 1)[0] + b"\0"
    return Outcome([(int(Code.LTTCOMM_CONSUMERD_SUCCESS), text)], cleaned=False)


def _close_replies() -> st.SearchStrategy[bytes]:
    lengths = st.one_of(
        st.sampled_from([0, 1, 5, 4095, 4096, 2**31, 2**32 - 1]), st.integers(0, 64)
    )
    shaped = st.builds(
        lambda code, length, path, junk: (
            code.to_bytes(4, "big") + length.to_bytes(4, "big") + path + junk
        ),
        CODES,
        lengths,
        st.one_of(st.binary(max_size=64), st.just(b"host/s/archives/1\0")),
        st.binary(max_size=8),
    )
    return st.one_of(shaped, st.binary(max_size=64))


def _exists_start(world: World) -> list[Action]:
    exists = TraceChunkExistsMember(
        relayd_id=OptionalU64(is_set=1, value=HOSTILE), session_id=SESSION, chunk_id=5
    )
    return world.command(_msg(Cmd.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS, exists))


def _exists_oracle(r: Replies) -> Outcome:
    reply = r.take(5)
    fail = [Code.LTTCOMM_CONSUMERD_RELAYD_FAIL]
    if reply is None:
        return _waiting(fail)
    if _be32(reply[:4]) != LTTNG_OK:
        return Outcome(fail, cleaned=False)
    if reply[4]:
        return Outcome([Code.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_REMOTE], cleaned=False)
    return Outcome([Code.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK], cleaned=False)


# The data thread's exchanges, no command waiting: consumer_stream_send_index
# (consumer-stream.c:1135-1145: relayd_send_index failing cleans up) after each packet,
# and consumer_stream_relayd_close (consumer-stream.c:826-836: RELAYD_CLOSE_STREAM
# failing cleans up).


def _index_start(world: World) -> list[Action]:
    data, _meta = _streamed(world)
    for stream in data.streams:
        output = stream.output
        assert isinstance(output, RelayOutput)
        output.write_subbuffers([_subbuf(b"event", 64)], [PACKET_INDEX])
    actions = world.take()
    assert sum(isinstance(a, SendRelaydData) for a in actions) == 2
    return actions


def _generic_oracle(count: int) -> Callable[[Replies], Outcome]:
    def oracle(r: Replies) -> Outcome:
        for _ in range(count):
            code = r.code()
            if code is None:
                return _waiting(None)
            if code != LTTNG_OK:
                return Outcome(None, cleaned=True)
        return Outcome(None, cleaned=False)

    return oracle


def _close_stream_start(world: World) -> list[Action]:
    data, _meta = _streamed(world)
    for stream in data.streams:
        output = stream.output
        assert isinstance(output, RelayOutput)
        output.close()
    return world.take()


def _reset_metadata_start(world: World) -> list[Action]:
    """``lttng regenerate metadata`` then a metadata packet: RELAYD_RESET_METADATA first
    (``lttng_consumer_on_read_subbuffer_mmap``, consumer.c:1661-1669: its failure is a
    relay hang-up, cleaned up at consumer.c:1769-1771)."""
    _data, meta = _streamed(world)
    output = meta.streams[0].output
    assert isinstance(output, RelayOutput)
    output.reset_metadata_file(1)
    output.write_subbuffers([_subbuf(b"/* CTF 1.8 */", 64)], metadata_version=1)
    return world.take()


SCENARIOS = [
    Scenario(
        "GET_CHANNEL/ADD_STREAM",
        _replies(STATUS_STREAM, STATUS_STREAM),
        _get_channel_start,
        _status_answers,
        _get_channel_oracle,
    ),
    Scenario(
        "SETUP_METADATA/ADD_STREAM+STREAMS_SENT",
        _replies(STATUS_STREAM, GENERIC),
        _setup_metadata_start,
        _status_answers,
        _setup_metadata_oracle,
    ),
    Scenario(
        "DATA_PENDING",
        _replies(*[GENERIC] * 5),
        _data_pending_start,
        _pending_answers,
        _data_pending_oracle,
    ),
    Scenario(
        "ROTATE_CHANNEL/ROTATE_STREAMS",
        _replies(GENERIC),
        _rotate_start,
        _status_answers,
        _rotate_oracle,
    ),
    Scenario(
        "CREATE_TRACE_CHUNK",
        st.one_of(_replies(GENERIC), st.tuples(_replies(GENERIC), _close_replies()).map(b"".join)),
        _create_start,
        _status_answers,
        _create_oracle,
    ),
    Scenario("CLOSE_TRACE_CHUNK", _close_replies(), _close_start, _close_answers, _close_oracle),
    Scenario(
        "TRACE_CHUNK_EXISTS", _replies(CHUNK_EXISTS), _exists_start, _status_answers, _exists_oracle
    ),
    Scenario("SEND_INDEX", _replies(GENERIC, GENERIC), _index_start, _none, _generic_oracle(2)),
    Scenario("RESET_METADATA", _replies(GENERIC), _reset_metadata_start, _none, _generic_oracle(1)),
    Scenario(
        "CLOSE_STREAM", _replies(GENERIC, GENERIC), _close_stream_start, _none, _generic_oracle(2)
    ),
]


def _other_session_works(world: World) -> None:
    """The other session's relay daemon answers, and so does the command socket."""
    exists = TraceChunkExistsMember(
        relayd_id=OptionalU64(is_set=1, value=OTHER), session_id=OTHER_SESSION, chunk_id=1
    )
    sent = world.command(_msg(Cmd.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS, exists))
    assert len(_to(sent, RelaydSock(OTHER))) == 1
    reply = world.feed(RelaydSock(OTHER), [LTTNG_OK.to_bytes(4, "big") + b"\1"])
    assert _statuses(reply) == [Code.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_REMOTE]


def _relay_outputs(world: World, net: int) -> list[RelayOutput]:
    return [
        s.output
        for s in world.core.registry.streams()
        if isinstance(s.output, RelayOutput) and s.output.relayd.sock.net_index == net
    ]


def _check_relay(world: World, cleaned: bool) -> None:
    core = world.core
    if cleaned:
        assert RelaydId(HOSTILE) not in core.registry.relayds
        assert RelaydSock(HOSTILE) not in core.relayd_slots()
        # Its streams are inactive: deleted once handed to their thread, or inactive.
        assert all(o.inactive for o in _relay_outputs(world, HOSTILE))
    else:
        assert RelaydId(HOSTILE) in core.registry.relayds
        assert RelaydSock(HOSTILE) in core.relayd_slots()
    assert RelaydId(OTHER) in core.registry.relayds


def _run(scenario: Scenario, pieces: Sequence[bytes]) -> None:
    data = b"".join(pieces)
    expected = scenario.oracle(Replies(data))
    with _world() as world:
        actions = scenario.start(world)
        assert _to(actions, RelaydSock(HOSTILE)), "the core waits on the relay"
        assert not scenario.answer(actions)
        actions = world.feed(RelaydSock(HOSTILE), pieces)
        got = scenario.answer(actions)
        if expected.complete:
            if expected.answer is not None:
                assert got == expected.answer
            _check_relay(world, expected.cleaned)
            if not expected.cleaned:
                _other_session_works(world)
        else:
            assert got == []
            _check_relay(world, cleaned=False)
            if scenario.answer is _none:
                # A stalled relay holds no command: the other session is served.
                _other_session_works(world)
        # The relay hangs up: whatever still waited on it fails.
        after = world.eof(RelaydSock(HOSTILE))
        if not expected.complete:
            got = scenario.answer(after)
            if expected.answer is not None:
                assert got == expected.answer
        else:
            assert not scenario.answer(after)
        _check_relay(world, cleaned=True)
        assert world.core.in_flight(Sock.COMMAND) is None
        _other_session_works(world)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@SETTINGS
@given(data=st.data())
def test_a_hostile_relay_reply(scenario: Scenario, data: st.DataObject) -> None:
    replies = data.draw(scenario.replies, label="replies")
    pieces = data.draw(_splits(replies), label="pieces")
    _run(scenario, pieces)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@settings(SETTINGS, max_examples=5)
@given(data=st.data())
def test_a_hostile_relay_reply_one_byte_at_a_time(scenario: Scenario, data: st.DataObject) -> None:
    replies = data.draw(scenario.replies, label="replies")
    _run(scenario, [replies[i : i + 1] for i in range(len(replies))])


def _codes(*codes: int) -> bytes:
    return b"".join(code.to_bytes(4, "big") for code in codes)


def _added(*codes: int) -> bytes:
    """``lttcomm_relayd_status_stream`` replies (handle 77) with these codes."""
    return b"".join((77).to_bytes(8, "big") + _codes(code) for code in codes)


NEGATIVE = 2**31
"""A code C's ``int`` reads as negative."""
ERR = LTTNG_OK + 1
EDGES = [
    ("GET_CHANNEL/ADD_STREAM", _added(LTTNG_OK, LTTNG_OK)),
    ("GET_CHANNEL/ADD_STREAM", _added(LTTNG_OK, ERR)),
    ("GET_CHANNEL/ADD_STREAM", _added(NEGATIVE)),
    ("GET_CHANNEL/ADD_STREAM", _added(LTTNG_OK)[:-1]),
    ("SETUP_METADATA/ADD_STREAM+STREAMS_SENT", _added(ERR)),
    ("SETUP_METADATA/ADD_STREAM+STREAMS_SENT", _added(LTTNG_OK) + _codes(ERR)),
    ("SETUP_METADATA/ADD_STREAM+STREAMS_SENT", _added(LTTNG_OK) + _codes(LTTNG_OK)),
    ("SETUP_METADATA/ADD_STREAM+STREAMS_SENT", _added(LTTNG_OK) + b"\0"),
    ("DATA_PENDING", _codes(ERR)),
    ("DATA_PENDING", _codes(LTTNG_OK, 1)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, ERR, LTTNG_OK, 0)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, NEGATIVE)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, 0, 0)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, 0, LTTNG_OK, 1)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, 0, LTTNG_OK, LTTNG_OK)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, 0, LTTNG_OK, 2**32 - 1)),
    ("DATA_PENDING", _codes(LTTNG_OK, 0, 0, LTTNG_OK)),
    ("ROTATE_CHANNEL/ROTATE_STREAMS", _codes(LTTNG_OK)),
    ("ROTATE_CHANNEL/ROTATE_STREAMS", _codes(0)),
    ("CREATE_TRACE_CHUNK", _codes(LTTNG_OK)),
    ("CREATE_TRACE_CHUNK", _codes(ERR)),
    ("CREATE_TRACE_CHUNK", _codes(ERR, ERR, 1) + b"\0"),
    ("CREATE_TRACE_CHUNK", _codes(ERR, LTTNG_OK, 4096)),
    ("CREATE_TRACE_CHUNK", _codes(ERR, LTTNG_OK, 3) + b"a"),
    ("CLOSE_TRACE_CHUNK", _codes(LTTNG_OK, 6) + b"a\0bcd\0"),
    ("CLOSE_TRACE_CHUNK", _codes(LTTNG_OK, 3) + b"abc"),
    ("CLOSE_TRACE_CHUNK", _codes(ERR, 2) + b"a\0"),
    ("CLOSE_TRACE_CHUNK", _codes(LTTNG_OK, 0)),
    ("CLOSE_TRACE_CHUNK", _codes(LTTNG_OK, 4095) + bytes(4094)),
    ("CLOSE_TRACE_CHUNK", _codes(LTTNG_OK, 4096) + bytes(4096)),
    ("CLOSE_TRACE_CHUNK", _codes(LTTNG_OK, 2**32 - 1)),
    ("TRACE_CHUNK_EXISTS", _codes(LTTNG_OK) + b"\1"),
    ("TRACE_CHUNK_EXISTS", _codes(LTTNG_OK) + b"\2"),
    ("TRACE_CHUNK_EXISTS", _codes(LTTNG_OK) + b"\0"),
    ("TRACE_CHUNK_EXISTS", _codes(ERR) + b"\1"),
    ("SEND_INDEX", _codes(LTTNG_OK, LTTNG_OK)),
    ("SEND_INDEX", _codes(LTTNG_OK, ERR)),
    ("SEND_INDEX", _codes(LTTNG_OK)),
    ("RESET_METADATA", _codes(ERR)),
    ("RESET_METADATA", _codes(LTTNG_OK)),
    ("CLOSE_STREAM", _codes(ERR)),
    ("CLOSE_STREAM", _codes(LTTNG_OK, LTTNG_OK)),
]
"""One reply stream per branch of each oracle (hypothesis may miss a narrow one)."""
BY_NAME = {s.name: s for s in SCENARIOS}


@pytest.mark.parametrize(
    ("name", "replies"), EDGES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EDGES)]
)
def test_each_branch_of_the_c_reading(name: str, replies: bytes) -> None:
    """Among them: a close reply announcing a 2**32-1 byte path is refused on the
    length alone (``relayd_close_trace_chunk``, relayd.c:1462-1467), without waiting
    for the path."""
    _run(BY_NAME[name], [replies])


# -- the metadata socket ----------------------------------------------------------------------
#
# lttng_ustconsumer_request_metadata (ust-consumer.c:3360-3431) reads a whole
# lttcomm_consumer_msg: EOF before all of it is a short read (3370-3381,
# lttcomm_recv_unix_sock returns 0): ERROR_RECV_CMD on the error socket, and the
# request returns 0, as done. cmd_type LTTNG_ERR_UND is acknowledged with SUCCESS
# (3385-3390); any other cmd_type than PUSH_METADATA fails the request, nothing sent
# (3391-3395); PUSH_METADATA gets SUCCESS, then with len > 0 the len bytes and a final
# status from lttng_ustconsumer_recv_metadata (1276-1379).
#
# Where ustref differs on purpose: C asserts that the key is the channel's (3402) and
# aborts, ustref serves the channel it asked for; C extends the cache over a hole
# (consumer-metadata-cache.c:97-105), ustref refuses a push beyond the cache's end with
# ERROR_METADATA (ustref.consumerd.metadata); a len C cannot allocate answers ENOMEM
# there (1286-1291), ustref waits for the bytes as they come; a payload cut short by
# EOF is cached zero-filled by C (recv returns 0, not < 0: 1296-1301), ustref fails the
# request.

META = 5
"""The metadata channel's key."""
PUSH = int(Cmd.LTTNG_CONSUMER_PUSH_METADATA)
UND = int(LttngErrorCode.LTTNG_ERR_UND)
MSG_HEAD = 4 + 32
"""cmd_type and ``lttcomm_consumer_msg.u.push_metadata`` (key, offset, len, version)."""


def _metadata_oracle(r: Replies) -> Outcome:
    """The statuses the consumer sends on the metadata socket (an empty cache)."""
    msg = r.take(CONSUMER_MSG_SIZE)
    if msg is None:
        return Outcome([], cleaned=True, complete=False, eof_error=True)
    cmd = int.from_bytes(msg[:4], "little")
    if cmd == UND:
        return Outcome([Code.LTTCOMM_CONSUMERD_SUCCESS], cleaned=False)
    if cmd != PUSH:
        return Outcome([], cleaned=False)
    offset, length = (int.from_bytes(msg[i : i + 8], "little") for i in (12, 20))
    sent: list[object] = [Code.LTTCOMM_CONSUMERD_SUCCESS]
    if length == 0:
        return Outcome(sent, cleaned=False)
    if r.take(length) is None:
        return _waiting(sent)
    if offset > 0:
        return Outcome([*sent, Code.LTTCOMM_CONSUMERD_ERROR_METADATA], cleaned=False)
    return Outcome([*sent, Code.LTTCOMM_CONSUMERD_SUCCESS], cleaned=False)


def _push_message(
    cmd: int, key: int, offset: int, length: int, *, version: int = 0, tail: bytes = b""
) -> bytes:
    head = cmd.to_bytes(4, "little") + b"".join(
        v.to_bytes(8, "little") for v in (key, offset, length, version)
    )
    return (head + tail)[:CONSUMER_MSG_SIZE].ljust(CONSUMER_MSG_SIZE, b"\0")


U64 = st.integers(0, U64_MAX)


@st.composite
def _metadata_replies(draw: st.DrawFn) -> bytes:
    """A metadata-socket reply: a PUSH_METADATA-shaped message with hostile fields
    (command, key, offset, length, version, union tail) and payload bytes, or random
    bytes; possibly cut short."""
    kind = draw(st.sampled_from(["push", "push", "push", "und", "other", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=64))
    cmd = {"push": PUSH, "und": UND}.get(kind) or draw(st.integers(0, 2**32 - 1))
    key = draw(st.one_of(st.just(META), U64))
    offset = draw(st.one_of(st.sampled_from([0, 0, 1, 2**31, 2**63]), U64))
    length = draw(st.one_of(st.sampled_from([0, 1, 17, 2**31, 2**63, U64_MAX]), st.integers(0, 64)))
    version = draw(st.one_of(st.just(0), U64))
    tail = draw(st.one_of(st.just(b""), st.binary(max_size=64)))
    small = min(length, 64)
    payload = draw(st.binary(min_size=small, max_size=small + 16))
    data = _push_message(cmd, key, offset, length, version=version, tail=tail) + payload
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


METADATA_REPLIES = _metadata_replies()


def _metadata_world(world: World) -> Channel:
    channel = _channel(
        META,
        ChannelType.METADATA,
        name="metadata",
        session_id_per_pid=9,
        monitor=False,
        ust_app_uid=1000,
    )
    channel.metadata_cache = MetadataCache()
    world.core.registry.channels[channel.key] = channel
    return channel


def _timer_start(world: World) -> list[Action]:
    """``metadata_switch_timer`` (consumer-timer.c) asks; no command waits."""
    channel = _metadata_world(world)
    channel.metadata_timer = PeriodicTimer.armed(0, SECOND)
    world.core.handle_timer(SECOND)
    return world.take()


def _snapshot_start(world: World) -> list[Action]:
    """SNAPSHOT_CHANNEL of the metadata (``snapshot_metadata``, ust-consumer.c) asks
    while the command waits: its answer is SNAPSHOT_FAILED whatever the request
    brings, as the fake ring creates no metadata stream to snapshot into (and C
    answers SNAPSHOT_FAILED when the request fails)."""
    channel = _metadata_world(world)
    channel.trace_chunk = TraceChunk(chunk_id=None, creation_time=None)
    snapshot = SnapshotChannelMember(
        pathname="",
        use_relayd=0,
        metadata=1,
        relayd_id=U64_MAX,
        key=META,
        nb_packets_per_stream=0,
    )
    return world.command(_msg(Cmd.LTTNG_CONSUMER_SNAPSHOT_CHANNEL, snapshot))


def _command_answered(world: World) -> None:
    """A command that needs no metadata is answered (DESTROY_CHANNEL of no channel)."""
    sent = world.command(_msg(Cmd.LTTNG_CONSUMER_DESTROY_CHANNEL, KeyArgs(key=99)))
    assert _statuses(sent) == [Code.LTTCOMM_CONSUMERD_SUCCESS]


def _run_metadata(start: Callable[[World], list[Action]], pieces: Sequence[bytes]) -> None:
    expected = _metadata_oracle(Replies(b"".join(pieces)))
    by_command = start is _snapshot_start
    with _world() as world:
        actions = start(world)
        assert len(_to(actions, Sock.METADATA)) == 1, "the request went out"
        actions = world.feed(Sock.METADATA, pieces)
        assert _statuses(actions, Sock.METADATA) == expected.answer
        waiting = world.core.in_flight(Sock.METADATA) is not None
        assert waiting == (not expected.complete)
        if by_command:
            command = _statuses(actions)
            assert command == ([] if waiting else [Code.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED])
        else:
            # The timer's request holds the metadata slot alone: commands go on.
            assert not _to(actions, Sock.COMMAND)
            _command_answered(world)
        assert not _to(actions, Sock.ERROR)
        after = world.eof(Sock.METADATA)
        assert not _to(after, Sock.METADATA)
        errors = [ERROR_SOCKET_CODE.parse(raw).code for raw in _to(after, Sock.ERROR)]
        assert errors == ([Code.LTTCOMM_CONSUMERD_ERROR_RECV_CMD] if expected.eof_error else [])
        if by_command:
            assert _statuses(after) == ([Code.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED] if waiting else [])
        assert world.core.in_flight(Sock.METADATA) is None
        assert world.core.in_flight(Sock.COMMAND) is None
        assert not world.core.closed
        _command_answered(world)
        _other_session_works(world)


METADATA_STARTS = [_timer_start, _snapshot_start]


@pytest.mark.parametrize("start", METADATA_STARTS, ids=["timer", "snapshot"])
@SETTINGS
@given(data=st.data())
def test_a_hostile_metadata_reply(
    start: Callable[[World], list[Action]], data: st.DataObject
) -> None:
    replies = data.draw(METADATA_REPLIES, label="replies")
    pieces = data.draw(_splits(replies), label="pieces")
    _run_metadata(start, pieces)


@pytest.mark.parametrize("start", METADATA_STARTS, ids=["timer", "snapshot"])
@settings(SETTINGS, max_examples=3)
@given(replies=METADATA_REPLIES)
@example(replies=_push_message(PUSH, META, 0, 5) + b"trace")
@example(replies=_push_message(PUSH, META, 3, 5) + b"trace")
@example(replies=_push_message(UND, 0, 0, 0))
@example(replies=_push_message(PUSH, META, 0, 2**63) + b"x" * 10)
@example(replies=_push_message(PUSH, META, 0, 5, tail=b"\xff" * 64)[:-1])
def test_a_hostile_metadata_reply_one_byte_at_a_time(
    start: Callable[[World], list[Action]], replies: bytes
) -> None:
    _run_metadata(start, [replies[i : i + 1] for i in range(len(replies))])


@pytest.mark.parametrize("length", [2**31, 2**63, U64_MAX])
def test_a_huge_metadata_length_waits_for_bytes_without_allocating(length: int) -> None:
    """PUSH_METADATA announcing ``length`` bytes: SUCCESS, then the request waits for
    the bytes as they come (ustref; C's zmalloc fails and answers ENOMEM). What the
    core holds is what arrived — nothing is allocated for the announced length — and
    commands go on meanwhile; EOF ends the request."""
    push = _push_message(PUSH, META, 0, length)
    chunk = bytes(64 * 1024)
    with _world() as world:
        _timer_start(world)
        tracemalloc.start()
        try:
            sent = world.feed(Sock.METADATA, [push] + [chunk] * 16)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert _statuses(sent, Sock.METADATA) == [Code.LTTCOMM_CONSUMERD_SUCCESS]
        assert peak < 8 * 1024 * 1024  # 1 MiB fed, whatever was announced
        assert world.core.in_flight(Sock.METADATA) is not None
        _command_answered(world)
        assert not _to(world.eof(Sock.METADATA), Sock.METADATA)
        assert world.core.in_flight(Sock.METADATA) is None
        _command_answered(world)


@pytest.mark.parametrize(
    ("replies", "answer"),
    [
        (_added(ERR), Code.LTTCOMM_CONSUMERD_ERROR_METADATA),
        (_added(LTTNG_OK) + _codes(ERR), Code.LTTCOMM_CONSUMERD_RELAYD_FAIL),
        (b"", Code.LTTCOMM_CONSUMERD_ERROR_METADATA),
    ],
    ids=["add-stream", "streams-sent", "eof"],
)
def test_a_failed_metadata_announcement_deletes_the_metadata_channel(
    replies: bytes, answer: int
) -> None:
    """``setup_metadata``'s error path (ust-consumer.c:909-922, 944-953):
    ``consumer_stream_destroy`` of the metadata stream, whose reference was its
    channel's last (``unref_channel``, consumer-stream.c:1034-1049), so the channel is
    deleted too: a second SETUP_METADATA finds no channel. A relay already gone
    (``consumer_send_relayd_stream`` finds none) takes the same path."""
    with _world() as world:
        _setup_metadata_start(world)
        sent = (
            world.feed(RelaydSock(HOSTILE), [replies])
            if replies
            else world.eof(RelaydSock(HOSTILE))
        )
        assert _statuses(sent) == [answer]
        assert ChannelKey(9) not in world.core.registry.channels
        again = world.command(_msg(Cmd.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=9)))
        assert _statuses(again) == [LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND]
        # A metadata channel on a relay already gone.
        channel = _channel(13, ChannelType.METADATA, relayd_id=RelaydId(HOSTILE))
        _stream(channel, 0, 31)
        world.core.registry.channels[channel.key] = channel
        if RelaydId(HOSTILE) in world.core.registry.relayds:
            world.eof(RelaydSock(HOSTILE))
        gone = world.command(_msg(Cmd.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=13)))
        assert _statuses(gone) == [Code.LTTCOMM_CONSUMERD_ERROR_METADATA]
        assert ChannelKey(13) not in world.core.registry.channels


def test_a_refused_chunk_creation_is_closed_on_the_relay() -> None:
    """``lttng_consumer_create_trace_chunk``'s roll-back (consumer.c:4877-4887):
    RELAYD_CREATE_TRACE_CHUNK refused, the consumer sends RELAYD_CLOSE_TRACE_CHUNK for
    that chunk at its creation timestamp with no close command, reads the reply, and
    only then answers CREATE_TRACE_CHUNK_FAILED; the relay is kept."""
    with _world() as world:
        world.command(_create_chunk(1))
        sent = world.feed(RelaydSock(HOSTILE), [_codes(ERR)])
        assert not _to(sent, Sock.COMMAND)
        (raw,) = _to(sent, RelaydSock(HOSTILE))
        header = HDR.parse(raw[: HDR.size])
        assert header.cmd is LttcommRelaydCommand.RELAYD_CLOSE_TRACE_CHUNK
        close = CLOSE_TRACE_CHUNK.parse(raw[HDR.size :])
        assert (close.chunk_id, close.close_timestamp) == (1, 1_700_000_000)
        assert not close.close_command.is_set
        done = world.feed(RelaydSock(HOSTILE), [_codes(LTTNG_OK, 2) + b"p\0"])
        assert _statuses(done) == [Code.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED]
        _check_relay(world, cleaned=False)


def test_a_relay_flood_is_not_kept() -> None:
    """A relay that sends far more than the replies it owes: the exchanges waiting on
    it take their replies, the bytes that arrive once none waits are dropped, so what
    the core holds stays within one read of the shell, however much the relay sends."""
    flood = _codes(LTTNG_OK) * (16 * 1024)  # 64 KiB of well-formed replies per read
    with _world() as world:
        _index_start(world)
        tracemalloc.start()
        try:
            world.feed(RelaydSock(HOSTILE), [flood] * 32)  # 2 MiB
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 512 * 1024
        _check_relay(world, cleaned=False)
        _other_session_works(world)


@pytest.mark.parametrize(
    "error_peer_alive", [True, False], ids=["error-socket", "dead-error-socket"]
)
def test_the_shell_sends_the_short_read_code_and_goes_on(error_peer_alive: bool) -> None:
    """The shell's side of a metadata reply cut short by EOF: ERROR_RECV_CMD goes out on
    the error socket; a failure to send it is ignored (``lttng_consumer_send_error``'s
    return is ignored there), the daemon goes on."""
    core = Core()
    channel = _channel(META, ChannelType.METADATA, monitor=False)
    channel.metadata_cache = MetadataCache()
    channel.metadata_timer = PeriodicTimer.armed(0, SECOND)
    core.registry.channels[channel.key] = channel
    shell = Shell(Paths(command="", error="", health=""), core)
    metadata, metadata_peer = socket.socketpair()
    error, error_peer = socket.socketpair()
    shell.socks[Sock.METADATA], shell.socks[Sock.ERROR] = metadata, error
    try:
        core.handle_timer(SECOND)
        shell._flush_actions()
        assert len(metadata_peer.recv(1 << 16)) == METADATA_REQUEST_MSG.size
        if not error_peer_alive:
            error_peer.close()
        core.receive(Sock.METADATA, b"", [], SECOND)
        shell._flush_actions()
        assert not core.closed
        if error_peer_alive:
            code = ERROR_SOCKET_CODE.parse(error_peer.recv(16)).code
            assert code is Code.LTTCOMM_CONSUMERD_ERROR_RECV_CMD
    finally:
        for sock in (metadata, metadata_peer, error, error_peer):
            sock.close()
        shell.sel.close()
