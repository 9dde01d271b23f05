"""The vocabulary of the conversation table: sockets, directions, steps, conditions.

A *step* is one thing that travels in one direction of one socket: a typed
message (:class:`Message`), raw bytes whose length an earlier step gave
(:class:`Payload`), a descriptor transfer (:class:`FdTransfer`: one dummy byte
carrying ``SCM_RIGHTS``), or the ust-ctl stream list (:class:`StreamList`,
repeated until its end marker). A step may be guarded by a :class:`Condition`
on the values decoded earlier in the same exchange. Every piece can describe
itself in one line, so the spec renders the table as it runs.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any

from ustref.errors import LocalProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.registry import StructSpec


class Socket(str, enum.Enum):
    """The channels between the session daemon and a consumer daemon.

    ``command`` and ``metadata`` are the first and second connections of the
    session daemon to the consumer's command socket (``--consumerd-cmd-sock``);
    ``error`` is the consumer's connection to the session daemon's error socket
    (``--consumerd-err-sock``); ``channel-monitor`` is the pipe handed over by
    ``LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE`` (consumerd → sessiond only).
    """

    COMMAND = "command"
    """First connection to the consumer's command socket: commands from sessiond."""
    METADATA = "metadata"
    """Second connection: the consumer's metadata requests."""
    ERROR = "error"
    """The session daemon's error socket: the consumer's status codes."""
    CHANNEL_MONITOR = "channel-monitor"
    """The pipe given by SET_CHANNEL_MONITOR_PIPE: channel usage samples."""


class Direction(str, enum.Enum):
    """Which way the bytes went."""

    TO_CONSUMERD = "sessiond->consumerd"
    TO_SESSIOND = "consumerd->sessiond"

    @property
    def arrow(self) -> str:
        return "S→C" if self is Direction.TO_CONSUMERD else "C→S"

    @property
    def short(self) -> str:
        """``s2c`` or ``c2s``, as in raw capture directory file names."""
        return "s2c" if self is Direction.TO_CONSUMERD else "c2s"

    @property
    def sender(self) -> Role:
        """The peer whose bytes travel this way."""
        return Role.SESSIOND if self is Direction.TO_CONSUMERD else Role.CONSUMERD

    @property
    def reverse(self) -> Direction:
        return Direction.TO_SESSIOND if self is Direction.TO_CONSUMERD else Direction.TO_CONSUMERD


class Role(str, enum.Enum):
    """Which side a :class:`~ustref.protocol.conversation.Conversation` plays
    (h11's ``our_role``): one of the two peers, or an observer of both."""

    CONSUMERD = "consumerd"
    """ustref's consumer daemon: receives commands, sends replies and codes."""
    SESSIOND = "sessiond"
    """A session daemon (stand-in): sends commands, receives replies."""
    OBSERVER = "observer"
    """Watches both directions (capture decoding, fuzzing a real pair)."""

    @property
    def sends(self) -> Direction:
        """The direction of this peer's bytes (not for :attr:`OBSERVER`)."""
        if self is Role.CONSUMERD:
            return Direction.TO_SESSIOND
        if self is Role.SESSIOND:
            return Direction.TO_CONSUMERD
        raise LocalProtocolError("an observer sends nothing")


ExchangeValues = Mapping[str, Any]


def field_value(value: Any, path: str) -> Any:
    """``value.u.push_metadata.len`` style lookup (``u`` members are flattened)."""
    for part in path.split("."):
        value = getattr(value, part)
    return value


class Condition(abc.ABC):
    """A guard on a step, evaluated on the values decoded so far."""

    @abc.abstractmethod
    def holds(self, values: ExchangeValues) -> bool: ...

    @abc.abstractmethod
    def describe(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class Always(Condition):
    def holds(self, values: ExchangeValues) -> bool:
        return True

    def describe(self) -> str:
        return "always"


@dataclasses.dataclass(frozen=True)
class FieldIs(Condition):
    """``values[step].<path>`` equals ``expected`` (or differs, with ``negate``)."""

    step: str
    path: str
    expected: Any
    negate: bool = False

    def holds(self, values: ExchangeValues) -> bool:
        if self.step not in values:
            return False
        try:
            equal = bool(field_value(values[self.step], self.path) == self.expected)
        except AttributeError:
            return False
        return equal != self.negate

    def describe(self) -> str:
        shown = getattr(self.expected, "name", repr(self.expected))
        return f"{self.step}.{self.path} {'!=' if self.negate else '=='} {shown}"


@dataclasses.dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def holds(self, values: ExchangeValues) -> bool:
        return all(p.holds(values) for p in self.parts)

    def describe(self) -> str:
        return " and ".join(p.describe() for p in self.parts)


ALWAYS = Always()


@dataclasses.dataclass(frozen=True)
class Step:
    """Something that travels in ``direction``; skipped unless ``when`` holds."""

    name: str
    direction: Direction
    when: Condition = ALWAYS
    note: str = ""


SpecChooser = Callable[[Abi, bytes], StructSpec[Any]]


@dataclasses.dataclass(frozen=True)
class Message(Step):
    """A typed message: ``specs`` per ABI (fixed size), or ``choose`` by its first bytes.

    ``length`` gives the byte count of a variable-size message from its first
    ``head`` bytes (e.g. the close-trace-chunk reply and its path).
    """

    specs: Mapping[Abi, StructSpec[Any]] = dataclasses.field(default_factory=dict)
    choose: SpecChooser | None = None
    head: int = 0
    length: Callable[[bytes], int] | None = None
    label: str = ""

    def spec_for(self, abi: Abi, head: bytes) -> StructSpec[Any]:
        if self.choose is not None:
            return self.choose(abi, head)
        return self.specs[abi]

    def size(self, abi: Abi) -> int:
        """Fixed size, or the size of the fixed head for variable messages."""
        if self.length is not None or self.choose is not None:
            return self.head
        return self.specs[abi].size

    def describe(self) -> str:
        if self.label:
            return self.label
        names = sorted({s.c_name for s in self.specs.values()})
        return " / ".join(names)


@dataclasses.dataclass(frozen=True)
class Payload(Step):
    """Raw bytes whose length is ``values[length_step].<length_path>``."""

    length_step: str = ""
    length_path: str = ""

    def length(self, values: ExchangeValues) -> int:
        return int(field_value(values[self.length_step], self.length_path))

    def describe(self) -> str:
        return f"raw bytes, {self.length_step}.{self.length_path} of them"


@dataclasses.dataclass(frozen=True)
class FdTransfer(Step):
    """``count`` descriptors riding on one dummy byte (``lttcomm_send_fds_unix_sock``)."""

    count: int = 1

    def describe(self) -> str:
        return f"1 dummy byte + SCM_RIGHTS with {self.count} fd{'s' * (self.count > 1)}"


@dataclasses.dataclass(frozen=True)
class StreamList(Step):
    """ust-ctl streams, each ``stream`` steps, until the 8-byte ``end`` marker."""

    stream: tuple[Step, ...] = ()
    end: Message | None = None
    marker: bytes = b""

    def describe(self) -> str:
        inner = ", ".join(s.name for s in self.stream)
        return f"repeated ({inner}) until {self.marker.hex()}"


def fixed(spec: StructSpec[Any]) -> Mapping[Abi, StructSpec[Any]]:
    """The same spec for every ABI."""
    return {abi: spec for abi in Abi}
