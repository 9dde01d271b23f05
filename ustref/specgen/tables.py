"""Field tables: one Markdown row per C member, derived from the grammar tree."""

from __future__ import annotations

import enum
from typing import Any

from ustref.protocol.fields import enum_c_name
from ustref.protocol.layout import walk
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, fields, node

_C_SCALARS = {
    "B": "uint8_t",
    "H": "uint16_t",
    "L": "uint32_t",
    "I": "uint32_t",
    "Q": "uint64_t",
    "b": "int8_t",
    "h": "int16_t",
    "l": "int32_t",
    "i": "int32_t",
    "q": "int64_t",
}


def c_type(con: Any) -> str:
    """A C-like type name for a field construct."""
    field = node(con)
    kind = field.kind
    if kind is Kind.ENUM:
        return f"enum {enum_c_name(field.con.enum_type)} ({c_type(field.con.subcon)})"
    if kind is Kind.INT:
        order = " BE" if field.big_endian else ""
        return _C_SCALARS.get(field.fmt[1:], field.fmt) + order
    if kind is Kind.CHARS:
        return f"char[{field.length}]"
    if kind is Kind.BYTES:
        return f"uint8_t[{field.length}]"
    if kind is Kind.FLEX:
        return "flexible array"
    if kind is Kind.UNION:
        key = f" selected by `{field.con.key}`" if field.con.key else ""
        return f"union{key}"
    if kind is Kind.STRUCT and field.dc_type is not None:
        return "struct"
    if kind is Kind.ARRAY:
        return f"{c_type(field.con.subcon)}[{field.length}]"
    return type(field.con).__name__


def meaning(con: Any) -> str:
    """One line of meaning: the field's doc, or its struct's docstring head."""
    docs = getattr(con, "docs", "") or ""
    if docs:
        return " ".join(docs.split())
    field = node(con)
    if field.dc_type is not None:
        head = (field.dc_type.__doc__ or "").strip().splitlines()
        return head[0] if head else ""
    if field.kind is Kind.ENUM:
        return f"one of `{enum_c_name(field.con.enum_type)}`"
    return ""


def _docs_by_path(spec: StructSpec[Any]) -> dict[str, str]:
    """Field docs (``csfield(doc=…)``) keyed by dotted path."""
    found: dict[str, str] = {}

    def visit(grammar: Any, prefix: str) -> None:
        if node(grammar).dc_type is None:
            return
        for field in fields(grammar):
            path = f"{prefix}{field.name}"
            text = meaning(field.declared)
            if text:
                found[path] = text
            if field.kind is Kind.UNION:
                for member, member_con in field.con.members.items():
                    text = meaning(member_con)
                    if text:
                        found[f"{path}.{member}"] = text
                    visit(member_con, f"{path}.{member}.")
            else:
                visit(field.con, f"{path}.")

    visit(spec.grammar, "")
    return found


def field_table(spec: StructSpec[Any]) -> str:
    """The Markdown field table of one struct (offset, size, type, C name, meaning)."""
    docs = _docs_by_path(spec)
    rows = ["| offset | size | type | C name | meaning |", "| ---: | ---: | --- | --- | --- |"]
    for field in walk(spec.grammar):
        indent = "&nbsp;&nbsp;" * field.depth
        rows.append(
            f"| {field.offset} | {field.size} | {c_type(field.construct)} "
            f"| {indent}`{field.name}` | {docs.get(field.name, '')} |"
        )
    return "\n".join(rows) + "\n"


def enums_of(spec: StructSpec[Any]) -> list[type[enum.IntEnum]]:
    """The C enums a struct's fields carry, in first-use order."""
    seen: list[type[enum.IntEnum]] = []
    for field in walk(spec.grammar):
        found = node(field.construct)
        if found.kind is Kind.ENUM and found.con.enum_type not in seen:
            seen.append(found.con.enum_type)
    return seen


def enum_table(enum_type: type[enum.IntEnum]) -> str:
    """A Markdown table of an enum's members and values."""
    rows = [f"`enum {enum_c_name(enum_type)}`", "", "| member | value |", "| --- | ---: |"]
    rows += [f"| `{name}` | {int(value)} |" for name, value in enum_type.__members__.items()]
    return "\n".join(rows) + "\n"
