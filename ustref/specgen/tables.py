"""Field tables: one Markdown row per C member, derived from the grammar tree."""

from __future__ import annotations

import enum
from typing import Any

import construct as cs
from construct_typed import DataclassStruct

from ustref.protocol.fields import (
    CharArray,
    CUnion,
    FlexArray,
    RawArray,
    StrictEnum,
    enum_c_name,
    unwrap,
)
from ustref.protocol.layout import walk
from ustref.protocol.registry import StructSpec

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
    inner = unwrap(con)
    if isinstance(inner, StrictEnum):
        return f"enum {enum_c_name(inner.enum_type)} ({c_type(inner.subcon)})"
    if isinstance(inner, cs.FormatField):
        order = " BE" if inner.fmtstr.startswith(">") else ""
        return _C_SCALARS.get(inner.fmtstr[1:], inner.fmtstr) + order
    if isinstance(inner, CharArray):
        return f"char[{inner.length}]"
    if isinstance(inner, RawArray):
        return f"uint8_t[{inner.length}]"
    if isinstance(inner, FlexArray):
        return "flexible array"
    if isinstance(inner, CUnion):
        key = f" selected by `{inner.key}`" if inner.key else ""
        return f"union{key}"
    if isinstance(inner, DataclassStruct):
        return "struct"
    if isinstance(inner, cs.Array):
        return f"{c_type(inner.subcon)}[{inner.count}]"
    return type(inner).__name__


def meaning(con: Any) -> str:
    """One line of meaning: the field's doc, or its struct's docstring head."""
    docs = getattr(con, "docs", "") or ""
    if docs:
        return " ".join(docs.split())
    inner = unwrap(con)
    if isinstance(inner, DataclassStruct):
        head = (inner.dc_type.__doc__ or "").strip().splitlines()
        return head[0] if head else ""
    if isinstance(inner, StrictEnum):
        return f"one of `{enum_c_name(inner.enum_type)}`"
    return ""


def _docs_by_path(spec: StructSpec[Any]) -> dict[str, str]:
    """Field docs (``csfield(doc=…)``) keyed by dotted path."""
    found: dict[str, str] = {}

    def visit(grammar: Any, prefix: str) -> None:
        struct = unwrap(grammar)
        if not isinstance(struct, DataclassStruct):
            return
        for sub in struct.subcon.subcons:
            path = f"{prefix}{sub.name}"
            text = meaning(sub)
            if text:
                found[path] = text
            inner = unwrap(sub)
            if isinstance(inner, CUnion):
                for member, member_con in inner.members.items():
                    text = meaning(member_con)
                    if text:
                        found[f"{path}.{member}"] = text
                    visit(member_con, f"{path}.{member}.")
            else:
                visit(inner, f"{path}.")

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
        inner = unwrap(field.construct)
        if isinstance(inner, StrictEnum) and inner.enum_type not in seen:
            seen.append(inner.enum_type)
    return seen


def enum_table(enum_type: type[enum.IntEnum]) -> str:
    """A Markdown table of an enum's members and values."""
    rows = [f"`enum {enum_c_name(enum_type)}`", "", "| member | value |", "| --- | ---: |"]
    rows += [f"| `{name}` | {int(value)} |" for name, value in enum_type.__members__.items()]
    return "\n".join(rows) + "\n"
