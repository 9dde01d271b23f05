"""Struct specs, the parse/build boundary, and the registry the grammar modules fill.

A :class:`StructSpec` binds one C struct (by its C name and declaration site)
to the frozen dataclass that represents it and to the Construct grammar built
from that dataclass. :func:`parse` and :func:`build` are the one place where
Construct's exceptions become ustref's typed errors.
"""

from __future__ import annotations

import dataclasses
import enum
import io
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

import construct as cs

from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.fields import (
    DataclassStruct,
    FieldError,
    FlexArray,
    WireStruct,
    enum_c_name,
    unwrap,
)

T = TypeVar("T", bound=WireStruct)


class Protocol(enum.Enum):
    """Which conversation a struct belongs to (one spec page each)."""

    CONSUMER = "sessiond-consumerd"
    CLIENT = "client-sessiond"
    RELAYD = "consumerd-relayd"
    VIEWER = "live-viewer"
    AGENT = "agent"
    USTCTL = "ust-ctl-handover"
    IN_PROCESS = "in-process"


@dataclasses.dataclass(frozen=True)
class StructSpec(Generic[T]):
    """One C struct: its name, declaration, dataclass and grammar.

    ``size`` is the C ``sizeof`` (the fixed part, for structs ending in a
    flexible array member, flagged by ``variable``).
    """

    c_name: str
    dc_type: type[T]
    header: str
    protocol: Protocol
    doc: str = ""
    grammar: Any = dataclasses.field(init=False, repr=False, compare=False)
    size: int = dataclasses.field(init=False)
    variable: bool = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        grammar = DataclassStruct(self.dc_type)
        object.__setattr__(self, "grammar", grammar)
        object.__setattr__(self, "size", grammar.sizeof())
        object.__setattr__(self, "variable", _has_flex(grammar))

    def parse(self, data: bytes | bytearray | memoryview) -> T:
        """Decode exactly one message (see :func:`parse`)."""
        return parse(self, data)

    def build(self, obj: T) -> bytes:
        """Encode one message (see :func:`build`)."""
        return build(self, obj)


def _has_flex(grammar: Any) -> bool:
    return any(isinstance(unwrap(sub), FlexArray) for sub in grammar.subcon.subcons)


def _field_path(path: str | None) -> str:
    """``(parsing) -> u -> ask_channel -> pathname`` → ``u.ask_channel.pathname``."""
    if not path:
        return ""
    parts = [p.strip() for p in path.split("->")]
    # csfield(doc=...) adds an unnamed Renamed layer, shown as "None" in paths.
    return ".".join(p for p in parts if p and p != "None" and not p.startswith("("))


def parse(spec: StructSpec[T], data: bytes | bytearray | memoryview) -> T:
    """Decode ``data`` as exactly one ``spec`` message.

    Raises :class:`RemoteProtocolError` (message, field path, offset) for a
    wrong size, trailing bytes, an unknown enum value, a string without NUL —
    never a bare Construct exception.
    """
    raw = bytes(data)
    if len(raw) < spec.size or (not spec.variable and len(raw) != spec.size):
        what = "at least " if spec.variable else ""
        offset = min(len(raw), spec.size)
        reason = (
            f"truncated: {len(raw)} bytes, needs {what}{spec.size}"
            if len(raw) < spec.size
            else f"{len(raw) - spec.size} trailing bytes after the {spec.size}-byte message"
        )
        raise RemoteProtocolError(reason, message=spec.c_name, offset=offset)
    stream = io.BytesIO(raw)
    try:
        obj: T = spec.grammar.parse_stream(stream)
    except FieldError as exc:
        raise RemoteProtocolError(
            exc.reason, message=spec.c_name, field=_field_path(exc.path), offset=exc.offset
        ) from None
    except cs.ConstructError as exc:
        raise RemoteProtocolError(
            str(exc).split("\n")[-1], message=spec.c_name, field=_field_path(exc.path)
        ) from None
    end = stream.tell()
    if end != len(raw):
        raise RemoteProtocolError(
            f"{len(raw) - end} trailing bytes", message=spec.c_name, offset=end
        )
    return obj


def build(spec: StructSpec[T], obj: T) -> bytes:
    """Encode ``obj``; a value that cannot be encoded raises :class:`LocalProtocolError`."""
    if not isinstance(obj, spec.dc_type):
        raise LocalProtocolError(
            f"{spec.c_name}: expected {spec.dc_type.__name__}, got {type(obj).__name__}"
        )
    stream = io.BytesIO()
    try:
        spec.grammar.build_stream(obj, stream)
    except FieldError as exc:
        where = _field_path(exc.path)
        raise LocalProtocolError(f"{spec.c_name} → {where}: {exc.reason}") from None
    except (cs.ConstructError, TypeError, ValueError, AttributeError, KeyError) as exc:
        where = _field_path(getattr(exc, "path", None))
        raise LocalProtocolError(
            f"{spec.c_name} → {where}: {str(exc).splitlines()[-1] if str(exc) else exc!r}"
        ) from None
    return stream.getvalue()


@dataclasses.dataclass(frozen=True)
class Schema:
    """Every struct and enum of one ABI profile, by C name."""

    abi: Abi
    structs: Mapping[str, StructSpec[Any]]
    enums: Mapping[str, type[enum.IntEnum]]
    wire_only: Mapping[str, StructSpec[Any]] = dataclasses.field(default_factory=dict)
    """Specs of wire pieces that are no C struct (same for every ABI; not in the layout)."""


class _Registry:
    """Collects the specs each protocol module declares, per ABI."""

    def __init__(self) -> None:
        self.structs: dict[Abi, dict[str, StructSpec[Any]]] = {abi: {} for abi in ALL_ABIS}
        self.enums: dict[Abi, dict[str, type[enum.IntEnum]]] = {abi: {} for abi in ALL_ABIS}
        self.wire_only: dict[str, StructSpec[Any]] = {}
        """Things that travel on the wire but are no C struct (scalar replies, framing)."""

    def add_struct(self, spec: StructSpec[Any], abis: Iterable[Abi] = ALL_ABIS) -> None:
        abis = tuple(abis)
        if not abis:
            self.wire_only[spec.c_name] = spec
        for abi in abis:
            if spec.c_name in self.structs[abi]:
                raise LocalProtocolError(f"{spec.c_name} registered twice for {abi.value}")
            self.structs[abi][spec.c_name] = spec

    def add_enum(self, enum_type: type[enum.IntEnum], abis: Iterable[Abi] = ALL_ABIS) -> None:
        name = enum_c_name(enum_type)
        for abi in abis:
            if name in self.enums[abi]:
                raise LocalProtocolError(f"enum {name} registered twice for {abi.value}")
            self.enums[abi][name] = enum_type


REGISTRY = _Registry()


def struct(
    c_name: str,
    dc_type: type[T],
    *,
    header: str,
    protocol: Protocol,
    abis: Iterable[Abi] = ALL_ABIS,
    doc: str = "",
) -> StructSpec[T]:
    """Declare (and register for ``abis``) the spec of one C struct."""
    spec = StructSpec(c_name, dc_type, header, protocol, doc or (dc_type.__doc__ or "").strip())
    REGISTRY.add_struct(spec, abis)
    return spec


def register_enums(*enum_types: type[enum.IntEnum], abis: Iterable[Abi] = ALL_ABIS) -> None:
    """Register C enums that travel on the wire for ``abis``."""
    for enum_type in enum_types:
        REGISTRY.add_enum(enum_type, abis)


def spec_for_type(abi: Abi, dc_type: type[Any]) -> StructSpec[Any] | None:
    """The spec of ``abi`` (or of the wire-only pieces) whose dataclass is ``dc_type``
    (among the grammar modules imported so far; :func:`ustref.protocol.grammars.schema`
    imports them all)."""
    for spec in (*REGISTRY.structs[abi].values(), *REGISTRY.wire_only.values()):
        if spec.dc_type is dc_type:
            return spec
    return None
