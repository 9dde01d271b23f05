"""Strict Construct building blocks for C wire structs.

Construct is lax where a reference must be strict (unknown enum values parse,
padding accepts anything, unions parse every member). The constructs here close
those gaps while keeping every byte, so that ``build(parse(b)) == b`` holds for
any valid ``b``:

* :class:`CharArray` — ``char name[N]``: must hold a NUL; the bytes after the
  NUL are kept on the parsed :class:`CStr` (``.tail``).
* :class:`StrictEnum` — an integer that must be a member of its C enum.
* :class:`Pad` — compiler alignment padding or an unused area: raw bytes, kept
  verbatim, never listed as a C member.
* :class:`RawArray` — a byte array that *is* a C member (``uuid[16]``,
  ``char padding[32]``): raw bytes, listed in the layout.
* :class:`CUnion` + :class:`UnionTail` — a C union selected by a sibling key
  field (``cmd_type``); the bytes of the union beyond the selected member are
  kept by the tail field.
* :class:`FlexArray` — a flexible array member (``char data[]``): size 0 in the
  layout, its bytes follow the fixed part.

Errors raised inside a parse carry the byte offset (``FieldError``); the
boundary in :mod:`ustref.protocol.registry` converts them to
:class:`~ustref.errors.RemoteProtocolError` / :class:`~ustref.errors.LocalProtocolError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import construct as cs
import typing_extensions
from construct_typed import (
    DataclassMixin,
    csfield,
    csfield_const,
    csfield_default,
    csfield_noinit,
)
from construct_typed.generic_wrapper import Construct

from ustref.errors import LocalProtocolError

E = TypeVar("E", bound=enum.IntEnum)

# x86_64 scalar types (little-endian) and their network-order twins.
u8 = cs.Int8ul
u16 = cs.Int16ul
u32 = cs.Int32ul
u64 = cs.Int64ul
s32 = cs.Int32sl
s64 = cs.Int64sl
u16be = cs.Int16ub
u32be = cs.Int32ub
u64be = cs.Int64ub

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


def c_bytes(text: str) -> bytes:
    """The bytes of a C string held as text: UTF-8, with the bytes that were not UTF-8
    on the wire (kept as surrogates by :func:`c_text`) given back as they came."""
    return text.encode(_ENCODING, _ERRORS)


def c_text(raw: bytes) -> str:
    """Text of the bytes of a C string (no NUL in ``raw``): UTF-8, any other byte kept
    as a surrogate (``surrogateescape``), so :func:`c_bytes` gives ``raw`` back."""
    return raw.decode(_ENCODING, _ERRORS)


class FieldError(cs.ConstructError):
    """A strictness check failed inside a parse or build; ``offset`` is absolute."""

    def __init__(self, reason: str, path: str, offset: int | None) -> None:
        super().__init__(reason, path=path)
        self.reason = reason
        self.offset = offset


def c_enum(c_name: str) -> Callable[[type[E]], type[E]]:
    """Class decorator recording the C name of an ``IntEnum`` (``__c_name__``)."""

    def mark(cls: type[E]) -> type[E]:
        cls.__c_name__ = c_name  # type: ignore[attr-defined]
        return cls

    return mark


def enum_c_name(enum_type: type[enum.IntEnum]) -> str:
    """The C name recorded by :func:`c_enum`, or the Python class name."""
    name: str = getattr(enum_type, "__c_name__", enum_type.__name__)
    return name


class CStr(str):
    """Text of a fixed-size C ``char`` array, with the bytes that follow its NUL.

    Compares equal to the plain text; :attr:`tail` holds the bytes after the
    first NUL with trailing zero bytes removed, so a field the C sender filled
    with garbage after the string rebuilds byte for byte.
    """

    tail: bytes

    def __new__(cls, text: str = "", tail: bytes = b"") -> CStr:
        self = super().__new__(cls, text)
        self.tail = tail
        return self

    def __repr__(self) -> str:
        text = str.__repr__(self)
        return f"CStr({text}, tail={self.tail!r})" if self.tail else text

    @classmethod
    def decode_field(cls, raw: bytes) -> CStr | None:
        """Split ``raw`` (the whole field) at its first NUL; ``None`` if it has none."""
        nul = raw.find(b"\0")
        if nul < 0:
            return None
        rest = raw[nul + 1 :]
        # count() is a C loop; rstrip() of kilobytes of zeros is slow.
        tail = b"" if rest.count(0) == len(rest) else rest.rstrip(b"\0")
        return cls(c_text(raw[:nul]), tail)

    def encode_field(self, length: int) -> bytes | None:
        """The field's bytes, zero-filled to ``length``; ``None`` if it does not fit."""
        return encode_c_string(self, self.tail, length)


def encode_c_string(text: str, tail: bytes, length: int) -> bytes | None:
    """``text`` + NUL + ``tail``, zero-filled to ``length``; ``None`` if too long."""
    body = c_bytes(text)
    if b"\0" in body:
        return None
    raw = body + b"\0" + tail
    if len(raw) > length:
        return None
    return raw.ljust(length, b"\0")


class CharArray(Construct[CStr, str]):
    """``char name[length]`` holding a NUL-terminated string."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def _parse(self, stream: Any, context: Any, path: str) -> CStr:
        offset = cs.stream_tell(stream, path)
        raw = cs.stream_read(stream, self.length, path)
        value = CStr.decode_field(raw)
        if value is None:
            raise FieldError(f"char[{self.length}] is not NUL-terminated", path, offset)
        return value

    def _build(self, obj: str, stream: Any, context: Any, path: str) -> Any:
        offset = cs.stream_tell(stream, path)
        if not isinstance(obj, str):
            raise FieldError(f"expected str for char[{self.length}], got {obj!r}", path, offset)
        tail = obj.tail if isinstance(obj, CStr) else b""
        raw = encode_c_string(obj, tail, self.length)
        if raw is None:
            raise FieldError(
                f"string of {len(obj.encode(_ENCODING, _ERRORS))} bytes (plus NUL and tail) "
                f"does not fit char[{self.length}] or contains a NUL",
                path,
                offset,
            )
        cs.stream_write(stream, raw, self.length, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        return self.length


class StrictEnum(Construct[E, E | int]):
    """An integer field whose value must be a member of a C enum."""

    def __init__(self, subcon: Any, enum_type: type[E]) -> None:
        super().__init__()
        self.subcon = subcon
        self.enum_type = enum_type

    def _parse(self, stream: Any, context: Any, path: str) -> E:
        offset = cs.stream_tell(stream, path)
        value = self.subcon._parsereport(stream, context, path)
        try:
            return self.enum_type(value)
        except ValueError:
            raise FieldError(
                f"{value} is not a value of enum {enum_c_name(self.enum_type)}", path, offset
            ) from None

    def _build(self, obj: E | int, stream: Any, context: Any, path: str) -> Any:
        offset = cs.stream_tell(stream, path)
        try:
            member = self.enum_type(obj)
        except ValueError:
            raise FieldError(
                f"{obj!r} is not a value of enum {enum_c_name(self.enum_type)}", path, offset
            ) from None
        self.subcon._build(int(member), stream, context, path)
        return member

    def _sizeof(self, context: Any, path: str) -> int:
        size: int = self.subcon._sizeof(context, path)
        return size


class _RawBytes(Construct[bytes, bytes]):
    """Exactly ``length`` raw bytes."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def _parse(self, stream: Any, context: Any, path: str) -> bytes:
        data: bytes = cs.stream_read(stream, self.length, path)
        return data

    def _build(self, obj: bytes, stream: Any, context: Any, path: str) -> Any:
        if not isinstance(obj, bytes | bytearray) or len(obj) != self.length:
            offset = cs.stream_tell(stream, path)
            raise FieldError(f"expected {self.length} bytes, got {obj!r:.60}", path, offset)
        cs.stream_write(stream, bytes(obj), self.length, path)
        return bytes(obj)

    def _sizeof(self, context: Any, path: str) -> int:
        return self.length


class RawArray(_RawBytes):
    """A byte array that is a C member (``unsigned char uuid[16]``, ``char padding[32]``)."""


class Pad(_RawBytes):
    """Alignment padding or an unused area: kept verbatim, not a C member."""


class FlexArray(Construct[bytes, bytes]):
    """A C flexible array member: size 0 in ``sizeof``, its bytes follow the struct.

    ``length`` gives the byte count from the context (e.g. ``lambda this: this.len``);
    ``None`` takes every remaining byte of the message.
    """

    def __init__(self, length: Callable[[Any], int] | None = None) -> None:
        super().__init__()
        self.length = length

    def _parse(self, stream: Any, context: Any, path: str) -> bytes:
        if self.length is None:
            data: bytes = cs.stream_read_entire(stream, path)
            return data
        count = self.length(context)
        offset = cs.stream_tell(stream, path)
        if count < 0:
            raise FieldError(f"negative length {count}", path, offset)
        try:
            data = cs.stream_read(stream, count, path)
        except cs.StreamError:
            raise FieldError(f"needs {count} bytes, message is shorter", path, offset) from None
        return data

    def _build(self, obj: bytes, stream: Any, context: Any, path: str) -> Any:
        offset = cs.stream_tell(stream, path)
        if not isinstance(obj, bytes | bytearray):
            raise FieldError(f"expected bytes, got {obj!r:.60}", path, offset)
        if self.length is not None and self.length(context) != len(obj):
            raise FieldError(
                f"length field says {self.length(context)} bytes, value has {len(obj)}",
                path,
                offset,
            )
        cs.stream_write(stream, bytes(obj), len(obj), path)
        return bytes(obj)

    def _sizeof(self, context: Any, path: str) -> int:
        return 0


class CUnion(Construct[Any, Any]):
    """A C union whose live member is chosen by a sibling key field.

    ``members`` lists every member of the C declaration, in order, with its
    construct (for the layout and the spec). ``cases`` maps key values to the
    member the C code reads for them; keys absent from ``cases`` use
    ``default`` (a member name) or, when ``default`` is ``None``, the union is
    kept as raw bytes. ``key`` is the sibling field name (``None``: always
    ``default``). ``size`` is the C ``sizeof`` of the union.

    The union parses only the selected member; the following :class:`UnionTail`
    field keeps the remaining bytes. ``sizeof`` reports the whole union and the
    tail reports 0, so the enclosing struct's ``sizeof`` is the C one.
    """

    def __init__(
        self,
        size: int,
        members: Mapping[str, Any],
        *,
        key: str | None = None,
        cases: Mapping[Any, str] | None = None,
        default: str | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        self.members = dict(members)
        self.key = key
        self.cases = dict(cases or {})
        self.default = default
        for name in [*self.cases.values(), default]:
            if name is not None and name not in self.members:
                raise LocalProtocolError(f"union case names unknown member {name!r}")
        self.member_sizes = {name: sub.sizeof() for name, sub in self.members.items()}
        for name, member_size in self.member_sizes.items():
            if member_size > size:
                raise LocalProtocolError(
                    f"union member {name} ({member_size} B) exceeds union ({size} B)"
                )

    def member_for(self, context: Any) -> str | None:
        """The member name selected in ``context`` (``None``: raw bytes)."""
        if self.key is None:
            return self.default
        return self.cases.get(context[self.key], self.default)

    def member_for_key(self, key: Any) -> str | None:
        """The member name the key value ``key`` selects (``None``: raw bytes)."""
        return self.cases.get(key, self.default) if self.key is not None else self.default

    def tail_size(self, member: str | None) -> int:
        """Bytes of the union beyond ``member`` (0 when no member is selected:
        the union is then read whole, as raw bytes)."""
        return 0 if member is None else self.size - self.member_sizes[member]

    def selected_size(self, context: Any) -> int:
        member = self.member_for(context)
        return self.size if member is None else self.member_sizes[member]

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        member = self.member_for(context)
        if member is None:
            return cs.stream_read(stream, self.size, path)
        return self.members[member]._parsereport(stream, context, f"{path} -> {member}")

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        member = self.member_for(context)
        if member is None:
            if not isinstance(obj, bytes) or len(obj) != self.size:
                offset = cs.stream_tell(stream, path)
                raise FieldError(
                    f"{self.key}={context.get(self.key)!r} selects no member: "
                    f"expected {self.size} raw bytes, got {obj!r:.60}",
                    path,
                    offset,
                )
            cs.stream_write(stream, obj, self.size, path)
            return obj
        sub = self.members[member]
        expected = getattr(sub, "dc_type", None)
        if expected is not None and not isinstance(obj, expected):
            offset = cs.stream_tell(stream, path)
            raise FieldError(
                f"{self.key}={context.get(self.key)!r} selects member {member} "
                f"({expected.__name__}), got {type(obj).__name__}",
                path,
                offset,
            )
        return sub._build(obj, stream, context, f"{path} -> {member}")

    def _sizeof(self, context: Any, path: str) -> int:
        return self.size


def tail_value(data: bytes) -> bytes:
    """The parsed value of a union tail: an all-zero tail (what C senders write,
    having ``memset`` the message) is ``b""``, the default; any other is kept.
    Every decoder of a union tail (interpreted, flat, drawn) goes through here."""
    return data if data.count(0) != len(data) else b""


class UnionTail(Construct[bytes, bytes]):
    """The bytes of a :class:`CUnion` beyond its selected member (``sizeof`` 0).

    Parses to ``b""`` when those bytes are all zero (builds back as zeros), so a
    message built with the default tail equals its parsed form.
    """

    def __init__(self, union: CUnion) -> None:
        super().__init__()
        self.union = union

    def _length(self, context: Any) -> int:
        return self.union.size - self.union.selected_size(context)

    def _parse(self, stream: Any, context: Any, path: str) -> bytes:
        data: bytes = cs.stream_read(stream, self._length(context), path)
        return tail_value(data)

    def _build(self, obj: bytes | None, stream: Any, context: Any, path: str) -> Any:
        length = self._length(context)
        if obj is None or obj == b"":
            obj = bytes(length)
        if not isinstance(obj, bytes | bytearray) or len(obj) != length:
            offset = cs.stream_tell(stream, path)
            raise FieldError(
                f"union tail must be {length} bytes for the selected member, got {obj!r:.60}",
                path,
                offset,
            )
        cs.stream_write(stream, bytes(obj), length, path)
        return bytes(obj)

    def _sizeof(self, context: Any, path: str) -> int:
        return 0


def unwrap(con: Any) -> Any:
    """Strip the wrappers (Renamed, Default, Const, Transformed) around a construct."""
    while isinstance(con, cs.Renamed | cs.Default | cs.Const):
        con = con.subcon
    return con


if TYPE_CHECKING:
    from construct_typed.generic_wrapper import Construct as _TypedConstruct

    @typing_extensions.dataclass_transform(
        frozen_default=True,
        kw_only_default=True,
        field_specifiers=(csfield, csfield_default, csfield_noinit, csfield_const),
    )
    class WireStruct:
        """Base of every wire dataclass (type-checking view: a frozen dataclass base)."""

    W = TypeVar("W", bound=WireStruct)

    def DataclassStruct(dc_type: type[W]) -> _TypedConstruct[W, W]:
        """construct-typing's ``DataclassStruct``, typed for :class:`WireStruct`."""
        ...

else:
    from construct_typed import DataclassStruct  # noqa: F401  (re-exported)

    class WireStruct(DataclassMixin):
        """Base of every wire dataclass: frozen, keyword-only, bound to Construct fields.

        Declare subclasses with ``@dataclasses.dataclass(frozen=True, kw_only=True)``
        and ``csfield(...)`` fields; nest them with :func:`DataclassStruct` imported
        from this module. ``str()`` is the dataclass ``repr`` (the mixin's pretty
        printer writes to the instance, which a frozen dataclass forbids). For the
        type checker, this is a ``dataclass_transform`` base (frozen, keyword-only)
        rather than construct-typing's non-frozen mixin.
        """

        def __str__(self) -> str:
            return repr(self)
