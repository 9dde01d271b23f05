"""The behaviour table's C line ranges, checked against lttng-tools 2.13.9's sources."""

from __future__ import annotations

from pathlib import Path

from tests.c_sources import LTTNG_TOOLS_2_13_9, needs_lttng_tools_2_13_9
from ustref.consumerd.behaviour import UST_CONSUMER
from ustref.specgen.sources import (
    check_cites,
    check_sources,
    function_extent,
    page_texts,
    table_texts,
)

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


# -- citations in the text -------------------------------------------------------------------

_UNIX_C = """\
ssize_t lttcomm_recv_unix_sock(int sock, void *buf, size_t len)
{
\tdo {
\t\tret = recvmsg(sock, &msg);
\t} while (ret > 0);
\treturn ret;
}

int other(void)
{
\treturn 0;
}
"""


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "src/common").mkdir(parents=True)
    (tmp_path / "src/common/unix.c").write_text(_UNIX_C)
    return tmp_path


def test_a_cite_that_shows_its_name_or_lies_inside_it_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    texts = [
        ("a", "`lttcomm_recv_unix_sock` (unix.c:3–5) loops"),
        ("b", "the `recvmsg` call (unix.c:4) and `other` (unix.c:9–12)"),
        ("c", "ring_buffer_frontend.c:1526 is another project's: not checked"),
    ]
    assert check_cites(root, texts) == []


def test_a_cite_off_its_name_or_past_its_function_fails(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    texts = [
        ("single", "`recvmsg` (unix.c:5)"),
        ("past", "(unix.c:5–9)"),
        ("outside", "(unix.c:40)"),
        ("list", "`other`, unix.c:9 and 3–4"),
    ]
    assert check_cites(root, texts) == [
        "single: unix.c:5: neither names `recvmsg` nor lies inside it",
        "past: unix.c:5–9: runs past the end of its function (line 7)",
        "outside: unix.c:40: not lines of src/common/unix.c (12 lines)",
        "list: unix.c:3–4: neither names `other` nor lies inside it",
    ]


@needs_lttng_tools_2_13_9
def test_every_cite_of_the_table_and_the_behaviour_pages_is_true() -> None:
    """Each ``file.c:N[–M]`` written in the behaviour table, the aborts page's other fatal
    paths and the hand-written behaviour pages shows what it names in lttng-tools 2.13.9."""
    spec = Path(__file__).resolve().parents[2] / "spec"
    assert check_cites(LTTNG_TOOLS_2_13_9, table_texts() + page_texts(spec)) == []
