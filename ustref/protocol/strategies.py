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
from construct_typed import DataclassStruct
from hypothesis import strategies as st

from ustref.protocol.fields import (
    CharArray,
    CStr,
    CUnion,
    FlexArray,
    StrictEnum,
    UnionTail,
    _RawBytes,
    unwrap,
)
from ustref.protocol.registry import StructSpec

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
    inner = unwrap(con)
    if isinstance(inner, DataclassStruct):
        return _dataclass_values(inner)
    if isinstance(inner, StrictEnum):
        return st.sampled_from(list(inner.enum_type.__members__.values()))
    if isinstance(inner, CharArray):
        return _c_string(inner.length)
    if isinstance(inner, _RawBytes):
        return _filler(inner.length)
    if isinstance(inner, cs.FormatField):
        low, high = int_bounds(inner.fmtstr)
        return st.integers(low, high)
    if isinstance(inner, cs.Array) and isinstance(inner.count, int):
        return st.lists(strategy_for(inner.subcon), min_size=inner.count, max_size=inner.count)
    size = inner.sizeof()
    return st.binary(min_size=size, max_size=size).map(inner.parse)


def sizing_fields(grammar: Any) -> frozenset[str]:
    """Names of the integer fields of a struct grammar that size its flexible array."""
    return frozenset(
        field
        for sub in grammar.subcon.subcons
        if isinstance(unwrap(sub), FlexArray) and unwrap(sub).length is not None
        for field in [_length_field(unwrap(sub).length)]
        if field is not None
    )


def _dataclass_values(grammar: Any) -> st.SearchStrategy[Any]:
    dc_type = grammar.dc_type
    subcons = grammar.subcon.subcons
    # Integer fields that size a later flexible array are drawn small.
    sizing = sizing_fields(grammar)

    @st.composite
    def draw_struct(draw: st.DrawFn) -> Any:
        values: dict[str, Any] = {}
        for sub in subcons:
            inner = unwrap(sub)
            if sub.name in sizing:
                values[sub.name] = draw(st.integers(0, MAX_FLEX_COUNT))
            elif isinstance(inner, CUnion):
                member = inner.member_for(values)
                values[sub.name] = (
                    draw(_filler(inner.size))
                    if member is None
                    else draw(strategy_for(inner.members[member]))
                )
            elif isinstance(inner, UnionTail):
                n = inner.union.size - inner.union.selected_size(values)
                tail = draw(_filler(n))
                values[sub.name] = tail if any(tail) else b""
            elif isinstance(inner, FlexArray):
                if inner.length is None:
                    values[sub.name] = draw(st.binary(max_size=64))
                else:
                    n = inner.length(cs.Container(values))
                    values[sub.name] = draw(st.binary(min_size=n, max_size=n))
            else:
                values[sub.name] = draw(strategy_for(sub))
        return dc_type(**values)

    return draw_struct()


def values_for(spec: StructSpec[Any]) -> st.SearchStrategy[Any]:
    """Valid typed messages of ``spec``."""
    return _dataclass_values(spec.grammar)


def valid_bytes_for(spec: StructSpec[Any]) -> st.SearchStrategy[bytes]:
    """Encodings of valid messages of ``spec``."""
    return values_for(spec).map(spec.build)
