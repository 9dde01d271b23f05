"""Hypothesis strategies derived from the grammars themselves.

:func:`values_for` walks a :class:`~ustref.protocol.registry.StructSpec`'s
Construct tree and draws valid typed messages: integers in their C range, enum
members, NUL-terminated strings with arbitrary bytes after the NUL, raw
padding, the union member its key selects (with a random tail), flexible arrays
whose length field agrees. No per-message strategy is written by hand.
:func:`valid_bytes_for` draws the encoded bytes of such messages.

Needs the optional dependency ``hypothesis`` (``pip install ustref[fuzz]``).
"""

from __future__ import annotations

import struct as pystruct
from collections.abc import Callable
from typing import Any

import construct as cs
from hypothesis import strategies as st

from ustref.protocol.fields import CStr, tail_value
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, fields, node

#: Longest string body drawn for a ``char[N]`` field (keeps examples small).
MAX_TEXT = 48
#: Longest flexible-array payload drawn.
MAX_FLEX_COUNT = 8


#: Raw areas longer than this are drawn as a short pattern repeated (or zeros).
MAX_RAW_DRAW = 256


def _filler(length: int) -> st.SearchStrategy[bytes]:
    """``length`` raw bytes; long areas repeat a short drawn pattern (Hypothesis'
    data budget cannot hold kilobytes per example)."""
    if length <= MAX_RAW_DRAW:
        return st.binary(min_size=length, max_size=length)
    pattern = st.binary(min_size=1, max_size=16)
    return st.one_of(
        st.just(bytes(length)),
        pattern.map(lambda p: (p * (length // len(p) + 1))[:length]),
    )


def int_bounds(fmt: str) -> tuple[int, int]:
    """The C range of the integer a ``struct`` format such as ``<L`` or ``>q`` holds."""
    bits = 8 * pystruct.calcsize(fmt)
    if fmt[-1].islower():
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


@st.composite
def _c_string(draw: st.DrawFn, length: int) -> CStr:
    room = length - 1
    body = draw(st.binary(max_size=min(room, MAX_TEXT)).map(lambda b: b.replace(b"\0", b"a")))
    tail = draw(st.binary(max_size=min(room - len(body), 16))).rstrip(b"\0")
    return CStr(body.decode("utf-8", "surrogateescape"), tail)


class _LengthProbe(dict[str, Any]):
    """A fake context recording which fields a length lambda reads."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.read.append(name)
        return 1

    def __getitem__(self, name: str) -> Any:
        self.read.append(name)
        return 1


def _length_field(length: Callable[[Any], int]) -> str | None:
    probe = _LengthProbe()
    try:
        length(probe)
    except Exception:
        return None
    return probe.read[0] if len(probe.read) == 1 else None


def strategy_for(con: Any) -> st.SearchStrategy[Any]:
    """A strategy for one self-contained construct (not unions or flex arrays)."""
    field = node(con)
    if field.kind is Kind.STRUCT and field.dc_type is not None:
        return _dataclass_values(field.con)
    if field.kind is Kind.ENUM:
        return st.sampled_from(list(field.con.enum_type.__members__.values()))
    if field.kind is Kind.CHARS:
        return _c_string(field.length)
    if field.kind in (Kind.BYTES, Kind.PAD):
        return _filler(field.length)
    if field.kind is Kind.INT:
        low, high = int_bounds(field.fmt)
        return st.integers(low, high)
    if field.kind is Kind.ARRAY:
        count = field.length
        return st.lists(strategy_for(field.con.subcon), min_size=count, max_size=count)
    return st.binary(min_size=field.size, max_size=field.size).map(field.con.parse)


def sizing_fields(grammar: Any) -> frozenset[str]:
    """Names of the integer fields of a struct grammar that size its flexible array."""
    return frozenset(
        name
        for field in fields(grammar)
        if field.kind is Kind.FLEX and field.con.length is not None
        for name in [_length_field(field.con.length)]
        if name is not None
    )


def _dataclass_values(grammar: Any) -> st.SearchStrategy[Any]:
    dc_type = grammar.dc_type
    members = fields(grammar)
    # Integer fields that size a later flexible array are drawn small.
    sizing = sizing_fields(grammar)

    @st.composite
    def draw_struct(draw: st.DrawFn) -> Any:
        values: dict[str, Any] = {}
        for field in members:
            if field.name in sizing:
                values[field.name] = draw(st.integers(0, MAX_FLEX_COUNT))
            elif field.kind is Kind.UNION:
                union = field.con
                member = union.member_for(values)
                values[field.name] = (
                    draw(_filler(union.size))
                    if member is None
                    else draw(strategy_for(union.members[member]))
                )
            elif field.kind is Kind.TAIL:
                union = field.con.union
                values[field.name] = tail_value(
                    draw(_filler(union.tail_size(union.member_for(values))))
                )
            elif field.kind is Kind.FLEX:
                if field.con.length is None:
                    values[field.name] = draw(st.binary(max_size=64))
                else:
                    n = field.con.length(cs.Container(values))
                    values[field.name] = draw(st.binary(min_size=n, max_size=n))
            else:
                values[field.name] = draw(strategy_for(field.declared))
        return dc_type(**values)

    return draw_struct()


def values_for(spec: StructSpec[Any]) -> st.SearchStrategy[Any]:
    """Valid typed messages of ``spec``."""
    return _dataclass_values(spec.grammar)


def valid_bytes_for(spec: StructSpec[Any]) -> st.SearchStrategy[bytes]:
    """Encodings of valid messages of ``spec``."""
    return values_for(spec).map(spec.build)
