"""``ustref spec ring-layout --json``: the ctypes mirrors against facts of the C layout.

The sizes and offsets asserted here were checked against lttng-ust v2.13.5
compiled for x86_64 (gcc ``sizeof``/``offsetof`` on src/common/ringbuffer/*.h,
and the DWARF layout oracle of the project); the crash-ABI record the library
writes at run time is checked in test_differential.py.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path
from typing import Any

from ustref.ring import layout
from ustref.ring.layout import ring_layout_json

C_SIZES = {
    "lttng_ust_ring_buffer": (640, 128),
    "lttng_ust_ring_buffer_channel": (768, 128),
    "channel_backend": (544, 8),
    "lttng_ust_ring_buffer_backend": (176, 8),
    "lttng_ust_ring_buffer_backend_pages": (64, 8),
    "commit_counters_hot": (128, 128),
    "commit_counters_cold": (128, 128),
    "lttng_crash_abi": (124, 1),
    "lttng_ust_ring_buffer_config": (160, 8),
    "shm_object": (64, 8),
    "packet_header": (88, 8),
    "metadata_packet_header": (40, 4),
}
C_OFFSETS = {
    ("lttng_ust_ring_buffer", "offset"): 128,
    ("lttng_ust_ring_buffer", "backend"): 176,
    ("lttng_ust_ring_buffer", "self"): 472,
    ("lttng_ust_ring_buffer", "padding"): 488,
    ("lttng_ust_ring_buffer_backend", "padding"): 105,  # right after the allocated:1 byte
    ("channel_backend", "num_subbuf"): 32,
    ("channel_backend", "config"): 64,
    ("channel_backend", "buf"): 544,
    ("lttng_ust_ring_buffer_channel", "u"): 88,
    ("lttng_ust_ring_buffer_channel", "backend"): 120,
}


def fields(doc: dict[str, object], struct: str) -> dict[str, dict[str, int]]:
    structs = doc["structs"]
    assert isinstance(structs, dict)
    return {f["name"]: f for f in structs[struct]["fields"]}


def test_sizes_and_alignments() -> None:
    doc = ring_layout_json()
    for name, (size, align) in C_SIZES.items():
        entry = doc["structs"][name]
        assert (entry["size"], entry["align"]) == (size, align), name


def test_offsets() -> None:
    doc = ring_layout_json()
    for (struct, field), offset in C_OFFSETS.items():
        assert fields(doc, struct)[field]["offset"] == offset, (struct, field)


def test_shape_follows_the_probe_rules() -> None:
    doc = ring_layout_json()
    rb = fields(doc, "lttng_ust_ring_buffer")
    # nested members by dotted path, anonymous DECLARE_SHMP union reached by its members
    assert rb["backend.buf_rsb.id"] == {"name": "backend.buf_rsb.id", "offset": 192, "size": 8}
    assert rb["commit_hot._ref.offset"]["offset"] == 144
    assert rb["crash_abi.offset.prod_offset"]["offset"] == 32
    # bit-fields carry bit_offset/bit_size; hidden tail padding is not listed
    assert rb["get_subbuf"] == {
        "name": "get_subbuf",
        "offset": 464,
        "size": 1,
        "bit_offset": 464 * 8,
        "bit_size": 1,
    }
    assert not any(name.startswith("_tail_pad") for name in rb)
    # flexible array members have size 0
    assert fields(doc, "channel_backend")["buf"]["size"] == 0
    assert json.loads(json.dumps(doc)) == doc


def test_header_sizes() -> None:
    # client_packet_header_size() of each client
    assert layout.DATA_SUBBUF_HEADER_SIZE == 84
    assert layout.METADATA_SUBBUF_HEADER_SIZE == 37


def test_matches_the_compiled_c_layout() -> None:
    """No field of the mirrors may differ from the C compiler's layout (c_layout/)."""
    path = Path(__file__).parent / "c_layout" / "ust-v2.13.5.json"
    expected = json.loads(Path(path).read_text())["structs"]
    mine = ring_layout_json()["structs"]
    compared = 0
    for name, entry in mine.items():
        if name not in expected:
            continue
        want = {f["name"]: f for f in expected[name]["fields"]}
        have = {f["name"]: f for f in entry["fields"]}
        assert entry["size"] == expected[name]["size"], name
        assert set(have) == set(want), name
        for field, spec in want.items():
            assert have[field] == {k: spec[k] for k in have[field]}, (name, field)
        compared += 1
    assert compared >= 10


# -- types: signedness, size, element count of every member, against DWARF -------------

_SIGNED = {
    ctypes.c_int8,
    ctypes.c_int16,
    ctypes.c_int32,
    ctypes.c_int64,
    ctypes.c_long,
    ctypes.c_longlong,
    ctypes.c_ssize_t,
    ctypes.c_int,
    ctypes.c_short,
    ctypes.c_byte,
}
_UNSIGNED = {
    ctypes.c_uint8,
    ctypes.c_uint16,
    ctypes.c_uint32,
    ctypes.c_uint64,
    ctypes.c_ulong,
    ctypes.c_ulonglong,
    ctypes.c_size_t,
    ctypes.c_uint,
    ctypes.c_ushort,
    ctypes.c_ubyte,
    ctypes.c_bool,
}


def mirror_types(cls: type[Any], prefix: str = "") -> dict[str, Any]:
    """Dotted member path → ctypes type, as ``ring_layout_json`` lists members."""
    out: dict[str, Any] = {}
    for name, ftype, *_ in cls._fields_:
        if name.startswith("_tail_pad"):
            continue
        out[prefix + name] = ftype
        if isinstance(ftype, type) and issubclass(ftype, ctypes.Structure | ctypes.Union):
            out.update(mirror_types(ftype, f"{prefix}{name}."))
    return out


def ctype_problem(c_type: dict[str, Any], mine: Any) -> str | None:
    kind = c_type["kind"]
    if kind in ("base", "enum"):
        if ctypes.sizeof(mine) != c_type["size"]:
            return f"size {ctypes.sizeof(mine)} != C {c_type['size']}"
        if c_type["encoding"] in ("signed_char", "unsigned_char") or mine is ctypes.c_char:
            return None  # plain char: either signedness holds a byte
        if kind == "enum" and mine in _SIGNED | _UNSIGNED:
            return None  # gcc picks unsigned int for a non-negative enum: any int of its size
        if c_type["encoding"] == "signed" and mine not in _SIGNED:
            return f"{mine.__name__} where C {c_type.get('c_type')} is signed"
        if c_type["encoding"] in ("unsigned", "boolean") and mine not in _UNSIGNED:
            return f"{mine.__name__} where C {c_type.get('c_type')} is unsigned"
        return None
    if kind == "pointer":
        return None if ctypes.sizeof(mine) == 8 else "pointer not 8 bytes"
    if kind == "array":
        if not (isinstance(mine, type) and issubclass(mine, ctypes.Array)):
            return f"C array mirrored by {mine.__name__}"
        if (c_type["count"] or 0) != mine._length_:
            return f"{mine._length_} elements != C {c_type['count']}"
        return ctype_problem(c_type["element"], mine._type_)
    if kind in ("struct", "union"):
        base = ctypes.Structure if kind == "struct" else ctypes.Union
        return None if issubclass(mine, base) else f"C {kind} mirrored by {mine.__name__}"
    return f"C {kind} not comparable"


def test_member_types_match_the_compiled_c_layout() -> None:
    """Every mirrored member has the C type's size and signedness, arrays their element
    type and count (c_layout/ facts by scripts/c_layout_oracle.py)."""
    path = Path(__file__).parent / "c_layout" / "ust-v2.13.5.json"
    expected = json.loads(path.read_text())["structs"]
    problems = []
    compared = 0
    for cls in layout.MIRRORS:
        facts = {f["name"]: f for f in expected[cls._c_name_]["fields"]}
        for name, mine in mirror_types(cls).items():
            fact = facts.get(name)
            if fact is None or "bit_size" in fact:
                continue  # bit-fields: checked by position in test_matches_the_compiled_c_layout
            compared += 1
            problem = ctype_problem(fact["type"], mine)
            if problem:
                problems.append(f"{cls._c_name_}.{name}: {problem}")
    assert compared > 150
    assert not problems, "\n".join(problems)
