"""The ring-buffer page's prose says what lttng-ust 2.13.5 does (issue 14 review)."""

from __future__ import annotations

from pathlib import Path

from ustref.ring import layout

PAGE = Path(__file__).resolve().parents[2] / "spec" / "ring-layout.md"


def intro() -> str:
    text = PAGE.read_text()
    return " ".join(
        text.split("<!-- prose: ring:intro -->", 1)[1].split("<!-- /prose -->")[0].split()
    )


def test_counters_and_readiness_are_where_the_c_code_has_them() -> None:
    text = intro()
    assert "*hot* ones (`commit_counters_hot`: `cc`, bytes committed, and `seq`" in text
    assert "cold `seq`" not in text
    assert "`((cc_sb - subbuf_size) & commit_count_mask)`" in text
    assert "the last 5 first `poll(NULL, 0, 10)`" in text


def test_reader_protocol_additions_are_present() -> None:
    text = intro()
    for needle in (
        "*write head*",
        "`-ENODATA`",
        "`num_subbuf + 1` sub-buffers",
        "the reader keeps the sub-buffer it read as its spare",
        "Only `put_next_subbuf` moves `consumed`",
        "`uatomic_cmpxchg(&buf->active_readers, 0, 1)`",
        "`blocking_timeout`",
        "the consumer daemon",
        "Order of a stream's shm object",
    ):
        assert needle in text, needle


def test_sub_buffer_id_bits_match_the_layout_constants() -> None:
    text = intro()
    noref = layout.SB_ID_OFFSET_SHIFT - 1
    assert f"bits 0–{noref - 1}" in text
    assert f"bit {noref} the *noref* flag" in text
    assert f"bits {layout.SB_ID_OFFSET_SHIFT}–63" in text
