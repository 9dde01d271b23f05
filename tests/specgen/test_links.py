"""Every link of spec/ resolves, and every enum a page names is defined on it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.grammars import schema
from ustref.specgen.links import anchors_of, broken_links, enum_anchor
from ustref.specgen.render import render_pages

SPEC = Path(__file__).resolve().parents[2] / "spec"

#: Enums the reader review found named but undefined (issue 14).
REVIEWED = {
    "sessiond-consumerd": {"lttng_error_code", "lttcomm_return_code"},
    "agent": {
        "lttcomm_agent_ret_code",
        "lttng_domain_type",
        "lttng_loglevel_jul",
        "lttng_loglevel_log4j",
        "lttng_loglevel_python",
    },
    "consumerd-relayd": {"lttcomm_relayd_configuration_flag", "lttng_error_code"},
    "live-viewer": {"lttng_viewer_connection_type", "lttcomm_relayd_command"},
    "client-sessiond": {
        "lttng_error_code",
        "lttng_event_flag",
        "lttng_rotation_schedule_type",
        "lttng_dst_type",
        "lttng_uri_type",
        "lttng_proto_type",
    },
}


@cache
def pages() -> dict[str, str]:
    return render_pages(SPEC)


def test_every_link_resolves() -> None:
    existing = [str(p.relative_to(SPEC)) for p in SPEC.rglob("*") if p.is_file()]
    assert broken_links(pages(), existing) == []


def test_a_broken_anchor_is_reported() -> None:
    text = "[x](#nowhere) [y](other.md#enum-a) [z](missing.md)\n"
    found = broken_links({"a.md": text, "other.md": '<a id="enum-b"></a>\n'})
    assert found == [
        "a.md: #nowhere (no such anchor)",
        "a.md: other.md#enum-a (no such anchor)",
        "a.md: missing.md (no such file)",
    ]


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_every_enum_a_page_names_is_defined_there(abi: Abi) -> None:
    missing = []
    for rel, text in pages().items():
        if not rel.startswith(f"{abi.value}/"):
            continue
        ids = anchors_of(text)
        for name, enum_type in schema(abi).enums.items():
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) and (
                enum_anchor(enum_type) not in ids
            ):
                missing.append(f"{rel}: {name}")
    assert missing == []


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("page", sorted(REVIEWED))
def test_reviewed_enums_have_tables(abi: Abi, page: str) -> None:
    ids = anchors_of(pages()[f"{abi.value}/{page}.md"])
    assert {name for name in REVIEWED[page] if f"enum-{name}" not in ids} == set()


def test_command_enum_shows_the_sentinels_of_its_revision() -> None:
    old = pages()["v2.13.9/client-sessiond.md"].split('<a id="enum-lttcomm_sessiond_command">')[1]
    new = pages()["97535efaa/client-sessiond.md"].split('<a id="enum-lttcomm_sessiond_command">')[1]
    assert "| `LTTCOMM_SESSIOND_COMMAND_MIN` | -1 |" in old
    assert "| `LTTCOMM_SESSIOND_COMMAND_MAX` | 53 |" in old
    assert "COMMAND_MIN" not in new.split("## ")[0]


def test_abi_diff_lists_the_relayd_minor_version() -> None:
    assert "| `RELAYD_VERSION_COMM_MINOR` | 13 | 14 | **differs** |" in pages()["abi-diff.md"]


def test_ring_bit_fields_show_their_bit() -> None:
    page = pages()["ring-layout.md"]
    assert "| 464 | 1 | bit-field: bit 0, 1 bit | `get_subbuf` |" in page
