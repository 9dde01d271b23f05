"""Conformance: the grammars' layout equals the C compiler's, for both ABIs.

The expected sizes, offsets and enum values are facts read from the compiled
C declarations (see ``c_layout/README.md``); the actual ones come from
``ustref spec layout --json``, i.e. from the grammars themselves.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ustref.cli import main
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.layout import layout_json

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
