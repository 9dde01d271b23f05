"""``ctypes.Structure`` mirrors generated from the grammars.

A packed ctypes structure per (struct, union member) with the grammar's
fields, offsets and sizes — the speed-of-light reference of
``benchmarks/bench_protocol.py`` (``from_buffer_copy`` is one memcpy) and a
third back end the tests compare with the interpreted and flat paths.
"""

from __future__ import annotations

import ctypes
from typing import Any

import construct as cs
from construct_typed import DataclassStruct

from ustref.errors import LocalProtocolError
from ustref.protocol.fields import (
    CharArray,
    CUnion,
    FlexArray,
    StrictEnum,
    UnionTail,
    _RawBytes,
    unwrap,
)
from ustref.protocol.registry import StructSpec

_SCALARS: dict[str, Any] = {
    "B": ctypes.c_uint8,
    "H": ctypes.c_uint16,
    "I": ctypes.c_uint32,
    "L": ctypes.c_uint32,
    "l": ctypes.c_int32,
    "Q": ctypes.c_uint64,
    "b": ctypes.c_int8,
    "h": ctypes.c_int16,
    "i": ctypes.c_int32,
    "q": ctypes.c_int64,
}


def _ctype(con: Any, key: Any, big_endian: bool) -> Any:
    inner = unwrap(con)
    if isinstance(inner, DataclassStruct):
        return _structure(inner, key, big_endian)
    if isinstance(inner, StrictEnum):
        inner = inner.subcon
    if isinstance(inner, cs.FormatField):
        return _SCALARS[inner.fmtstr[1:]]
    if isinstance(inner, _RawBytes):
        return ctypes.c_ubyte * inner.length
    if isinstance(inner, CharArray):
        return ctypes.c_char * inner.length
    raise LocalProtocolError(f"no ctypes mirror for {type(inner).__name__}")


def _structure(grammar: Any, key: Any, big_endian: bool) -> Any:
    fields: list[tuple[str, Any]] = []
    for sub in grammar.subcon.subcons:
        inner = unwrap(sub)
        if isinstance(inner, FlexArray):
            continue
        if isinstance(inner, CUnion):
            member = inner.cases.get(key, inner.default) if inner.key else inner.default
            ctype = (
                ctypes.c_ubyte * inner.size
                if member is None
                else _ctype(inner.members[member], key, big_endian)
            )
        elif isinstance(inner, UnionTail):
            member = inner.union.cases.get(key, inner.union.default)
            used = inner.union.size if member is None else inner.union.member_sizes[member]
            ctype = ctypes.c_ubyte * (inner.union.size - used)
        else:
            ctype = _ctype(sub, key, big_endian)
        fields.append((sub.name, ctype))
    base: Any = ctypes.BigEndianStructure if big_endian else ctypes.LittleEndianStructure
    return type(grammar.dc_type.__name__ + "Mirror", (base,), {"_pack_": 1, "_fields_": fields})


def ctypes_mirror(spec: StructSpec[Any], key: Any = None) -> type[ctypes.Structure]:
    """A packed ctypes mirror of ``spec`` with the union member ``key`` selects."""
    big_endian = any(
        isinstance(unwrap(s), cs.FormatField) and unwrap(s).fmtstr.startswith(">")
        for s in spec.grammar.subcon.subcons
    )
    mirror: type[ctypes.Structure] = _structure(spec.grammar, key, big_endian)
    if ctypes.sizeof(mirror) != spec.size:
        raise LocalProtocolError(
            f"{spec.c_name}: ctypes mirror is {ctypes.sizeof(mirror)} B, grammar {spec.size} B"
        )
    return mirror
