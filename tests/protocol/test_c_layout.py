"""Conformance: the grammars' layout and types equal the C compiler's, for both ABIs.

The expected sizes, offsets, member types (DWARF base type and encoding, enum,
array element and count, byte order on the wire), enum values and ``#define``
values are facts read from the compiled C declarations by
``scripts/c_layout_oracle.py`` (see ``c_layout/README.md``); the actual ones
come from ``ustref spec layout --json`` and from the constructs the grammars
are made of. A grammar that is wrong but agrees with itself (a ``u32`` where C
has ``int32_t``, two swapped command numbers) fails here.
"""

from __future__ import annotations

import enum
import importlib
import json
import pkgutil
from functools import cache
from pathlib import Path
from typing import Any

import construct as cs
import pytest

import ustref.protocol
from tests.c_sources import LTTNG_TOOLS_2_13_9, LTTNG_TOOLS_97535EFAA, LTTNG_UST_2_13_5
from ustref.cli import main
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.fields import CharArray, CUnion, FlexArray, RawArray, StrictEnum, enum_c_name
from ustref.protocol.grammars import schema
from ustref.protocol.layout import layout_json, walk

FACTS = Path(__file__).parent / "c_layout"

#: Enums ustref models that are not C enums (sets of ``#define``s).
DEFINE_SETS = {"lttng_ust_abi_command"}

#: Enums the wire carries that must be modelled (issue: "at least").
REQUIRED_ENUMS = {
    "lttng_consumer_command",
    "lttcomm_return_code",
    "lttcomm_sessiond_command",
    "lttcomm_relayd_command",
    "lttng_stream_type",
    "lttng_trace_chunk_command_type",
    "lttng_ust_abi_chan_type",
    "lttng_error_code",
    "lttng_viewer_command",
    "lttng_viewer_attach_return_code",
    "lttng_viewer_next_index_return_code",
    "lttng_viewer_get_packet_return_code",
    "lttng_viewer_get_metadata_return_code",
    "lttng_viewer_seek",
}


@cache
def facts(abi: Abi) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FACTS / f"{abi.value}.json").read_text())
    return doc


@cache
def actual(abi: Abi) -> dict[str, Any]:
    return layout_json(abi)


def in_scope(name: str) -> bool:
    """Structs the grammars must cover: every lttcomm_* and lttng_viewer_* one."""
    return name.startswith(("lttcomm_", "lttng_viewer_")) or name in {
        "lttng_bytecode",
        "lttng_event_exclusion",
        "process_attr_integral_value_comm",
    }


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_every_struct_in_scope_is_modelled(abi: Abi) -> None:
    missing = sorted(
        n for n in facts(abi)["structs"] if in_scope(n) and n not in actual(abi)["structs"]
    )
    assert not missing, f"{abi.value}: no grammar for {missing}"


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_struct_sizes_and_offsets_match_c(abi: Abi) -> None:
    problems: list[str] = []
    for name, ours in actual(abi)["structs"].items():
        theirs = facts(abi)["structs"].get(name)
        if theirs is None:
            problems.append(f"{name}: not a C struct of this revision")
            continue
        if ours["size"] != theirs["size"]:
            problems.append(f"{name}: sizeof {ours['size']} != C {theirs['size']}")
        c_fields = {f["name"]: f for f in theirs["fields"]}
        our_fields = {f["name"]: f for f in ours["fields"]}
        for path, field in our_fields.items():
            c_field = c_fields.get(path)
            if c_field is None:
                problems.append(f"{name}.{path}: not a C member")
            elif (field["offset"], field["size"]) != (c_field["offset"], c_field["size"]):
                problems.append(
                    f"{name}.{path}: @{field['offset']}/{field['size']} "
                    f"!= C @{c_field['offset']}/{c_field['size']}"
                )
        for path in c_fields:
            if path in our_fields:
                continue
            # A member may be modelled opaquely (e.g. sockaddr_in internals):
            # then a prefix of its path must be a leaf of ours.
            parts = path.split(".")
            prefixes = [".".join(parts[:i]) for i in range(1, len(parts))]
            if not any(p in our_fields for p in prefixes):
                problems.append(f"{name}.{path}: C member missing from the grammar")
    assert not problems, f"{abi.value}:\n" + "\n".join(problems)


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_enum_values_match_c(abi: Abi) -> None:
    ours = actual(abi)["enums"]
    theirs = facts(abi)["enums"]
    assert set(ours) >= REQUIRED_ENUMS, sorted(REQUIRED_ENUMS - set(ours))
    problems = []
    for name, members in ours.items():
        if name in DEFINE_SETS:
            continue
        if name not in theirs:
            problems.append(f"{name}: not a C enum of this revision")
        elif members != theirs[name]:
            diff = set(members.items()) ^ set(theirs[name].items())
            problems.append(f"{name}: differs on {sorted(diff)}")
    assert not problems, "\n".join(problems)


def test_cli_prints_the_same_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "layout", "--abi", "97535efaa", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == actual(Abi.R97535EFAA)


# -- types ---------------------------------------------------------------------------


def _scalar_problem(c_type: dict[str, Any], con: Any) -> str | None:
    """A C integer (base or enum) against a Construct integer field."""
    if not isinstance(con, cs.FormatField):
        return f"C {c_type.get('c_type') or c_type.get('enum')} modelled by {type(con).__name__}"
    order = {"<": "little", ">": "big", "=": "little"}[con.fmtstr[0]]
    signed = con.fmtstr[1].islower()
    want_signed = c_type["encoding"] in ("signed", "signed_char")
    problems = []
    if con.sizeof() != c_type["size"]:
        problems.append(f"size {con.sizeof()} != C {c_type['size']}")
    if signed != want_signed and c_type["encoding"] != "boolean":
        problems.append(
            f"{'signed' if signed else 'unsigned'} where C "
            f"{c_type.get('c_type') or 'enum ' + c_type.get('enum', '')} is {c_type['encoding']}"
        )
    if c_type["size"] > 1 and order != c_type.get("byte_order", "little"):
        problems.append(f"{order}-endian where the wire is {c_type['byte_order']}-endian")
    return "; ".join(problems) or None


def type_problem(c_type: dict[str, Any], con: Any, path: str = "") -> str | None:
    """Why construct ``con`` cannot be the C member type ``c_type`` (None: it can).

    A reserved area (a member named ``padding``) may be kept as raw bytes of its size."""
    kind = c_type["kind"]
    if path.rsplit(".", 1)[-1] == "padding" and isinstance(con, RawArray):
        return None
    if isinstance(con, StrictEnum):
        if kind == "enum" and c_type["enum"] != enum_c_name(con.enum_type):
            return f"enum {enum_c_name(con.enum_type)} where C has enum {c_type['enum']}"
        if kind not in ("base", "enum"):
            return f"an enum where C has a {kind}"
        return _scalar_problem(c_type, con.subcon)
    if kind in ("base", "enum"):
        return _scalar_problem(c_type, con)
    if kind == "array":
        element, count = c_type["element"], c_type["count"]
        if not count:  # ``data[]`` or the older ``data[0]``
            return None if isinstance(con, FlexArray) else "C flexible array modelled otherwise"
        element_size = element.get("size", 0)
        if isinstance(con, CharArray | RawArray):
            if element.get("kind") in ("base", "enum") and element_size == 1:
                return None if con.sizeof() == count else f"{con.sizeof()} bytes != C [{count}]"
            if isinstance(con, RawArray) and element.get("kind") in ("base", "enum", "pointer"):
                # a raw area over wider elements (e.g. uint64_t values[4]): bytes must match
                want = count * element_size
                return None if con.sizeof() == want else f"{con.sizeof()} bytes != C {want}"
            return f"byte array where C has an array of {element.get('kind')}"
        if isinstance(con, cs.Array):
            if con.count != count:
                return f"{con.count} elements != C {count}"
            return type_problem(element, con.subcon)
        return f"C array modelled by {type(con).__name__}"
    if kind == "struct":
        return None if isinstance(con, cs.Struct) or hasattr(con, "dc_type") else "not a struct"
    if kind == "union":
        return None if isinstance(con, CUnion) else f"C union modelled by {type(con).__name__}"
    if kind == "pointer":
        ok = isinstance(con, RawArray) and con.sizeof() == 8
        if isinstance(con, cs.FormatField) and con.sizeof() == 8:
            ok = True
        return None if ok else "C pointer not modelled as 8 raw bytes"
    return f"C {kind} not comparable"


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_member_types_match_c(abi: Abi) -> None:
    """Size, signedness, byte order, enum and array element/count of every member."""
    problems: list[str] = []
    compared = 0
    for name, spec in sorted(schema(abi).structs.items()):
        c_struct = facts(abi)["structs"].get(name)
        if c_struct is None:
            continue  # reported by test_struct_sizes_and_offsets_match_c
        c_fields = {f["name"]: f for f in c_struct["fields"]}
        for field in walk(spec.grammar):
            c_field = c_fields.get(field.name)
            if c_field is None:
                continue
            problem = type_problem(c_field["type"], field.construct, field.name)
            compared += 1
            if problem:
                problems.append(f"{name}.{field.name}: {problem}")
    assert compared > 700
    assert not problems, f"{abi.value}:\n" + "\n".join(problems)


def test_the_facts_carry_types() -> None:
    """The oracle records types, bit-fields and wire byte order, not only places."""
    doc = facts(Abi.V2_13_9)
    stream = {f["name"]: f for f in doc["structs"]["lttcomm_consumer_msg"]["fields"]}
    assert stream["u.stream.cpu"]["type"] == {
        "kind": "base",
        "c_type": "int32_t",
        "encoding": "signed",
        "size": 4,
        "byte_order": "little",
    }
    hdr = {f["name"]: f for f in doc["structs"]["lttcomm_relayd_hdr"]["fields"]}
    assert hdr["circuit_id"]["type"]["byte_order"] == "big"
    assert doc["structs"]["lttcomm_relayd_hdr"]["byte_order"] == "big"
    name = stream["u.ask_channel.name"]["type"]
    assert name["kind"] == "array" and name["count"] == 256
    assert name["element"]["encoding"] == "signed_char"
    assert doc["defines"]["LTTNG_UST_ABI_SESSION_START"] == 0x52


# -- constants -------------------------------------------------------------------------


def protocol_constants() -> dict[str, int]:
    """Module-level ``UPPER_CASE`` integers of every ``ustref.protocol`` module."""
    found: dict[str, int] = {}
    for module_info in pkgutil.walk_packages(ustref.protocol.__path__, "ustref.protocol."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if name.isupper() and type(value) is int:
                found.setdefault(name, value)
    return found


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_define_sets_match_the_c_defines(abi: Abi) -> None:
    """Enums made of ``#define``s (``lttng_ust_abi_command``): every member is a
    define of the same name and value in the compiled headers."""
    defines = facts(abi)["defines"]
    enums = schema(abi).enums
    assert set(enums) >= DEFINE_SETS
    for set_name in DEFINE_SETS:
        enum_type: type[enum.IntEnum] = enums[set_name]
        mismatched = {
            member.name: (int(member), defines.get(member.name))
            for member in enum_type
            if defines.get(member.name) != int(member)
        }
        assert not mismatched, f"{set_name} (ours, C): {mismatched}"


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_protocol_constants_match_the_c_defines(abi: Abi) -> None:
    """Every constant of the grammars named like a C ``#define`` has its value."""
    defines = facts(abi)["defines"]
    ours = protocol_constants()
    shared = sorted(set(ours) & set(defines))
    assert len(shared) >= 5, shared
    wrong = {name: (ours[name], defines[name]) for name in shared if ours[name] != defines[name]}
    assert not wrong, f"(ours, C): {wrong}"
    # the ones the issue names must be among them
    assert {"LTTNG_UST_ABI_SYM_NAME_LEN", "LTTNG_SYMBOL_NAME_LEN"} <= set(shared)
    assert {"RELAYD_VERSION_COMM_MAJOR", "RELAYD_VERSION_COMM_MINOR"} <= set(defines)


# -- the oracle itself ---------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]

#: Each profile of the oracle, the tree it compiles and the option naming it.
ORACLE_PROFILES = {
    "v2.13.9": ("--v2139-tree", LTTNG_TOOLS_2_13_9),
    "ring": ("--ust-tree", LTTNG_UST_2_13_5),
    "97535efaa": ("--seed-tree", LTTNG_TOOLS_97535EFAA),
}


@pytest.mark.parametrize("profile", list(ORACLE_PROFILES))
def test_the_oracle_regenerates_the_facts(profile: str) -> None:
    """``scripts/c_layout_oracle.py --check --only PROFILE``: the committed facts are what
    the compiler says today, one profile at a time, so each runs when its inputs are here.
    Inputs: pyelftools, and the profile's tree — Debian's lttng-tools 2.13.9 (v2.13.9) and
    lttng-ust 2.13.5 (ring) source packages, both fetched by ``make sources``; 97535efaa
    has no Debian source, so its facts stay committed and its profile skips without a
    checkout (``USTREF_SEED_TREE``). They are sources, not the LTTng stack: their absence
    skips even in CI."""
    import subprocess
    import sys
    from importlib.util import find_spec

    option, tree = ORACLE_PROFILES[profile]
    missing = [] if tree.is_dir() else [str(tree)]
    if find_spec("elftools") is None:
        missing.append("pyelftools")
    if missing:
        pytest.skip(f"oracle inputs missing: {', '.join(missing)}")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "c_layout_oracle.py"),
            "--check",
            "--only",
            profile,
            option,
            str(tree),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
