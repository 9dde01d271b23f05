"""``ctypes.Structure`` mirrors generated from the grammars.

A packed ctypes structure per (struct, union member) with the grammar's
fields, offsets and sizes — the speed-of-light reference of
``benchmarks/bench_protocol.py`` (``from_buffer_copy`` is one memcpy) and a
third back end the tests compare with the interpreted and flat paths.
"""

from __future__ import annotations

import ctypes
from typing import Any

from ustref.errors import LocalProtocolError
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, Node, fields, node

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


def _ctype(field: Node, key: Any, big_endian: bool) -> Any:
    if field.kind is Kind.STRUCT and field.dc_type is not None:
        return _structure(field.con, key, big_endian)
    if field.kind in (Kind.INT, Kind.ENUM) and field.fmt:
        return _SCALARS[field.fmt[1:]]
    if field.kind in (Kind.BYTES, Kind.PAD):
        return ctypes.c_ubyte * field.length
    if field.kind is Kind.CHARS:
        return ctypes.c_char * field.length
    raise LocalProtocolError(f"no ctypes mirror for {type(field.con).__name__}")


def _structure(grammar: Any, key: Any, big_endian: bool) -> Any:
    members: list[tuple[str, Any]] = []
    for field in fields(grammar):
        if field.kind is Kind.FLEX:
            continue
        if field.kind is Kind.UNION:
            member = field.con.member_for_key(key)
            ctype = (
                ctypes.c_ubyte * field.con.size
                if member is None
                else _ctype(node(field.con.members[member]), key, big_endian)
            )
        elif field.kind is Kind.TAIL:
            union = field.con.union
            ctype = ctypes.c_ubyte * union.tail_size(union.member_for_key(key))
        else:
            ctype = _ctype(field, key, big_endian)
        members.append((field.name, ctype))
    base: Any = ctypes.BigEndianStructure if big_endian else ctypes.LittleEndianStructure
    return type(grammar.dc_type.__name__ + "Mirror", (base,), {"_pack_": 1, "_fields_": members})


def ctypes_mirror(spec: StructSpec[Any], key: Any = None) -> type[ctypes.Structure]:
    """A packed ctypes mirror of ``spec`` with the union member ``key`` selects."""
    big_endian = any(f.kind is Kind.INT and f.big_endian for f in fields(spec.grammar))
    mirror: type[ctypes.Structure] = _structure(spec.grammar, key, big_endian)
    if ctypes.sizeof(mirror) != spec.size:
        raise LocalProtocolError(
            f"{spec.c_name}: ctypes mirror is {ctypes.sizeof(mirror)} B, grammar {spec.size} B"
        )
    return mirror
