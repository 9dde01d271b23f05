"""The one round-trip helper every grammar goes through.

Asserts, for one message: parsing ``data`` gives ``obj``, building ``obj``
gives ``data``, and the grammar's ``sizeof`` is the C ``sizeof`` — on every
back end: the interpreted typed grammar and the flat fast path derived from it
(:class:`~ustref.protocol.fastpath.FastCodec`), so the fast path is proven to
agree with the typed path on every grammar test.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ustref.protocol.fastpath import FastCodec
from ustref.protocol.registry import StructSpec


@cache
def fast_codec(spec: StructSpec[Any]) -> FastCodec[Any]:
    return FastCodec(spec)


def assert_roundtrip(spec: StructSpec[Any], obj: Any, data: bytes, c_sizeof: int) -> None:
    """parse(data) == obj, build(obj) == data, sizeof == the C sizeof, on every back end."""
    assert spec.size == c_sizeof, f"{spec.c_name}: sizeof {spec.size} != C sizeof {c_sizeof}"
    assert spec.parse(data) == obj, f"{spec.c_name}: parse differs"
    assert spec.build(obj) == data, f"{spec.c_name}: build differs"
    # A parsed object rebuilds the exact bytes (padding, tails, bytes after NULs).
    assert spec.build(spec.parse(data)) == data
    fast = fast_codec(spec)
    assert fast.parse(data) == obj, f"{spec.c_name}: fast path parse differs"
    assert fast.build(obj) == data, f"{spec.c_name}: fast path build differs"


def assert_bytes_roundtrip(spec: StructSpec[Any], data: bytes) -> Any:
    """build(parse(data)) == data on every back end; returns the parsed object."""
    obj = spec.parse(data)
    assert spec.build(obj) == data, f"{spec.c_name}: rebuild differs"
    fast = fast_codec(spec)
    assert fast.parse(data) == obj and fast.build(obj) == data, f"{spec.c_name}: fast path"
    return obj
