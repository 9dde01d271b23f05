"""Whole conversations drawn from the conversation table, valid and damaged.

:func:`exchange` walks :mod:`ustref.protocol.conversation.rules` for one
exchange on one socket — the command (or metadata request, error code, monitor
sample), then every step the table says follows, honouring its conditions on
the values drawn so far — and returns the :class:`Event` list a
:class:`~ustref.protocol.conversation.Conversation` would be fed.
:func:`damage` breaks such a list (a mutated message, a dropped, duplicated or
split event, wrong fd counts, a hang-up mid-exchange). :func:`frame` /
:func:`unframe` turn event lists into one flat byte string and back, so that
byte-level fuzzers (atheris) can drive the conversation machine.
"""

from __future__ import annotations

import dataclasses
import struct as pystruct
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from ustref.errors import RemoteProtocolError
from ustref.fuzz.grammar_strategies import valid_bytes_for
from ustref.fuzz.mutations import Chooser, HypothesisChooser, _pick, mutate, slots
from ustref.protocol.abi import Abi
from ustref.protocol.conversation import Conversation, Direction, Socket
from ustref.protocol.conversation.rules import INITIATORS, following
from ustref.protocol.conversation.steps import FdTransfer, Message, Payload, Step, StreamList
from ustref.protocol.registry import StructSpec

_ERR_UND_HEAD = (12).to_bytes(4, "little")

#: Longest raw payload (metadata) drawn.
MAX_PAYLOAD = 4096

ValidSource = Callable[[StructSpec[Any]], bytes]

SOCKETS = tuple(Socket)
DIRECTIONS = tuple(Direction)


@dataclasses.dataclass(frozen=True)
class Event:
    """What one syscall moved: bytes (and fds) on one socket in one direction.

    ``data`` empty with ``close`` set means that side hung up.
    """

    socket: Socket
    direction: Direction
    data: bytes
    fds: int = 0
    close: bool = False
    spec: StructSpec[Any] | None = dataclasses.field(default=None, compare=False)


def _values(spec: StructSpec[Any], data: bytes) -> Any:
    try:
        return spec.parse(data)
    except RemoteProtocolError:
        return None


def _steps_events(
    abi: Abi,
    socket: Socket,
    steps: tuple[Step, ...],
    values: dict[str, Any],
    *,
    valid: ValidSource,
    chooser: Chooser,
) -> list[Event]:
    out: list[Event] = []
    for step in steps:
        if not step.when.holds(values):
            continue
        if isinstance(step, Message):
            # A spec chosen by the message's first bytes (the metadata reply):
            # the LTTNG_ERR_UND form, whose every valid encoding selects itself.
            spec = step.spec_for(abi, _ERR_UND_HEAD.ljust(max(step.head, 4), b"\0"))
            data = valid(spec)
            if step.choose is not None:
                data = _ERR_UND_HEAD + data[4:]
            values[step.name] = _values(spec, data)
            out.append(Event(socket, step.direction, data, spec=spec))
        elif isinstance(step, Payload):
            try:
                length = min(step.length(values), MAX_PAYLOAD)
            except (AttributeError, KeyError, TypeError):
                length = 0
            fill = bytes([chooser.integer(0, 255)])
            out.append(Event(socket, step.direction, fill * length))
        elif isinstance(step, FdTransfer):
            out.append(Event(socket, step.direction, b"\0", step.count))
        elif isinstance(step, StreamList):
            for _ in range(chooser.integer(0, 2)):
                out += _steps_events(abi, socket, step.stream, values, valid=valid, chooser=chooser)
            if step.end is not None:
                out += _steps_events(abi, socket, (step.end,), values, valid=valid, chooser=chooser)
    return out


def exchange(abi: Abi, socket: Socket, valid: ValidSource, chooser: Chooser) -> list[Event]:
    """One valid exchange on ``socket``, step by step from the table."""
    initiator = INITIATORS[socket]
    spec = initiator.spec_for(abi, b"")
    data = valid(spec)
    value = _values(spec, data)
    if value is None:
        return [Event(socket, initiator.direction, data, spec=spec)]
    steps = following(abi, socket, value)
    for step in steps:
        # A payload sized by the opening message (PUSH_METADATA's u.len) is kept small.
        if isinstance(step, Payload) and step.length_step == initiator.name:
            data, value = _cap_length(spec, data, value, step, chooser)
    events = [Event(socket, initiator.direction, data, spec=spec)]
    values: dict[str, Any] = {initiator.name: value}
    return events + _steps_events(abi, socket, steps, values, valid=valid, chooser=chooser)


def _cap_length(
    spec: StructSpec[Any], data: bytes, value: Any, step: Payload, chooser: Chooser
) -> tuple[bytes, Any]:
    try:
        length = step.length({step.length_step: value})
    except (AttributeError, KeyError, TypeError):
        return data, value
    if length <= MAX_PAYLOAD:
        return data, value
    leaf = step.length_path.rsplit(".", 1)[-1]
    for slot in slots(spec, data):
        if slot.name.endswith("." + leaf) and slot.fmt:
            new = bytearray(data)
            pystruct.pack_into(slot.fmt, new, slot.offset, chooser.integer(0, MAX_PAYLOAD))
            parsed = _values(spec, bytes(new))
            if parsed is not None:
                return bytes(new), parsed
    return data, value


def conversation(abi: Abi, valid: ValidSource, chooser: Chooser, exchanges: int = 3) -> list[Event]:
    """A few valid exchanges (mostly on the command socket), interleaved by socket."""
    out: list[Event] = []
    for _ in range(chooser.integer(1, exchanges)):
        socket = _pick(chooser, [Socket.COMMAND, Socket.COMMAND, *SOCKETS])
        out += exchange(abi, socket, valid, chooser)
    return out


def damage(events: list[Event], chooser: Chooser) -> tuple[list[Event], str]:
    """Break one thing in ``events``; returns the new list and what was done."""
    if not events:
        return [Event(Socket.COMMAND, Direction.TO_CONSUMERD, b"\0")], "empty"
    i = chooser.integer(0, len(events) - 1)
    ev = events[i]
    what = chooser.integer(0, 6)
    rest = events[:i] + events[i + 1 :]
    if what == 0 and ev.spec is not None:
        data, desc = mutate(ev.spec, ev.data, chooser)
        return [*events[:i], dataclasses.replace(ev, data=data), *events[i + 1 :]], f"{i}:{desc}"
    if what == 1:
        return rest, f"{i}:drop"
    if what == 2:
        return [*events[: i + 1], ev, *events[i + 1 :]], f"{i}:duplicate"
    if what == 3:
        fds = (ev.fds + chooser.integer(1, 3)) % 4
        return [*events[:i], dataclasses.replace(ev, fds=fds), *events[i + 1 :]], f"{i}:fds={fds}"
    if what == 4 and len(ev.data) > 1:
        cut = chooser.integer(1, len(ev.data) - 1)
        parts = [
            dataclasses.replace(ev, data=ev.data[:cut]),
            dataclasses.replace(ev, data=ev.data[cut:], fds=0),
        ]
        return events[:i] + parts + events[i + 1 :], f"{i}:split@{cut}"
    if what == 5:
        direction = ev.direction
        cut = chooser.integer(0, len(ev.data))
        hangup = Event(ev.socket, direction, b"", close=True)
        head = dataclasses.replace(ev, data=ev.data[:cut])
        return [*events[:i], head, hangup], f"{i}:hangup@{cut}"
    other = DIRECTIONS[1 - DIRECTIONS.index(ev.direction)]
    return [*events[:i], dataclasses.replace(ev, direction=other), *events[i + 1 :]], f"{i}:reverse"


def feed(abi: Abi, events: list[Event], *, finish: bool = True) -> int:
    """Feed ``events`` to a fresh :class:`Conversation`; returns how many messages decoded."""
    conv = Conversation(abi)
    count = 0
    for ev in events:
        if ev.close:
            count += len(conv.close(ev.socket, ev.direction))
        else:
            count += len(conv.observe(ev.socket, ev.direction, ev.data, ev.fds))
    if finish:
        count += len(conv.finish())
    return count


# ------------------------------------------------------------------- framing

_HEAD = pystruct.Struct("<BH")


def frame(events: list[Event]) -> bytes:
    """Flatten events: per event a tag byte (socket, direction, fds, close) and a u16 length."""
    out = bytearray()
    for ev in events:
        tag = SOCKETS.index(ev.socket) | DIRECTIONS.index(ev.direction) << 2 | min(ev.fds, 7) << 3
        tag |= 0x40 if ev.close else 0
        data = ev.data[:0xFFFF]
        out += _HEAD.pack(tag, len(data)) + data
    return bytes(out)


def unframe(blob: bytes) -> list[Event]:
    """Inverse of :func:`frame`; any byte string gives some event list (short data allowed)."""
    events: list[Event] = []
    pos = 0
    while pos + _HEAD.size <= len(blob):
        tag, length = _HEAD.unpack_from(blob, pos)
        pos += _HEAD.size
        data = blob[pos : pos + length]
        pos += length
        socket = SOCKETS[tag & 3]
        direction = DIRECTIONS[tag >> 2 & 1]
        fds = tag >> 3 & 7
        events.append(Event(socket, direction, data, fds, bool(tag & 0x40)))
    return events


def conversations(abi: Abi, *, damaged: bool | None = None) -> st.SearchStrategy[list[Event]]:
    """Hypothesis strategy: valid conversations from the table, or damaged ones.

    ``damaged``: ``False`` only valid, ``True`` only damaged, ``None`` either.
    """

    @st.composite
    def draw_conv(draw: st.DrawFn) -> list[Event]:
        chooser = HypothesisChooser(draw)
        events = conversation(abi, lambda spec: draw(valid_bytes_for(spec)), chooser)
        broken = draw(st.booleans()) if damaged is None else damaged
        if broken:
            for _ in range(draw(st.integers(1, 2))):
                events, _what = damage(events, chooser)
        return events

    return draw_conv()
