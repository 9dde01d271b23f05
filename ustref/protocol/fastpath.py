"""A precompiled fast path for fixed-size typed messages.

Interpreted Construct walks its tree field by field (~80 µs for a 4 KiB
consumer message). For the fixed-size structs that dominate the consumer
protocol, the same grammar can be flattened into one :class:`struct.Struct`
per union member: :class:`FastCodec` unpacks every scalar in one C call and
rebuilds the typed dataclasses from the flat tuple.

The plan is *derived from the grammar* (never written by hand) and only covers
the happy path: any value the fast path cannot accept — an unknown enum, a
string without NUL, a wrong size — is handed to the interpreted grammar, which
raises the precise :class:`~ustref.errors.RemoteProtocolError`. Structs it
cannot flatten (flexible arrays, mixed byte orders, unions keyed by a nested
field) simply use the interpreted grammar. A test fixture runs every grammar
test through both paths and asserts they agree.
"""

from __future__ import annotations

import dataclasses
import struct as pystruct
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ustref.protocol.fields import CStr, CUnion, tail_value
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, fields, node

T = TypeVar("T")

Decoder = Callable[[tuple[Any, ...], int], tuple[Any, int]]
Encoder = Callable[[Any, list[Any]], None]


class _Unsupported(Exception):
    """The grammar cannot be flattened; the interpreted path is used."""


class _Reject(Exception):
    """The fast path refuses these bytes; the interpreted path decides."""


@dataclasses.dataclass
class _Plan:
    fmt: list[str]
    decode: Decoder
    encode: Encoder


def _take_one(values: tuple[Any, ...], i: int) -> tuple[Any, int]:
    """Decode one flat value as is."""
    return values[i], i + 1


def _scalar(fmt: str) -> _Plan:
    def encode(obj: Any, out: list[Any]) -> None:
        out.append(obj)

    return _Plan([fmt], _take_one, encode)


def _enum_plan(fmt: str, enum_type: Any) -> _Plan:
    members = {int(m): m for m in enum_type}

    def decode(values: tuple[Any, ...], i: int) -> tuple[Any, int]:
        member = members.get(values[i])
        if member is None:
            raise _Reject
        return member, i + 1

    def encode(obj: Any, out: list[Any]) -> None:
        if obj not in members:
            raise _Reject
        out.append(int(obj))

    return _Plan([fmt], decode, encode)


def _char_array_plan(length: int) -> _Plan:
    def decode(values: tuple[Any, ...], i: int) -> tuple[Any, int]:
        value = CStr.decode_field(values[i])
        if value is None:
            raise _Reject
        return value, i + 1

    def encode(obj: Any, out: list[Any]) -> None:
        if not isinstance(obj, str):
            raise _Reject
        raw = (obj if isinstance(obj, CStr) else CStr(obj)).encode_field(length)
        if raw is None:
            raise _Reject
        out.append(raw)

    return _Plan([f"{length}s"], decode, encode)


def _raw_plan(length: int) -> _Plan:
    def encode(obj: Any, out: list[Any]) -> None:
        if not isinstance(obj, bytes) or len(obj) != length:
            raise _Reject
        out.append(obj)

    return _Plan([f"{length}s"], _take_one, encode)


def _tail_plan(length: int) -> _Plan:
    """A union tail: all-zero bytes are ``b""`` (see :class:`UnionTail`)."""

    def decode(values: tuple[Any, ...], i: int) -> tuple[Any, int]:
        return tail_value(values[i]), i + 1

    def encode(obj: Any, out: list[Any]) -> None:
        if obj == b"":
            obj = bytes(length)
        if not isinstance(obj, bytes) or len(obj) != length:
            raise _Reject
        out.append(obj)

    return _Plan([f"{length}s"], decode, encode)


def _byte_order(fmtstr: str) -> str:
    return fmtstr[0] if fmtstr[0] in "<>" else "<"


class _Flattener:
    """Turns a grammar into a flat format + decoder, for one union choice."""

    def __init__(self, choose: Callable[[CUnion], str | None]) -> None:
        self.choose = choose
        self.order: str | None = None

    def _check_order(self, fmtstr: str) -> None:
        order = _byte_order(fmtstr)
        if self.order is None:
            self.order = order
        elif self.order != order:
            raise _Unsupported("mixed byte orders")

    def plan(self, con: Any) -> _Plan:
        field = node(con)
        if field.kind is Kind.STRUCT and field.dc_type is not None:
            return self._struct_plan(field.con)
        if field.kind is Kind.ENUM and field.fmt:
            self._check_order(field.fmt)
            return _enum_plan(field.fmt[1:], field.con.enum_type)
        if field.kind is Kind.INT:
            self._check_order(field.fmt)
            return _scalar(field.fmt[1:])
        if field.kind is Kind.CHARS:
            return _char_array_plan(field.length)
        if field.kind in (Kind.BYTES, Kind.PAD):
            return _raw_plan(field.length)
        raise _Unsupported(type(field.con).__name__)

    def _struct_plan(self, grammar: Any) -> _Plan:
        names: list[str] = []
        plans: list[_Plan] = []
        for field in fields(grammar):
            if field.kind is Kind.FLEX:
                raise _Unsupported("flexible array")
            if field.kind is Kind.UNION:
                member = self.choose(field.con)
                plans.append(
                    _raw_plan(field.con.size)
                    if member is None
                    else self.plan(field.con.members[member])
                )
            elif field.kind is Kind.TAIL:
                union = field.con.union
                plans.append(_tail_plan(union.tail_size(self.choose(union))))
            else:
                plans.append(self.plan(field.declared))
            names.append(field.name)
        dc_type = grammar.dc_type
        named = tuple(zip(names, plans, strict=True))

        def decode(values: tuple[Any, ...], i: int) -> tuple[Any, int]:
            kwargs = {}
            for name, plan in named:
                kwargs[name], i = plan.decode(values, i)
            return dc_type(**kwargs), i

        def encode(obj: Any, out: list[Any]) -> None:
            if type(obj) is not dc_type:
                raise _Reject
            for name, plan in named:
                plan.encode(getattr(obj, name), out)

        return _Plan([f for p in plans for f in p.fmt], decode, encode)


class FastCodec(Generic[T]):
    """Flat ``struct`` codec of one spec, agreeing with its interpreted grammar.

    ``supported`` tells whether the spec could be flattened; when it could not,
    :meth:`parse` and :meth:`build` simply call the interpreted grammar.
    """

    def __init__(self, spec: StructSpec[Any]) -> None:
        self.spec = spec
        self._key_reader: Callable[[bytes], Any] | None = None
        self._plans: dict[Any, tuple[pystruct.Struct, _Plan]] = {}
        self._union: CUnion | None = None
        self.supported = True
        try:
            self._prepare()
        except _Unsupported:
            self.supported = False

    def _prepare(self) -> None:
        members = fields(self.spec.grammar)
        unions = [f.con for f in members if f.kind is Kind.UNION]
        if len(unions) > 1:
            raise _Unsupported("several unions")
        if unions:
            union = unions[0]
            self._union = union
            if union.key is not None:
                offset = 0
                for field in members:
                    if field.name == union.key:
                        break
                    offset += field.size
                key_field = next(f for f in members if f.name == union.key)
                key_struct = pystruct.Struct(key_field.fmt)
                self._key_reader = lambda data: key_struct.unpack_from(data, offset)[0]
        self._plan_for(None if self._key_reader is None else _NO_KEY)

    def _plan_for(self, key: Any) -> tuple[pystruct.Struct, _Plan]:
        found = self._plans.get(key)
        if found is not None:
            return found
        union = self._union

        def choose(u: CUnion) -> str | None:
            if u is union and self._key_reader is not None:
                return u.member_for_key(key)
            return u.default if u.key is None else _fail_nested()

        flattener = _Flattener(choose)
        plan = flattener.plan(self.spec.grammar)
        compiled = pystruct.Struct((flattener.order or "<") + "".join(plan.fmt))
        if compiled.size != self.spec.size:
            raise _Unsupported(f"flat size {compiled.size} != {self.spec.size}")
        self._plans[key] = (compiled, plan)
        return compiled, plan

    def flat(self, *names: str) -> pystruct.Struct:
        """The spec as one :class:`struct.Struct` over its integer fields, in the
        order ``names``, for a hot path that packs plain values without building
        the dataclass (``flat(...).pack(*values)`` gives what :meth:`build` gives).
        Derived from the grammar: ``names`` must be its fields in declaration
        order, each an integer or an enum over one, in one byte order; anything
        else raises :class:`ValueError` at import time, not on the hot path."""
        members = fields(self.spec.grammar)
        if tuple(f.name for f in members) != names:
            raise ValueError(f"{self.spec.c_name}: fields are {[f.name for f in members]}")
        orders = {_byte_order(f.fmt) for f in members if f.kind in (Kind.INT, Kind.ENUM)}
        if len(orders) != 1 or any(f.kind not in (Kind.INT, Kind.ENUM) for f in members):
            raise ValueError(f"{self.spec.c_name}: not flat integers in one byte order")
        compiled = pystruct.Struct(orders.pop() + "".join(f.fmt[1:] for f in members))
        if compiled.size != self.spec.size:
            raise ValueError(f"{self.spec.c_name}: flat size {compiled.size} != {self.spec.size}")
        return compiled

    def parse(self, data: bytes) -> T:
        """Decode like ``spec.parse``; falls back to it for anything unusual."""
        if self.supported and len(data) == self.spec.size:
            try:
                key = _NO_KEY if self._key_reader is None else self._key_reader(data)
                compiled, plan = self._plan_for(key)
                obj, _ = plan.decode(compiled.unpack(data), 0)
                return obj  # type: ignore[no-any-return]
            except (_Reject, _Unsupported, UnicodeDecodeError):
                pass
        return self.spec.parse(data)  # type: ignore[no-any-return]

    def build(self, obj: T) -> bytes:
        """Encode like ``spec.build``; falls back to it for anything unusual."""
        if self.supported:
            try:
                key = _NO_KEY
                if self._key_reader is not None and self._union is not None:
                    key = getattr(obj, self._union.key or "")
                compiled, plan = self._plan_for(key)
                out: list[Any] = []
                plan.encode(obj, out)
                return compiled.pack(*out)
            except (_Reject, _Unsupported, pystruct.error, TypeError):
                pass
        return self.spec.build(obj)


_NO_KEY = object()


def _fail_nested() -> str | None:
    raise _Unsupported("union keyed inside a nested struct")
