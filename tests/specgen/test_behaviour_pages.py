"""The consumer page says what the consumer does: per-command behaviour and cross-socket order."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from ustref.consumerd.behaviour import BEHAVIOUR
from ustref.protocol.consumer import LttngConsumerCommand
from ustref.specgen.links import heading_anchor
from ustref.specgen.render import render_pages

SPEC = Path(__file__).resolve().parents[2] / "spec"
PAGES = ("v2.13.9/sessiond-consumerd.md", "97535efaa/sessiond-consumerd.md")


@cache
def page(rel: str) -> str:
    return render_pages(SPEC)[rel]


def section(rel: str, command: LttngConsumerCommand) -> str:
    return page(rel).split(f"#### {command.name}\n", 1)[1].split("\n#### ", 1)[0]


def _order(text: str, *needles: str) -> list[int]:
    return [text.index(n) for n in needles]


@pytest.mark.parametrize("rel", PAGES)
def test_every_command_has_a_behaviour_section(rel: str) -> None:
    for command in LttngConsumerCommand:
        text = section(rel, command)
        assert "**Purpose.**" in text and "**What the consumer does**" in text, command.name
        assert "**Reply codes" in text, command.name
        assert f"](#{heading_anchor(command.name)})" in page(rel)  # table of contents


@pytest.mark.parametrize("rel", PAGES)
def test_snapshot_channel_draws_metadata_and_relayd_traffic_before_its_status(rel: str) -> None:
    text = section(rel, LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL)
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    request, add, meta, close, data, status = _order(
        diagram,
        "C->>M: lttcomm_metadata_request_msg",
        "C->>RC: RELAYD_ADD_STREAM",
        "C->>RC: RELAYD_SEND_METADATA",
        "C->>RC: RELAYD_CLOSE_STREAM",
        "C->>RD: lttcomm_relayd_data_hdr",
        "C->>S: status",
    )
    assert request < add < meta < close < data < status
    assert "`LTTCOMM_CONSUMERD_SNAPSHOT_FAILED` = 122" in text
    assert "**C aborts**" in text


@pytest.mark.parametrize("rel", PAGES)
def test_get_channel_announces_streams_to_the_relayd_before_its_first_status(rel: str) -> None:
    text = section(rel, LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL)
    add, status = _order(text, "C->>RC: RELAYD_ADD_STREAM", "C->>S: status.before")
    assert add < status
    assert "(ust-ctl-handover.md)" in text
    assert "`LTTCOMM_CONSUMERD_RELAYD_FAIL` = 117" in text


@pytest.mark.parametrize("rel", PAGES)
def test_reply_meanings_are_the_c_ones(rel: str) -> None:
    text = page(rel)
    stream_count = next(line for line in text.splitlines() if "`stream_count` |" in line)
    assert "1 for a monitored metadata channel" in stream_count
    assert "0 for a snapshot-mode" in stream_count
    overwrite = next(line for line in text.splitlines() if "`u.ask_channel.overwrite`" in line)
    assert "-1" in overwrite
    push = section(rel, LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA)
    assert "offset+len" in push


@pytest.mark.parametrize("rel", PAGES)
def test_silent_commands_say_so(rel: str) -> None:
    for command in (
        LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL,
        LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_METADATA,
    ):
        assert "`default: break`" in section(rel, command)
        assert "the UST consumer ignores this command" in section(rel, command)
    stop = section(rel, LttngConsumerCommand.LTTNG_CONSUMER_STOP)
    update = section(rel, LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM)
    assert "**C aborts**" in stop and "**the C consumer stops**" in stop
    assert "(../aborts.md#crash-42d7474beb42)" in stop
    assert "-ENOSYS" in update and "**the C consumer stops**" in update


def test_sessions_page_nests_the_metadata_exchange_in_snapshot_channel() -> None:
    text = render_pages(SPEC)["sessions.md"]
    snapshot = text.split("\n## snapshot\n", 1)[1].split("\n## ", 1)[0]
    assert snapshot.count("SNAPSHOT_CHANNEL](v2.13.9/sessiond-consumerd.md") == 6
    assert snapshot.count("⟨metadata socket: request → reply PUSH_METADATA len 0") == 3
    for scenario in ("per-uid", "per-pid", "rotation", "regenerate", "live", "app-sigkill"):
        assert f"\n## {scenario}\n" in text


def test_aborts_page_lists_every_reproducer_and_cites_only_real_ones() -> None:
    text = render_pages(SPEC)["aborts.md"]
    files = {p.stem for p in (SPEC / "findings").glob("crash-*.json")}
    assert files, "no reproducers found"
    for rid in files:
        assert f'<a id="{rid}"></a>' in text
    cited = set(re.findall(r"crash-[0-9a-f]{12}", str(BEHAVIOUR)))
    assert cited <= files


def test_index_links_every_page_with_a_description() -> None:
    pages = render_pages(SPEC)
    index = pages["index.md"]
    for rel in pages:
        if rel == "index.md":
            continue
        row = next(line for line in index.splitlines() if line.startswith(f"| [{rel}]({rel}) |"))
        assert len(row.split("|")[2].strip()) > 10, rel
    assert "[v2.13.9/sessiond-consumerd.md](v2.13.9/sessiond-consumerd.md)" in index.split("##")[1]
