"""The one round-trip helper every grammar goes through.

Asserts, for one message: parsing ``data`` gives ``obj``, building ``obj``
gives ``data``, and the grammar's ``sizeof`` is the C ``sizeof``.
"""

from __future__ import annotations

from typing import Any

from ustref.protocol.registry import StructSpec


def assert_roundtrip(spec: StructSpec[Any], obj: Any, data: bytes, c_sizeof: int) -> None:
    """parse(data) == obj, build(obj) == data, sizeof == the C sizeof."""
    assert spec.size == c_sizeof, f"{spec.c_name}: sizeof {spec.size} != C sizeof {c_sizeof}"
    assert spec.parse(data) == obj, f"{spec.c_name}: parse differs"
    assert spec.build(obj) == data, f"{spec.c_name}: build differs"
    # A parsed object rebuilds the exact bytes (padding, tails, bytes after NULs).
    assert spec.build(spec.parse(data)) == data


def assert_bytes_roundtrip(spec: StructSpec[Any], data: bytes) -> Any:
    """build(parse(data)) == data; returns the parsed object."""
    obj = spec.parse(data)
    assert spec.build(obj) == data, f"{spec.c_name}: rebuild differs"
    return obj
