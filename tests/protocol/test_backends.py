"""Every message kind round-trips, and every back end agrees.

The hypothesis round-trip property of every message kind lives here, once:
for every registered struct of both ABIs and every wire piece that is no C
struct (scalar replies, ust-ctl framing), random valid messages drawn from the
grammar rebuild byte for byte, and parse and build identically on the flat fast
path; the ctypes mirror derived from the grammar has the grammar's size and
field offsets, and reads the same scalar values; invalid bytes get the same
RemoteProtocolError from both paths.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.roundtrip import fast_codec
from ustref.errors import RemoteProtocolError
from ustref.fuzz.grammar_strategies import values_for
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import CONSUMER_MSG, LttngConsumerCommand
from ustref.protocol.ctypes_mirror import ctypes_mirror
from ustref.protocol.grammars import schema
from ustref.protocol.layout import walk
from ustref.protocol.registry import StructSpec

SPECS = sorted(
    {
        **{
            (abi.value, name): spec
            for abi in ALL_ABIS
            for name, spec in schema(abi).structs.items()
        },
        **{("wire", name): spec for name, spec in schema(ALL_ABIS[0]).wire_only.items()},
    }.items()
)
IDS = [f"{where}:{name}" for (where, name), _ in SPECS]


@pytest.mark.parametrize("spec", [spec for _, spec in SPECS], ids=IDS)
# Some messages are kilobytes of raw union by construction (lttcomm_session_msg).
@settings(
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ]
)
@given(data=st.data())
def test_roundtrip_property(spec: StructSpec[Any], data: st.DataObject) -> None:
    obj = data.draw(values_for(spec))
    raw = spec.build(obj)
    assert len(raw) >= spec.size
    assert spec.parse(raw) == obj
    assert spec.build(spec.parse(raw)) == raw
    fast = fast_codec(spec)
    assert fast.build(obj) == raw
    assert fast.parse(raw) == obj


@pytest.mark.parametrize("spec", [spec for _, spec in SPECS], ids=IDS)
def test_fast_path_reports_the_same_errors(spec: StructSpec[Any]) -> None:
    fast = fast_codec(spec)
    for bad in (b"", b"\xff" * (spec.size + 1), b"\xff" * spec.size):
        try:
            expected: Any = spec.parse(bad)
        except RemoteProtocolError as exc:
            expected = str(exc)
        try:
            got: Any = fast.parse(bad)
        except RemoteProtocolError as exc:
            got = str(exc)
        assert got == expected


def test_fast_path_covers_the_fixed_size_messages() -> None:
    for abi in ALL_ABIS:
        assert fast_codec(CONSUMER_MSG[abi]).supported


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("command", list(LttngConsumerCommand), ids=lambda c: c.name)
def test_ctypes_mirror_matches_grammar(abi: Abi, command: LttngConsumerCommand) -> None:
    spec = CONSUMER_MSG[abi]
    mirror = ctypes_mirror(spec, command)
    assert ctypes.sizeof(mirror) == spec.size
    data = struct.pack("<I", int(command)) + bytes(range(256)) * 50
    data = data[: spec.size]
    view = mirror.from_buffer_copy(data)
    assert view.cmd_type == int(command)
    # Every scalar the grammar lists at top level of the selected member reads the same.
    member = spec.grammar.subcon.subcons[1].subcon.cases.get(command)
    if member is None:
        return
    fields = {f.name: f for f in walk(spec.grammar)}
    for name, _ in getattr(mirror, "_fields_", []):
        if name != "u":
            continue
        u = view.u
        for field_name, ctype in getattr(type(u), "_fields_", []):
            if not isinstance(ctype, type) or not issubclass(ctype, ctypes._SimpleCData):
                continue
            path = f"u.{member}.{field_name}"
            layout = fields[path]
            raw = data[layout.offset : layout.offset + layout.size]
            fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[layout.size]
            if ctype in (ctypes.c_int8, ctypes.c_int16, ctypes.c_int32, ctypes.c_int64):
                fmt = fmt.lower()
            assert getattr(u, field_name) == struct.unpack("<" + fmt, raw)[0], path
