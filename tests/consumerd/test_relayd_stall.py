"""A relay daemon that stops reading never blocks ustref-consumerd: the shell writes
relay sockets without blocking, keeps what they do not take, and the core stops
consuming that relay's streams (only those) until the backlog drains."""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.consumerd.fakes import bare_channel
from tests.consumerd.test_relayd_cleanup import NoStream
from tests.consumerd.test_relayd_client import PACKET_INDEX, _subbuf
from ustref.consumerd import effects, loop
from ustref.consumerd import relayd as client
from ustref.consumerd.core import RELAY_QUEUE_LIMIT, Core
from ustref.consumerd.exchange import RelaydSock, SendRelaydData
from ustref.consumerd.loop import EXIT_RELAY_WAIT_NS, Shell
from ustref.consumerd.registry import ChannelType, RelaydPair, Stream
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.ring_backend import UstStream
from ustref.consumerd.startup import Paths
from ustref.ids import RelaydId, SessionId, StreamKey
from ustref.protocol.relayd import (
    CLOSE_STREAM,
    GENERIC_REPLY,
    HDR,
    LttcommRelaydCommand,
    RelaydGenericReply,
)

NET = 3
BIG = 8 * 1024 * 1024
"""More than any socket buffer takes at once."""


@dataclass
class Relay:
    shell: Shell
    control_peer: socket.socket
    data_peer: socket.socket
    data_fd: int
    streamed: Stream
    local: Stream

    @property
    def core(self) -> Core:
        return self.shell.core


def _stream(channel_key: int, output: RelayOutput | None) -> Stream:
    channel = bare_channel(channel_key, ChannelType.DATA, session_id=SessionId(1))
    stream = Stream(
        key=StreamKey(channel_key),
        channel=channel,
        cpu=0,
        ust=cast(UstStream, NoStream()),
        wait_fd=-1,
    )
    stream.output = output
    channel.streams.append(stream)
    return stream


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A shell (not started: no session daemon) whose core holds relay ``NET``, the
    peer ends of its sockets never read, a stream sent to it and a local one."""
    core = Core()
    control, control_peer = socket.socketpair()
    data, data_peer = socket.socketpair()
    pair = RelaydPair(sessiond_session_id=SessionId(1), control_fd=control.detach())
    pair.data_fd = data.detach()
    core.registry.relayds[RelaydId(NET)] = pair
    core.open_relayd_slot(RelaydSock(NET))
    output = RelayOutput(
        core,
        client.Relayd(RelaydSock(NET), 2, 13),
        name="chan_0",
        relay_stream_id=1,
        metadata=False,
    )
    streamed, local = _stream(1, output), _stream(2, None)
    for stream in (streamed, local):
        core.registry.channels[stream.channel.key] = stream.channel
    shell = Shell(Paths(command="", error="", health=""), core)
    try:
        yield Relay(shell, control_peer, data_peer, pair.data_fd, streamed, local)
    finally:
        pair.close()
        control_peer.close()
        data_peer.close()
        shell.sel.close()


def _send_data(relay: Relay, data: bytes) -> None:
    relay.core.act(SendRelaydData(NET, (data,)))
    relay.shell._flush_actions()


def _read_what_came(peer: socket.socket) -> int:
    got = 0
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return got
        got += len(chunk)


def test_a_relay_that_stops_reading_stalls_only_its_own_streams(relay: Relay) -> None:
    _send_data(relay, b"x" * BIG)  # returns: the shell never blocks on a relay
    backlog = relay.shell.relay_out.pending(relay.data_fd)
    assert 0 < backlog < BIG
    assert relay.core.stalled_relayds == {NET}
    assert not relay.core.consumes(relay.streamed)
    assert relay.core.consumes(relay.local)
    # More packets queue behind the backlog, in order.
    _send_data(relay, b"y" * 10)
    assert relay.shell.relay_out.pending(relay.data_fd) == backlog + 10
    # The relay reads again: each writable turn takes more, until none is left.
    relay.data_peer.setblocking(False)
    received = 0
    while relay.core.stalled_relayds:
        for key, mask in relay.shell.sel.select(1):
            assert mask & selectors.EVENT_WRITE
            relay.shell._relay_writable(key.fd)
        received += _read_what_came(relay.data_peer)
    received += _read_what_came(relay.data_peer)
    assert received == BIG + 10
    assert relay.shell.relay_out.pending(relay.data_fd) == 0
    assert relay.core.consumes(relay.streamed)
    assert not relay.shell.sel.get_map()  # no longer watched


def test_a_relay_gone_while_stalled_is_cleaned_up(relay: Relay) -> None:
    _send_data(relay, b"x" * BIG)
    assert relay.core.stalled_relayds == {NET}
    relay.data_peer.close()
    for key, mask in relay.shell.sel.select(1):
        assert mask & selectors.EVENT_WRITE
        relay.shell._relay_writable(key.fd)
    relay.shell._flush_actions()
    assert RelaydId(NET) not in relay.core.registry.relayds
    assert not relay.core.stalled_relayds
    assert relay.shell.relay_out.fds() == []
    assert isinstance(relay.streamed.output, RelayOutput)
    assert relay.streamed.output.inactive


def _close_stream_request(peer: socket.socket) -> int:
    """The relay stream id of the RELAYD_CLOSE_STREAM the peer received."""
    raw = peer.recv(HDR.size + CLOSE_STREAM.size)
    assert HDR.parse(raw[: HDR.size]).cmd is LttcommRelaydCommand.RELAYD_CLOSE_STREAM
    return int(CLOSE_STREAM.parse(raw[HDR.size :]).stream_id)


def test_at_exit_the_shell_waits_for_the_close_stream_replies(relay: Relay) -> None:
    """The relay answers the RELAYD_CLOSE_STREAM of the stream still open at exit:
    the pair is closed once the reply came, well before the wait's bound."""
    ok = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK))
    relay.control_peer.sendall(ok)  # the reply is there before the question
    started = time.monotonic_ns()
    relay.core.shutdown(started)
    relay.shell._flush_actions()
    relay.shell._relay_replies_at_exit()
    assert not relay.core.relay_exchanges_pending()
    assert time.monotonic_ns() - started < EXIT_RELAY_WAIT_NS
    assert _close_stream_request(relay.control_peer) == 1
    relay.core.finish_shutdown(0)
    assert not relay.core.registry.relayds


def test_at_exit_a_silent_relay_is_given_up(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop, "EXIT_RELAY_WAIT_NS", 200_000_000)
    relay.core.shutdown(0)
    relay.shell._flush_actions()
    relay.shell._relay_replies_at_exit()  # returns: the relay never answers
    assert relay.core.relay_exchanges_pending()
    relay.core.finish_shutdown(0)
    assert not relay.core.relay_exchanges_pending()
    assert not relay.core.registry.relayds
    assert relay.control_peer.recv(1024, socket.MSG_PEEK)  # it was asked, though


def test_a_relay_that_never_answers_stops_only_its_streams(relay: Relay) -> None:
    """Index sends queue on the relay's control socket while it does not answer; past
    ``RELAY_QUEUE_LIMIT`` of them its streams are no longer consumed (C's data thread
    waits for the first reply), other streams are; its replies resume them."""
    core = relay.core
    output = relay.streamed.output
    assert isinstance(output, RelayOutput)
    for _ in range(RELAY_QUEUE_LIMIT + 1):  # the first is in flight, the rest queued
        output.write_subbuffers([_subbuf(b"event", 64)], [PACKET_INDEX])
    core.take_actions()
    assert not core.consumes(relay.streamed)
    assert core.consumes(relay.local)
    ok = GENERIC_REPLY.build(RelaydGenericReply(ret_code=client.LTTNG_OK))
    core.receive(RelaydSock(NET), ok, [], 0)  # one answered: one fewer queued
    assert core.consumes(relay.streamed)
    assert not core._queue_stalled


def test_a_full_relay_queue_holds_back_no_metadata_and_no_closing_stream(relay: Relay) -> None:
    """The queue limit stops data consumption only: a metadata stream of the same relay
    is still consumed (PUSH_METADATA's metadata reached the relay before CLOSE_METADATA
    closed it: an empty relay metadata file was clear/test_ust's "overwrite files"
    failure), and a hung-up data stream is read to its end."""
    core = relay.core
    output = relay.streamed.output
    assert isinstance(output, RelayOutput)
    for _ in range(RELAY_QUEUE_LIMIT + 1):
        output.write_subbuffers([_subbuf(b"event", 64)], [PACKET_INDEX])
    core.take_actions()
    assert not core.consumes(relay.streamed)
    assert core.consumes(relay.streamed, closing=True)
    metadata = _stream(3, output)
    metadata.channel.type = ChannelType.METADATA
    assert core.consumes(metadata)


@given(st.lists(st.integers(1, 200_000), min_size=1, max_size=12))
@settings(max_examples=20, deadline=None)
def test_the_outbox_sends_gathered_parts_in_order_whatever_the_socket_takes(
    sizes: list[int],
) -> None:
    """Packets sent as several parts (one ``sendmsg``), a socket that takes only some
    of them: what it did not take is queued from the right byte, and the peer reads
    every part, in order, once the queue is flushed."""
    parts = [bytes([n % 251]) * size for n, size in enumerate(sizes)]
    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    peer.setblocking(False)
    outbox = effects.RelayOutbox()
    got = bytearray()
    try:
        outbox.send(ours.fileno(), parts[: len(parts) // 2])
        outbox.send(ours.fileno(), parts[len(parts) // 2 :])
        while outbox.pending(ours.fileno()):
            got += _drain_peer(peer)
            outbox.flush(ours.fileno())
        got += _drain_peer(peer)
    finally:
        ours.close()
        peer.close()
    assert bytes(got) == b"".join(parts)


def _drain_peer(peer: socket.socket) -> bytes:
    got = bytearray()
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return bytes(got)
        got += chunk
