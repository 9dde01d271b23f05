"""The sans-IO conversation machine: it plays a side, or watches both.

``Conversation(abi, our_role=...)`` follows the table in
:mod:`ustref.protocol.conversation.rules`. It never touches a socket.

**Playing a side** (:attr:`Role.CONSUMERD`, :attr:`Role.SESSIOND`), as h11's
``Connection`` does::

    conv = Conversation(our_role=Role.CONSUMERD)
    data = conv.send(Socket.ERROR, ErrorSocketCode(code=READY))   # bytes to write
    events = conv.receive(Socket.COMMAND, data, fds)   # what one recvmsg brought

* :meth:`Conversation.send` takes a typed message (or raw bytes: a payload,
  :data:`~ustref.protocol.constants.FD_CARRIER` with its descriptors) and returns the bytes to
  write; it refuses, with :class:`~ustref.errors.LocalProtocolError`, what the
  table does not expect from us now (wrong socket, not our turn, wrong
  message, wrong descriptors) and then leaves its state unchanged.
* :meth:`Conversation.receive` takes the bytes and the *real* descriptors of
  one ``recvmsg`` from the peer and returns the typed :class:`Decoded` events
  that complete (fd transfers carry their descriptors in
  :attr:`Decoded.descriptors`; the caller owns them).
* :meth:`Conversation.our_turn` says what is due from us on a socket.

**Observing** (:attr:`Role.OBSERVER`, the default): :meth:`Conversation.observe`
takes what moved on each socket in each direction — bytes and the *number*
of descriptors, in the order they moved — as the capture decoder and the
fuzzer see it.

Anything the table does not allow from a peer — bytes from a peer that
should be silent, a message of the wrong size or content, descriptors where
none are due or missing where they are, a stream that ends mid-message —
raises :class:`~ustref.errors.RemoteProtocolError` whose ``sender`` says
which peer broke the rules, with the socket, direction, message index on
that stream and offset as attributes.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from typing import Any

from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol.abi import DEFAULT_ABI, Abi
from ustref.protocol.constants import FD_CARRIER
from ustref.protocol.conversation.rules import INITIATORS, STARTUP_CODE, following
from ustref.protocol.conversation.steps import (
    Direction,
    FdTransfer,
    Message,
    Payload,
    Role,
    Socket,
    Step,
    StreamList,
)
from ustref.protocol.conversation.stream import UNKNOWN_FD, ByteStream
from ustref.protocol.registry import StructSpec, spec_for_type


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
    """How many descriptors came with ``raw``."""
    spec: StructSpec[Any] | None = None
    descriptors: tuple[int, ...] = ()
    """The descriptors themselves, when a peer fed real ones (empty for an observer)."""

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

    def copy(self) -> _Exchange:
        return _Exchange(self.label, deque(self.pending), dict(self.values))


_Saved = tuple[dict[tuple[Socket, Direction], ByteStream], dict[Socket, "_Exchange | None"], bool]


class Conversation:
    """The session daemon ↔ consumer conversation of one consumer daemon, from ``our_role``."""

    def __init__(
        self,
        abi: Abi = DEFAULT_ABI,
        *,
        our_role: Role = Role.OBSERVER,
        from_start: bool | None = None,
    ) -> None:
        """``from_start`` (default: true when playing a side): the conversation
        begins with the consumer's start-up, so the start-up rule is enforced —
        the first code on the error socket is ``LTTCOMM_CONSUMERD_COMMAND_SOCK_READY``,
        and nothing moves on the command or metadata socket before it (the
        session daemon connects only then).
        """
        self.abi = abi
        self.our_role = our_role
        self.from_start = our_role is not Role.OBSERVER if from_start is None else from_start
        self.ready = False
        """The consumer's ready code has been seen on the error socket."""
        self._streams: dict[tuple[Socket, Direction], ByteStream] = {}
        self._exchanges: dict[Socket, _Exchange | None] = {}

    @property
    def their_role(self) -> Role:
        """The peer (an observer's peer is an observer)."""
        if self.our_role is Role.CONSUMERD:
            return Role.SESSIOND
        if self.our_role is Role.SESSIOND:
            return Role.CONSUMERD
        return Role.OBSERVER

    def awaiting(self, socket: Socket) -> Step | None:
        """The step the open exchange on ``socket`` waits for (``None``: none is open)."""
        exchange = self._exchanges.get(socket)
        if exchange is None or not exchange.pending:
            return None
        return exchange.pending[0]

    def our_turn(self, socket: Socket) -> Step | None:
        """What the table expects *us* to send on ``socket`` now (``None``: nothing;
        between exchanges on a socket we open, its opening message)."""
        if self.our_role is Role.OBSERVER:
            return None
        step = self.awaiting(socket)
        if step is None:
            step = INITIATORS[socket]
        return step if step.direction is self.our_role.sends else None

    def stream(self, socket: Socket, direction: Direction) -> ByteStream:
        return self._streams.setdefault((socket, direction), ByteStream())

    # ------------------------------------------------------------ observer

    def observe(
        self, socket: Socket, direction: Direction, data: bytes, fds: int = 0
    ) -> list[Decoded]:
        """Take one recorded syscall's bytes (with ``fds`` descriptors); return what
        decodes now. Observer only."""
        if self.our_role is not Role.OBSERVER:
            raise LocalProtocolError(
                f"observe() is for an observer; a {self.our_role.value} uses send()/receive()"
            )
        self.stream(socket, direction).feed(data, (UNKNOWN_FD,) * fds)
        return self._advance(socket)

    # ------------------------------------------------------------ a side

    def receive(self, socket: Socket, data: bytes, fds: Sequence[int] = ()) -> list[Decoded]:
        """Take what one ``recvmsg`` from the peer brought (bytes, real descriptors);
        return the events that complete. Descriptors stay the caller's to close."""
        direction = self._sends("receive").reverse
        self.stream(socket, direction).feed(data, tuple(fds))
        return self._advance(socket)

    def send(self, socket: Socket, message: Any, fds: Sequence[int] = ()) -> bytes:
        """The bytes of ``message`` — a typed message, raw ``bytes``, or ``None`` for the
        fd carrier — if the table expects it from us on ``socket`` now.

        Refused (:class:`~ustref.errors.LocalProtocolError`, state unchanged) when
        it is not our turn, the message is not the one due, or ``fds`` do not match.
        """
        direction = self._sends("send")
        step = self.our_turn(socket)
        if step is None:
            waiting = self.awaiting(socket)
            who = waiting.name if waiting is not None else INITIATORS[socket].name
            raise LocalProtocolError(
                f"not our turn: the table waits for {who} from the {self.their_role.value}",
                socket=socket.value,
            )
        stream = self.stream(socket, direction)
        step = _current(step, stream.available(), self.abi, message)
        data = self._encode(socket, step, message, fds)
        saved = self._save()
        try:
            stream.feed(data, tuple(fds))
            self._advance(socket)
            if stream.available() and not isinstance(self.awaiting(socket), StreamList):
                raise LocalProtocolError(
                    f"{stream.available()} bytes do not make a whole {step.name}",
                    socket=socket.value,
                    step=step.name,
                )
        except RemoteProtocolError as exc:
            self._restore(saved)
            if exc.sender != self.our_role.value:
                raise
            reason = f"{exc.field}: {exc.reason}" if exc.field else exc.reason
            raise LocalProtocolError(reason, socket=socket.value, step=step.name) from None
        except LocalProtocolError:
            self._restore(saved)
            raise
        return data

    def _sends(self, what: str) -> Direction:
        if self.our_role is Role.OBSERVER:
            raise LocalProtocolError(f"an observer cannot {what}: use observe()")
        return self.our_role.sends

    def _encode(self, socket: Socket, step: Step, message: Any, fds: Sequence[int]) -> bytes:
        def refuse(reason: str) -> LocalProtocolError:
            return LocalProtocolError(reason, socket=socket.value, step=step.name)

        if isinstance(step, FdTransfer):
            if len(fds) != step.count:
                raise refuse(f"{step.count} descriptor(s) are due, not {len(fds)}")
            if message not in (None, FD_CARRIER):
                raise refuse(f"descriptors travel on {FD_CARRIER!r}, not {message!r}")
            return FD_CARRIER
        if fds:
            raise refuse(f"no descriptor is due with {step.name}")
        if isinstance(message, bytes | bytearray | memoryview):
            return bytes(message)
        if not isinstance(step, Message):
            raise refuse(f"{step.name} is raw bytes, not {type(message).__name__}")
        spec = _spec_of(step, self.abi, message)
        if spec is None:
            raise refuse(f"{step.describe()} is due, not {type(message).__name__}")
        return spec.build(message)

    def _save(self) -> _Saved:
        streams = {key: stream.copy() for key, stream in self._streams.items()}
        exchanges = {k: (e.copy() if e is not None else None) for k, e in self._exchanges.items()}
        return streams, exchanges, self.ready

    def _restore(self, saved: _Saved) -> None:
        self._streams, self._exchanges, self.ready = saved

    # ------------------------------------------------------------ both

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
        other = talker.reverse
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
            raw, offset = self._take_plain(socket, step, stream, length)
            return [self._event(socket, step, exchange.label, value=raw, raw=raw, offset=offset)]
        if isinstance(step, FdTransfer):
            if stream.available() < 1:
                self._need(socket, step, stream, 1)
            raw, offset, fds = stream.take(1)
            if len(fds) != step.count:
                raise self._error(
                    socket,
                    step.direction,
                    f"{step.name}: expected {step.count} fd(s) with the dummy byte, got {len(fds)}",
                    offset,
                )
            return [
                self._event(
                    socket, step, exchange.label, value=raw, raw=raw, offset=offset, fds=fds
                )
            ]
        if isinstance(step, StreamList):
            return self._decode_stream_item(socket, step, exchange)
        raise LocalProtocolError(f"unknown step kind {type(step).__name__}")

    def _decode_stream_item(
        self, socket: Socket, step: StreamList, exchange: _Exchange
    ) -> list[Decoded]:
        stream = self.stream(socket, step.direction)
        if stream.available() < len(step.marker):
            self._need(socket, step, stream, len(step.marker))
        if stream.peek(len(step.marker)) == step.marker and step.end is not None:
            return [self._decode_message(socket, step.end, exchange.label, exchange.values)]
        # One whole stream item, or nothing (so that a partial item is retried).
        needed = sum(_wire_size(sub, self.abi) for sub in step.stream)
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
                **self._context(socket, step.direction),
            ) from None
        return self._event(socket, step, label, value=value, raw=raw, offset=offset, spec=spec)

    def _event(
        self,
        socket: Socket,
        step: Step,
        label: str,
        *,
        value: Any,
        raw: bytes,
        offset: int,
        fds: tuple[int, ...] = (),
        spec: StructSpec[Any] | None = None,
    ) -> Decoded:
        self.stream(socket, step.direction).messages += 1
        real = tuple(fd for fd in fds if fd != UNKNOWN_FD)
        return Decoded(
            socket, step.direction, step.name, label, value, raw, offset, len(fds), spec, real
        )

    def _take_plain(
        self, socket: Socket, step: Step, stream: ByteStream, count: int
    ) -> tuple[bytes, int]:
        """``count`` bytes that carry no fd (else a protocol error): (bytes, offset)."""
        if stream.available() < count:
            self._need(socket, step, stream, count)
        fds = stream.fds_within(count)
        if fds:
            raise self._error(
                socket,
                step.direction,
                f"{step.name}: {fds} unexpected fd(s) with its bytes",
                stream.offset,
            )
        raw, offset, _ = stream.take(count)
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

    def _context(self, socket: Socket, direction: Direction) -> dict[str, Any]:
        return {
            "socket": socket.value,
            "direction": direction.value,
            "sender": direction.sender.value,
            "index": self.stream(socket, direction).messages,
        }

    def _error(
        self, socket: Socket, direction: Direction, reason: str, offset: int
    ) -> RemoteProtocolError:
        return RemoteProtocolError(
            reason,
            message=f"{socket.value} socket {direction.value}",
            offset=offset,
            **self._context(socket, direction),
        )


def _wire_size(step: Step, abi: Abi) -> int:
    """Bytes a fixed-size step takes on the wire (the fd carrier is one)."""
    if isinstance(step, FdTransfer):
        return 1
    return step.size(abi) if isinstance(step, Message) else 0


def _spec_of(step: Message, abi: Abi, message: Any) -> StructSpec[Any] | None:
    """The spec that encodes ``message`` for ``step`` (``None``: not one it takes)."""
    if step.specs:
        spec = step.specs[abi]
        return spec if isinstance(message, spec.dc_type) else None
    return spec_for_type(abi, type(message))


def _current(step: Step, buffered: int, abi: Abi, message: Any) -> Step:
    """The step ``message`` is for: inside a stream list, the part of the item due
    after the ``buffered`` bytes already sent (or the end marker)."""
    if not isinstance(step, StreamList):
        return step
    if buffered == 0 and step.end is not None:
        end_spec = step.end.specs[abi] if step.end.specs else None
        is_end = (isinstance(message, bytes | bytearray) and bytes(message) == step.marker) or (
            end_spec is not None and isinstance(message, end_spec.dc_type)
        )
        if is_end:
            return step.end
    for sub in step.stream:
        size = _wire_size(sub, abi)
        if buffered < size:
            return sub
        buffered -= size
    return step.stream[0]


def _exchange_label(socket: Socket, value: Any) -> str:
    if socket is Socket.COMMAND:
        return str(value.cmd_type.name)
    if socket is Socket.METADATA:
        return "metadata request"
    if socket is Socket.ERROR:
        return "error code"
    return "channel monitor sample"
