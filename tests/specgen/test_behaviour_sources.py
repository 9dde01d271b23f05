"""The behaviour table's C line ranges, checked against lttng-tools 2.13.9's sources."""

from __future__ import annotations

from pathlib import Path

from tests.c_sources import LTTNG_TOOLS_2_13_9, needs_lttng_tools_2_13_9
from ustref.consumerd.behaviour import UST_CONSUMER
from ustref.specgen.sources import check_sources, function_extent

_FAKE_C = """\
static int helper(int a)
{
\treturn a;
}

/* comment */
int lttng_ustconsumer_recv_cmd(int sock)
{
\tswitch (msg.cmd_type) {
\tcase LTTNG_CONSUMER_INIT:
\t\tbreak;
\tdefault:
\t\tbreak;
\t}
end_msg_sessiond:
\treturn 0;
}
"""


def test_function_extent_finds_the_definition_not_a_declaration() -> None:
    lines = ["int helper(int a);", "", *_FAKE_C.splitlines()]
    assert function_extent(lines, "helper") == (3, 6)
    assert function_extent(lines, "lttng_ustconsumer_recv_cmd") == (9, 19)
    assert function_extent(lines, "missing") is None


def test_a_tree_without_the_consumer_is_reported(tmp_path: Path) -> None:
    assert check_sources(tmp_path) == [
        f"{tmp_path / UST_CONSUMER} is missing: not an lttng-tools source tree"
    ]


@needs_lttng_tools_2_13_9
def test_every_range_starts_at_what_it_names_and_ends_inside_it() -> None:
    assert check_sources(LTTNG_TOOLS_2_13_9) == []
