"""The decoder invariant: decode or RemoteProtocolError, within a time bound."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ustref.fuzz.conversation import conversations, feed, frame, unframe
from ustref.fuzz.decode import Target, check, run_random, targets
from ustref.protocol.abi import Abi

FAST = settings(
    max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
NON_SPEC = [t for t in targets() if t.spec is None]


def test_targets_cover_every_spec_of_both_abis() -> None:
    from ustref.protocol.grammars import schema

    names = {t.name for t in targets()}
    for abi in Abi:
        for name in schema(abi).structs:
            assert f"{abi.value}:{name}" in names
        assert f"{abi.value}:conversation" in names


@pytest.mark.parametrize("target", NON_SPEC, ids=[t.name for t in NON_SPEC])
def test_other_decoders_hold_the_invariant(target: Target) -> None:
    @FAST
    @given(st.binary(max_size=13000))
    def prop(data: bytes) -> None:
        assert check(target, data) is None

    prop()


@pytest.mark.parametrize("abi", list(Abi), ids=[a.value for a in Abi])
def test_valid_conversations_from_the_table_decode(abi: Abi) -> None:
    @FAST
    @given(conversations(abi, damaged=False))
    def prop(events: list) -> None:  # type: ignore[type-arg]
        feed(abi, events)
        assert unframe(frame(events))[0].data == events[0].data[:0xFFFF]

    prop()


@pytest.mark.parametrize("abi", list(Abi), ids=[a.value for a in Abi])
def test_damaged_conversations_hold_the_invariant(abi: Abi) -> None:
    target = next(t for t in targets() if t.name == f"{abi.value}:conversation")

    @FAST
    @given(conversations(abi, damaged=True))
    def prop(events: list) -> None:  # type: ignore[type-arg]
        assert check(target, frame(events)) is None

    prop()


def test_check_reports_foreign_exceptions_and_slowness() -> None:
    def boom(data: bytes) -> object:
        raise KeyError("x")

    finding = check(Target("boom", boom), b"\x01")
    assert finding is not None and finding.kind == "exception" and "KeyError" in finding.detail
    slow = check(Target("slow", lambda d: sum(range(200_000))), b"", bound=0.0)
    assert slow is not None and slow.kind == "slow"


def test_random_loop_runs_and_counts(tmp_path: Path) -> None:
    small = [t for t in targets() if t.name.startswith("v2.13.9:lttcomm_consumer_status")]
    stats = run_random(0.3, 7, tmp_path, small)
    assert stats.executions > 0 and not stats.findings
