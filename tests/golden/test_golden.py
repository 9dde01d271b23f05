"""The golden corpus: conversations captured from the real LTTng 2.13.9 daemons.

Every message of every scenario decodes, rebuilds byte for byte, and matches
the decoded-JSON expectation kept beside the raw capture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ustref.capture.decode import decode_records, roundtrip_problem
from ustref.capture.format import read_capture
from ustref.capture.golden import capture_file, expectation, read_expectations
from ustref.protocol.abi import Abi

GOLDEN = Path(__file__).resolve().parents[2] / "spec" / "golden"
SCENARIOS = sorted(
    (abi_dir.name, scenario)
    for abi_dir in GOLDEN.iterdir()
    if abi_dir.is_dir()
    for scenario in abi_dir.iterdir()
    if scenario.is_dir()
)
REQUIRED = {
    "per-uid",
    "per-pid",
    "snapshot",
    "rotation",
    "overwrite",
    "streaming",
    "live",
    "regenerate",
    "app-sigkill",
}


def test_corpus_has_every_scenario() -> None:
    assert {s.name for abi, s in SCENARIOS if abi == "v2.13.9"} >= REQUIRED


@pytest.mark.parametrize(("abi", "scenario"), SCENARIOS, ids=lambda v: getattr(v, "name", v))
def test_scenario_decodes_and_round_trips(abi: str, scenario: Path) -> None:
    assert (scenario / "COMMANDS.md").is_file(), "the capturing commands must be recorded"
    messages = list(decode_records(read_capture(capture_file(scenario)), Abi.from_name(abi)))
    assert messages, "empty conversation"
    problems = [(m.index, roundtrip_problem(m.message)) for m in messages]
    assert [p for p in problems if p[1]] == []
    assert [expectation(m) for m in messages] == read_expectations(scenario)
