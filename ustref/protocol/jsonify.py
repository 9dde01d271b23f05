"""Typed wire values as JSON-ready data, every field included.

Enums become their C member name, strings their text (with ``tail_hex`` when
bytes follow the NUL), byte strings lowercase hex, wire dataclasses objects of
their fields in declaration order (padding and union tails included, so the
JSON says everything the bytes do).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from ustref.protocol.fields import CStr


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, CStr) and value.tail:
        return {"text": str(value), "tail_hex": value.tail.hex()}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def summary(value: Any, limit: int = 4) -> str:
    """A few key fields of a message, for one-line listings."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        if isinstance(value, bytes):
            text = value[:40].decode("ascii", "replace").replace("\n", "⏎")
            return f"{len(value)} bytes {text!r}" if value.isascii() else f"{len(value)} bytes"
        return repr(value)
    parts: list[str] = []
    fields = dataclasses.fields(value)
    few = len(fields) <= 3  # small replies: show their zeros too
    for field in fields:
        if field.name.startswith("_") or field.name.endswith("_tail"):
            continue
        item = getattr(value, field.name)
        if field.name == "u" and dataclasses.is_dataclass(item):
            inner = summary(item, limit)
            if inner:
                parts.append(inner)
            continue
        if isinstance(item, enum.Enum):
            parts.append(f"{field.name}={item.name}")
        elif isinstance(item, int) and (item or few):
            parts.append(f"{field.name}={item}")
        elif isinstance(item, str) and item:
            parts.append(f"{field.name}={str(item)!r}")
        elif dataclasses.is_dataclass(item) and bool(getattr(item, "is_set", False)):
            parts.append(f"{field.name}={getattr(item, 'value', '?')}")
        if len(parts) >= limit:
            break
    return " ".join(parts)
