"""TAP parsing of lttng-tools' test output (tap.sh and libtap forms)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ustref.conformance.tap import TapParser

TAP_SH_OUTPUT = """\
1..7
# UST tracer - Start tracing before and after execution
ok 1 - Start session daemon
not ok 2 - Create session in -o /tmp/x
#   Failed test 'Create session in -o /tmp/x'
#   in /x/tap.sh:ok() at line 187.
ok 3 # skip: Root access is needed. Skipping all kernel wildcard tests.
ok 4 - name with an escaped \\# that is no directive
not ok 5 - known breakage # TODO fix me
ok 6 - Kill session daemon # SKIP not root
PERROR - 15:40:34 [Main]: failed to set open files limit
ok 7
"""


def _parse(text: str) -> TapParser:
    parser = TapParser()
    for line in text.splitlines():
        parser.feed_line(line)
    return parser


def test_counts_every_kind_of_point() -> None:
    counts = _parse(TAP_SH_OUTPUT).counts
    assert (counts.plan, counts.ok, counts.not_ok, counts.skip, counts.todo) == (7, 3, 1, 2, 1)
    assert counts.points == 7
    assert counts.missing == 0
    assert counts.failures == ("not ok 2 - Create session in -o /tmp/x",)
    assert counts.bail_out is None


def test_points_never_printed_are_missing() -> None:
    counts = _parse("1..10\nok 1 - a\nok 2 - b\n").counts
    assert counts.missing == 8


def test_no_plan_means_nothing_missing_but_no_plan() -> None:
    counts = _parse("ok 1 - a\n").counts
    assert counts.plan is None
    assert counts.missing == 0


def test_bail_out_stops_counting() -> None:
    counts = _parse("1..3\nok 1 - a\nBail out! No session daemon to kill\nnot ok 2\n").counts
    assert counts.bail_out == "No session daemon to kill"
    assert (counts.ok, counts.not_ok) == (1, 0)


def test_skip_all_plan() -> None:
    counts = _parse("1..0 # Skip Root access is needed\n").counts
    assert counts.plan == 0
    assert counts.skip_all == "Skip Root access is needed"


def test_failed_skip_is_a_failure() -> None:
    counts = _parse("1..1\nnot ok 1 # skip wrongly\n").counts
    assert counts.not_ok == 1


@given(st.lists(st.sampled_from(["ok", "not ok", "skip", "noise"]), max_size=40), st.data())
def test_chunked_bytes_equal_lines(kinds: list[str], data: st.DataObject) -> None:
    """However the output is split into reads, the counts are those of whole lines."""
    lines = [f"1..{len(kinds)}"]
    for number, kind in enumerate(kinds, start=1):
        lines.append(
            {
                "ok": f"ok {number} - point",
                "not ok": f"not ok {number} - point",
                "skip": f"ok {number} # skip: reason",
                "noise": "Warning: No kernel tracer available",
            }[kind]
        )
    text = "\n".join(lines).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunked = TapParser()
    start = 0
    for cut in [*cuts, len(text)]:
        chunked.feed_bytes(text[start:cut])
        start = cut
    chunked.close()
    whole = _parse(text.decode())
    assert chunked.counts == whole.counts
    assert chunked.counts.not_ok == kinds.count("not ok")
    assert chunked.counts.skip == kinds.count("skip")
