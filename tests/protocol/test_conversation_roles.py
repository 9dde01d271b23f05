"""The conversation machine playing a side: a consumer and a session daemon over socketpairs.

Both peers are :class:`Conversation` objects — the consumer with
``our_role=CONSUMERD``, the session daemon with ``our_role=SESSIOND`` — and
the bytes and descriptors each ``send`` returns really travel through Unix
socketpairs (:mod:`ustref.transport`), so the descriptors the session daemon
receives are live ones, checked by writing through them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ustref.errors import LocalProtocolError, RemoteProtocolError, UstrefError
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    ConsumerMsgV2139,
    ConsumerStatusMsg,
    ErrorSocketCode,
    KeyArgs,
    LttngConsumerCommand,
)
from ustref.protocol.conversation import FD_CARRIER, Conversation, Decoded, Role, Socket
from ustref.protocol.conversation.rules import STARTUP_CODE
from ustref.protocol.handover import (
    UstctlChannelSize,
    UstctlChannelType,
    UstctlStreamListEndMarker,
    UstctlStreamMemoryMapSize,
    UstctlStreamNr,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.ust_abi import LttngUstAbiChanType
from ustref.transport import close_fds, recv_some, send_all

SUCCESS = ConsumerStatusMsg(ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
GET_CHANNEL = ConsumerMsgV2139(
    cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, u=KeyArgs(key=7)
)


@dataclass
class Pair:
    """A consumer and a session daemon machine, and one socketpair per socket."""

    consumerd: Conversation
    sessiond: Conversation
    links: dict[Socket, tuple[socket.socket, socket.socket]]
    """socket → (consumer's end, session daemon's end)."""

    def transfer(
        self, sender: Conversation, socket_id: Socket, message: object, fds: tuple[int, ...] = ()
    ) -> list[Decoded]:
        """``sender`` sends ``message`` (with ``fds``); the other side reads until
        nothing is pending in the kernel; its events."""
        ours, theirs = self.links[socket_id]
        if sender is self.sessiond:
            ours, theirs = theirs, ours
        receiver = self.sessiond if sender is self.consumerd else self.consumerd
        send_all(ours, sender.send(socket_id, message, fds), fds)
        events: list[Decoded] = []
        theirs.setblocking(False)
        while True:
            try:
                got = recv_some(theirs)
            except UstrefError:
                break
            events += receiver.receive(socket_id, got.data, got.fds)
            if not got.data:
                break
        theirs.setblocking(True)
        return events


@pytest.fixture
def pair() -> Iterator[Pair]:
    links = {s: socket.socketpair() for s in (Socket.ERROR, Socket.COMMAND, Socket.METADATA)}
    yield Pair(Conversation(our_role=Role.CONSUMERD), Conversation(our_role=Role.SESSIOND), links)
    for a, b in links.values():
        a.close()
        b.close()


def _start(pair: Pair) -> None:
    events = pair.transfer(pair.consumerd, Socket.ERROR, ErrorSocketCode(code=STARTUP_CODE))
    assert [e.value.code for e in events] == [STARTUP_CODE]
    assert pair.sessiond.ready and pair.consumerd.ready


def test_startup_rule_binds_both_sides(pair: Pair) -> None:
    # No command before the consumer's ready code: a session daemon refuses to send
    # one, a consumer that gets one names the session daemon as the culprit.
    with pytest.raises(LocalProtocolError, match=STARTUP_CODE.name):
        pair.sessiond.send(Socket.COMMAND, GET_CHANNEL)
    with pytest.raises(RemoteProtocolError) as info:
        pair.consumerd.receive(Socket.COMMAND, CONSUMER_MSG[Abi.V2_13_9].build(GET_CHANNEL))
    assert info.value.sender == Role.SESSIOND.value
    assert info.value.socket == "command"
    # ...and the consumer's first code must be the ready code (refused, state kept).
    fatal = ErrorSocketCode(code=LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL)
    consumerd = Conversation(our_role=Role.CONSUMERD)
    with pytest.raises(LocalProtocolError, match=STARTUP_CODE.name):
        consumerd.send(Socket.ERROR, fatal)
    assert consumerd.send(Socket.ERROR, ErrorSocketCode(code=STARTUP_CODE))
    assert consumerd.ready


def test_get_channel_handover_with_real_fds(pair: Pair) -> None:
    _start(pair)
    consumerd, sessiond = pair.consumerd, pair.sessiond
    # Out of order: the consumer cannot answer before a command came, nor open one.
    with pytest.raises(LocalProtocolError, match="not our turn") as info:
        consumerd.send(Socket.COMMAND, SUCCESS)
    assert info.value.socket == "command"
    assert consumerd.our_turn(Socket.COMMAND) is None
    events = pair.transfer(sessiond, Socket.COMMAND, GET_CHANNEL)
    assert [(e.step, e.value.u.key) for e in events] == [("command", 7)]
    # Not the session daemon's turn now; and the consumer owes the status first.
    with pytest.raises(LocalProtocolError, match="not our turn"):
        sessiond.send(Socket.COMMAND, GET_CHANNEL)
    with pytest.raises(LocalProtocolError, match="status"):
        consumerd.send(Socket.COMMAND, UstctlChannelSize(size=5))
    assert consumerd.our_turn(Socket.COMMAND).name == "status.before"  # type: ignore[union-attr]

    got: list[Decoded] = []
    opened: list[int] = []
    try:
        got += pair.transfer(consumerd, Socket.COMMAND, SUCCESS)
        got += pair.transfer(consumerd, Socket.COMMAND, UstctlChannelSize(size=5))
        got += pair.transfer(
            consumerd,
            Socket.COMMAND,
            UstctlChannelType(type=LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU),
        )
        got += pair.transfer(consumerd, Socket.COMMAND, b"chan!")
        wakeup_r, wakeup_w = os.pipe()
        opened += [wakeup_r, wakeup_w]
        with pytest.raises(LocalProtocolError, match="1 descriptor"):
            consumerd.send(Socket.COMMAND, None, (wakeup_w, wakeup_w))
        got += pair.transfer(consumerd, Socket.COMMAND, None, (wakeup_w,))
        stream_ends = []
        for cpu in range(2):
            shm = os.memfd_create(f"stream{cpu}")
            pipe_r, pipe_w = os.pipe()
            opened += [shm, pipe_r, pipe_w]
            stream_ends.append(pipe_r)
            got += pair.transfer(
                consumerd, Socket.COMMAND, UstctlStreamMemoryMapSize(memory_map_size=8192)
            )
            # Mid-stream, the stream number is due, not the end of the list.
            with pytest.raises(LocalProtocolError):
                consumerd.send(Socket.COMMAND, UstctlStreamListEndMarker())
            got += pair.transfer(consumerd, Socket.COMMAND, UstctlStreamNr(stream_nr=cpu))
            got += pair.transfer(consumerd, Socket.COMMAND, FD_CARRIER, (shm, pipe_w))
        got += pair.transfer(consumerd, Socket.COMMAND, UstctlStreamListEndMarker())
        got += pair.transfer(consumerd, Socket.COMMAND, SUCCESS)

        assert [e.step for e in got] == [
            "status.before",
            "channel.size",
            "channel.type",
            "channel.data",
            "channel.wakeup_fd",
            *["stream.memory_map_size", "stream.stream_nr", "stream.shm_fd+wakeup_fd"] * 2,
            "streams.end",
            "status",
        ]
        received = [e for e in got if e.descriptors]
        opened += [fd for e in received for fd in e.descriptors]
        assert [len(e.descriptors) for e in received] == [1, 2, 2]
        # The descriptors are live: writing through the received ones reaches our pipes.
        os.write(received[0].descriptors[0], b"w")
        assert os.read(wakeup_r, 1) == b"w"
        for event, pipe_r in zip(received[1:], stream_ends, strict=True):
            os.write(event.descriptors[1], b"s")
            assert os.read(pipe_r, 1) == b"s"
        # The exchange is over: both sides agree, and the session daemon may command again.
        assert consumerd.awaiting(Socket.COMMAND) is None
        assert sessiond.awaiting(Socket.COMMAND) is None
        assert sessiond.our_turn(Socket.COMMAND) is not None
    finally:
        close_fds(opened)


def test_peer_breaking_the_rules_is_named(pair: Pair) -> None:
    _start(pair)
    pair.transfer(pair.sessiond, Socket.COMMAND, GET_CHANNEL)
    # A status that does not decode, from the consumer: the session daemon names it.
    with pytest.raises(RemoteProtocolError) as info:
        pair.sessiond.receive(Socket.COMMAND, (12345).to_bytes(4, "little"))
    assert (info.value.sender, info.value.socket, info.value.direction) == (
        "consumerd",
        "command",
        "consumerd->sessiond",
    )
    assert info.value.index == 0


def test_observer_cannot_play_and_players_cannot_observe() -> None:
    with pytest.raises(LocalProtocolError):
        Conversation().send(Socket.COMMAND, GET_CHANNEL)
    with pytest.raises(LocalProtocolError):
        Conversation(our_role=Role.CONSUMERD).observe(Socket.COMMAND, Role.SESSIOND.sends, b"", 0)
