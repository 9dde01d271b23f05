"""The one walker over the Construct grammar tree.

Every module that needs to know what a field *is* — the flat fast path, the
ctypes mirror, the Hypothesis strategies, the fuzzer's slots, the spec
tables and the layout dump — asks :func:`node` instead of keeping its own
``isinstance`` chain: a field construct, stripped of its wrappers, is one
:class:`Kind` with the facts that kind needs (:class:`Node`).
:func:`fields` lists a struct's members as nodes, in declaration order.
Union-member selection and the union tail's size and value live on
:class:`~ustref.protocol.fields.CUnion` and in
:func:`~ustref.protocol.fields.tail_value`.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import construct as cs
from construct_typed import DataclassStruct

from ustref.protocol.fields import (
    CharArray,
    CUnion,
    FlexArray,
    Pad,
    RawArray,
    StrictEnum,
    UnionTail,
    _RawBytes,
    unwrap,
)

__all__ = ["Kind", "Node", "fields", "node"]


class Kind(enum.Enum):
    """What a field construct is."""

    STRUCT = "struct"
    """A (typed) struct: its members are :func:`fields` of it."""
    ENUM = "enum"
    """A checked C enum over an integer format (:class:`~.fields.StrictEnum`)."""
    INT = "int"
    """A fixed-size integer (``cs.FormatField``)."""
    CHARS = "chars"
    """A NUL-terminated ``char[N]`` (:class:`~.fields.CharArray`)."""
    BYTES = "bytes"
    """A byte array that is a C member (:class:`~.fields.RawArray`, other raw bytes)."""
    PAD = "pad"
    """Padding or an unused area, not a C member (:class:`~.fields.Pad`)."""
    UNION = "union"
    """A keyed C union (:class:`~.fields.CUnion`)."""
    TAIL = "tail"
    """The bytes of a union beyond its selected member (:class:`~.fields.UnionTail`)."""
    FLEX = "flex"
    """A flexible array member (:class:`~.fields.FlexArray`)."""
    ARRAY = "array"
    """A fixed-count array of another construct (``cs.Array``)."""
    OTHER = "other"


@dataclasses.dataclass(frozen=True)
class Node:
    """One field construct, classified."""

    kind: Kind
    con: Any
    """The construct without its wrappers."""
    declared: Any
    """The construct as declared (it carries the field's ``docs``)."""
    name: str = ""

    @property
    def fmt(self) -> str:
        """The ``struct`` format (with byte order) of an ``INT`` or ``ENUM`` (else ``""``)."""
        if self.kind is Kind.INT:
            return str(self.con.fmtstr)
        if self.kind is Kind.ENUM and isinstance(self.con.subcon, cs.FormatField):
            return str(self.con.subcon.fmtstr)
        return ""

    @property
    def big_endian(self) -> bool:
        return self.fmt.startswith(">")

    @property
    def length(self) -> int:
        """Bytes of a ``CHARS``, ``BYTES`` or ``PAD``; count of an ``ARRAY``."""
        if self.kind is Kind.ARRAY:
            return int(self.con.count)
        return int(self.con.length)

    @property
    def size(self) -> int:
        """The C ``sizeof`` (0 for a flexible array and a union tail)."""
        if self.kind in (Kind.FLEX, Kind.TAIL):
            return 0
        return int(self.con.sizeof())

    @property
    def dc_type(self) -> type[Any] | None:
        """The dataclass of a typed ``STRUCT`` (``None`` for a plain ``cs.Struct``)."""
        return self.con.dc_type if isinstance(self.con, DataclassStruct) else None

    @property
    def struct(self) -> Any:
        """The ``cs.Struct`` of a ``STRUCT``."""
        return self.con.subcon if isinstance(self.con, DataclassStruct) else self.con


def node(con: Any, name: str | None = None) -> Node:
    """Classify one field construct (the one ``isinstance`` chain of the project)."""
    inner = unwrap(con)
    field_name = name if name is not None else (getattr(con, "name", None) or "")
    kind = Kind.OTHER
    if isinstance(inner, DataclassStruct | cs.Struct):
        kind = Kind.STRUCT
    elif isinstance(inner, StrictEnum):
        kind = Kind.ENUM
    elif isinstance(inner, cs.FormatField):
        kind = Kind.INT
    elif isinstance(inner, CharArray):
        kind = Kind.CHARS
    elif isinstance(inner, Pad):
        kind = Kind.PAD
    elif isinstance(inner, RawArray | _RawBytes):
        kind = Kind.BYTES
    elif isinstance(inner, CUnion):
        kind = Kind.UNION
    elif isinstance(inner, UnionTail):
        kind = Kind.TAIL
    elif isinstance(inner, FlexArray):
        kind = Kind.FLEX
    elif isinstance(inner, cs.Array) and isinstance(inner.count, int):
        kind = Kind.ARRAY
    return Node(kind, inner, con, field_name)


def fields(con: Any) -> tuple[Node, ...]:
    """The members of struct construct ``con`` (empty if it is no struct)."""
    struct = node(con)
    if struct.kind is not Kind.STRUCT:
        return ()
    return tuple(node(sub) for sub in struct.struct.subcons)
