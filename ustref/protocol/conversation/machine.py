"""The sans-IO conversation decoder.

Feed it what moved on each socket in each direction — bytes and the number of
descriptors that came with them, in the order they moved — and it yields typed
:class:`Decoded` messages, following the table in
:mod:`ustref.protocol.conversation.rules`. It never touches a socket: the
capture decoder feeds it recorded syscalls, and ustref's consumer daemon will
feed it live ``recvmsg`` results.

Anything the table does not allow — bytes from a peer that should be silent,
a message of the wrong size or content, descriptors where none are due or
missing where they are, a stream that ends mid-message — raises
:class:`~ustref.errors.RemoteProtocolError` naming the socket, direction, step
and stream offset.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import DEFAULT_ABI, Abi
from ustref.protocol.conversation.rules import INITIATORS, STARTUP_CODE, following
from ustref.protocol.conversation.steps import (
    Direction,
    FdTransfer,
    Message,
    Payload,
    Socket,
    Step,
    StreamList,
)
from ustref.protocol.conversation.stream import ByteStream
from ustref.protocol.registry import StructSpec


@dataclasses.dataclass(frozen=True)
class Decoded:
    """One decoded piece of a conversation."""

    socket: Socket
    direction: Direction
    step: str
    """Name of the table step (``command``, ``status``, ``channel.size``…)."""
    exchange: str
    """What opened the exchange: the command name, ``metadata request``…"""
    value: Any
    """The typed message, or ``bytes`` for raw payloads and fd carriers."""
    raw: bytes
    offset: int
    """Offset of ``raw`` in its (socket, direction) byte stream."""
    fds: int
    spec: StructSpec[Any] | None = None

    @property
    def name(self) -> str:
        """The C name of the message, or the step's kind."""
        return self.spec.c_name if self.spec is not None else self.step


class _Need(Exception):
    """More bytes are needed before the current step can be decoded."""


@dataclasses.dataclass
class _Exchange:
    label: str
    pending: deque[Step]
    values: dict[str, Any] = dataclasses.field(default_factory=dict)


class Conversation:
    """Decodes the session daemon ↔ consumer conversation of one consumer daemon."""

    def __init__(self, abi: Abi = DEFAULT_ABI, *, from_start: bool = False) -> None:
        """``from_start``: the input begins with the consumer's start-up, so the
        start-up rule is enforced — the first code on the error socket is
        ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``, and nothing moves on the command
        or metadata socket before it (the session daemon connects only then).
        """
        self.abi = abi
        self.from_start = from_start
        self.ready = False
        """The consumer's ready code has been seen on the error socket."""
        self._streams: dict[tuple[Socket, Direction], ByteStream] = {}
        self._exchanges: dict[Socket, _Exchange | None] = {}

    def awaiting(self, socket: Socket) -> Step | None:
        """The step the open exchange on ``socket`` waits for (``None``: none is open).

        A peer driven by this machine (a fuzzer, ustref's consumer daemon) uses
        it to know whose turn it is and what is due.
        """
        exchange = self._exchanges.get(socket)
        if exchange is None or not exchange.pending:
            return None
        return exchange.pending[0]

    def stream(self, socket: Socket, direction: Direction) -> ByteStream:
        return self._streams.setdefault((socket, direction), ByteStream())

    def receive(
        self, socket: Socket, direction: Direction, data: bytes, fds: int = 0
    ) -> list[Decoded]:
        """Take one syscall's bytes (with ``fds`` descriptors); return what decodes now."""
        self.stream(socket, direction).feed(data, fds)
        return self._advance(socket)

    def close(self, socket: Socket, direction: Direction) -> list[Decoded]:
        """The ``direction`` side of ``socket`` hung up: leftovers are a protocol error."""
        stream = self.stream(socket, direction)
        stream.closed = True
        events = self._advance(socket)
        if stream.available():
            raise self._error(
                socket,
                direction,
                f"{stream.available()} bytes left when the peer hung up",
                stream.offset,
            )
        return events

    def finish(self) -> list[Decoded]:
        """End of input: every stream closes; an unfinished exchange is an error
        (the step it waits for meets a closed stream)."""
        events: list[Decoded] = []
        for socket, direction in list(self._streams):
            events += self.close(socket, direction)
        return events

    # -------------------------------------------------------------- engine

    def _advance(self, socket: Socket) -> list[Decoded]:
        events: list[Decoded] = []
        while True:
            exchange = self._exchanges.get(socket)
            if exchange is None:
                initiator = INITIATORS[socket]
                self._check_silent(socket, initiator.direction)
                if not self.stream(socket, initiator.direction).available():
                    return events
                try:
                    event = self._decode_message(socket, initiator, "", {})
                except _Need:
                    return events
                self._check_startup(socket, event)
                values = {initiator.name: event.value}
                label = _exchange_label(socket, event.value)
                event = dataclasses.replace(event, exchange=label)
                events.append(event)
                steps = following(self.abi, socket, event.value)
                self._exchanges[socket] = _Exchange(label, deque(steps), values)
                continue
            if not exchange.pending:
                self._exchanges[socket] = None
                continue
            step = exchange.pending[0]
            if not step.when.holds(exchange.values):
                exchange.pending.popleft()
                continue
            try:
                produced = self._decode_step(socket, step, exchange)
            except _Need:
                return events
            events += produced
            if not isinstance(step, StreamList) or produced[-1].step == (
                step.end.name if step.end else ""
            ):
                exchange.pending.popleft()

    def _check_startup(self, socket: Socket, event: Decoded) -> None:
        """The start-up rule (see ``from_start``)."""
        if socket is Socket.ERROR and not self.ready:
            code = getattr(event.value, "code", None)
            if self.from_start and code != STARTUP_CODE:
                raise self._error(
                    socket,
                    event.direction,
                    f"the first code must be {STARTUP_CODE.name}, got {code!r}",
                    event.offset,
                )
            self.ready = code == STARTUP_CODE
        elif self.from_start and not self.ready and socket in (Socket.COMMAND, Socket.METADATA):
            raise self._error(
                socket,
                event.direction,
                f"{event.step} before the consumer's {STARTUP_CODE.name} on the error socket",
                event.offset,
            )

    def _check_silent(self, socket: Socket, talker: Direction) -> None:
        """Between exchanges, only the initiating side may speak."""
        other = (
            Direction.TO_SESSIOND if talker is Direction.TO_CONSUMERD else Direction.TO_CONSUMERD
        )
        stream = self._streams.get((socket, other))
        if stream is not None and stream.available():
            raise self._error(
                socket,
                other,
                f"{stream.available()} unexpected bytes: no exchange is open on this socket",
                stream.offset,
            )

    def _decode_step(self, socket: Socket, step: Step, exchange: _Exchange) -> list[Decoded]:
        if isinstance(step, Message):
            event = self._decode_message(socket, step, exchange.label, exchange.values)
            exchange.values[step.name] = event.value
            return [event]
        stream = self.stream(socket, step.direction)
        if isinstance(step, Payload):
            length = step.length(exchange.values)
            return [self._take_raw(socket, step, exchange.label, length, stream)]
        if isinstance(step, FdTransfer):
            if stream.available() < 1:
                self._need(socket, step, stream, 1)
            raw, offset, fds = stream.take(1)
            if fds != step.count:
                raise self._error(
                    socket,
                    step.direction,
                    f"{step.name}: expected {step.count} fd(s) with the dummy byte, got {fds}",
                    offset,
                )
            return [
                Decoded(socket, step.direction, step.name, exchange.label, raw, raw, offset, fds)
            ]
        if isinstance(step, StreamList):
            return self._decode_stream_item(socket, step, exchange)
        raise TypeError(f"unknown step kind {type(step).__name__}")

    def _decode_stream_item(
        self, socket: Socket, step: StreamList, exchange: _Exchange
    ) -> list[Decoded]:
        stream = self.stream(socket, step.direction)
        if stream.available() < len(step.marker):
            self._need(socket, step, stream, len(step.marker))
        if stream.peek(len(step.marker)) == step.marker and step.end is not None:
            return [self._decode_message(socket, step.end, exchange.label, exchange.values)]
        # One whole stream item, or nothing (so that a partial item is retried).
        needed = 0
        for sub in step.stream:
            needed += (
                1
                if isinstance(sub, FdTransfer)
                else (sub.size(self.abi) if isinstance(sub, Message) else 0)
            )
        if stream.available() < needed:
            self._need(socket, step, stream, needed)
        events = []
        for sub in step.stream:
            events += self._decode_step(socket, sub, exchange)
        return events

    def _decode_message(
        self, socket: Socket, step: Message, label: str, values: dict[str, Any]
    ) -> Decoded:
        stream = self.stream(socket, step.direction)
        head_size = step.size(self.abi)
        if stream.available() < head_size:
            self._need(socket, step, stream, head_size)
        head = stream.peek(head_size)
        spec = step.spec_for(self.abi, head)
        size = step.length(head) if step.length is not None else spec.size
        raw, offset = self._take_plain(socket, step, stream, size)
        try:
            value = spec.parse(raw)
        except RemoteProtocolError as exc:
            where = f"{socket.value} {step.direction.value} @{offset + (exc.offset or 0)}"
            raise RemoteProtocolError(
                f"{exc.reason} ({where})",
                message=f"{label or step.name}: {exc.message}",
                field=exc.field,
                offset=exc.offset,
            ) from None
        return Decoded(socket, step.direction, step.name, label, value, raw, offset, 0, spec)

    def _take_raw(
        self, socket: Socket, step: Step, label: str, length: int, stream: ByteStream
    ) -> Decoded:
        raw, offset = self._take_plain(socket, step, stream, length)
        return Decoded(socket, step.direction, step.name, label, raw, raw, offset, 0)

    def _take_plain(
        self, socket: Socket, step: Step, stream: ByteStream, count: int
    ) -> tuple[bytes, int]:
        """``count`` bytes that carry no fd (else a protocol error): (bytes, offset)."""
        if stream.available() < count:
            self._need(socket, step, stream, count)
        fds = stream.fds_within(count)
        raw, offset, _ = stream.take(count)
        if fds:
            raise self._error(
                socket,
                step.direction,
                f"{step.name}: {fds} unexpected fd(s) with its bytes",
                offset,
            )
        return raw, offset

    def _need(self, socket: Socket, step: Step, stream: ByteStream, count: int) -> None:
        if stream.closed:
            raise self._error(
                socket,
                step.direction,
                f"{step.name}: stream ended with {stream.available()} of {count} bytes",
                stream.offset,
            )
        raise _Need

    @staticmethod
    def _error(
        socket: Socket, direction: Direction, reason: str, offset: int
    ) -> RemoteProtocolError:
        return RemoteProtocolError(
            reason, message=f"{socket.value} socket {direction.value}", offset=offset
        )


def _exchange_label(socket: Socket, value: Any) -> str:
    if socket is Socket.COMMAND:
        return str(value.cmd_type.name)
    if socket is Socket.METADATA:
        return "metadata request"
    if socket is Socket.ERROR:
        return "error code"
    return "channel monitor sample"
