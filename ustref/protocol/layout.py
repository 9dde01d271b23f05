"""Machine-readable layout of the grammars: C names, offsets and sizes.

Walks the Construct tree of each :class:`~ustref.protocol.registry.StructSpec`
— never a hand-written table — and lists every C member, nested members both
as a whole and by their members (``u``, ``u.ask_channel``,
``u.ask_channel.chunk_id``, ``u.ask_channel.chunk_id.is_set`` …), with offsets
from the start of the outermost struct. Padding and union tails are not C
members and are skipped; arrays are listed whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ustref.protocol.abi import Abi
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, fields


@dataclasses.dataclass(frozen=True)
class FieldLayout:
    """One C member: dotted path, offset from the outermost struct, size, construct."""

    name: str
    offset: int
    size: int
    construct: Any = dataclasses.field(compare=False, repr=False)
    depth: int = 0


def walk(con: Any, prefix: str = "", base: int = 0, depth: int = 0) -> Iterator[FieldLayout]:
    """Yield the C members of struct construct ``con`` recursively."""
    offset = base
    for field in fields(con):
        if field.kind not in (Kind.PAD, Kind.TAIL):
            # An anonymous C struct/union member (field named ``_anon<N>``) is not
            # listed itself: its members are reached by their own names.
            anonymous = field.name.startswith("_anon")
            name = f"{prefix}{field.name}"
            inner_prefix = prefix if anonymous else f"{name}."
            if not anonymous:
                yield FieldLayout(name, offset, field.size, field.con, depth)
            if field.kind is Kind.UNION:
                for member, member_con in field.con.members.items():
                    member_size = member_con.sizeof()
                    yield FieldLayout(
                        f"{inner_prefix}{member}", offset, member_size, member_con, depth + 1
                    )
                    yield from walk(member_con, f"{inner_prefix}{member}.", offset, depth + 2)
            else:
                yield from walk(field.con, inner_prefix, offset, depth + 1)
        offset += field.size


def struct_layout(spec: StructSpec[Any]) -> dict[str, Any]:
    """``{"size": N, "fields": [{"name", "offset", "size"}, …]}`` for one struct."""
    return {
        "size": spec.size,
        "fields": [
            {"name": f.name, "offset": f.offset, "size": f.size} for f in walk(spec.grammar)
        ],
    }


def layout_json(abi: Abi) -> dict[str, Any]:
    """The ``ustref spec layout --json`` document of ``abi``."""
    # Every grammar module, imported here and not with this module: the consumer
    # walks its own message (ustref.consumerd.decode) and never needs the peers'.
    from ustref.protocol.grammars import schema

    sch = schema(abi)
    return {
        "structs": {name: struct_layout(spec) for name, spec in sorted(sch.structs.items())},
        "enums": {
            name: {member: int(value) for member, value in enum_type.__members__.items()}
            for name, enum_type in sorted(sch.enums.items())
        },
    }
