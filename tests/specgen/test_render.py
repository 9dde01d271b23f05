"""spec/ is generated from the code: the committed pages must match, prose survives."""

from __future__ import annotations

from pathlib import Path

from ustref.cli import main
from ustref.specgen.render import render_pages

SPEC = Path(__file__).resolve().parents[2] / "spec"


def test_committed_spec_is_current() -> None:
    assert main(["spec", "render", "--out", str(SPEC), "--check"]) == 0


def test_prose_survives_regeneration(tmp_path: Path) -> None:
    assert main(["spec", "render", "--out", str(tmp_path)]) == 0
    page = tmp_path / "v2.13.9" / "sessiond-consumerd.md"
    text = page.read_text()
    marker = "<!-- prose: seq:LTTNG_CONSUMER_SNAPSHOT_CHANNEL -->\n"
    assert marker in text
    page.write_text(text.replace(marker, marker + "Written by a person.\n"))
    assert main(["spec", "render", "--out", str(tmp_path), "--check"]) == 0
    regenerated = render_pages(tmp_path)["v2.13.9/sessiond-consumerd.md"]
    assert "Written by a person." in regenerated


def test_check_fails_on_drift(tmp_path: Path) -> None:
    assert main(["spec", "render", "--out", str(tmp_path)]) == 0
    page = tmp_path / "abi-diff.md"
    page.write_text(page.read_text().replace("u.relayd_sock", "u.relayd_sockX", 1))
    assert main(["spec", "render", "--out", str(tmp_path), "--check"]) == 1


def test_snapshot_channel_sequence_is_answerable() -> None:
    page = render_pages(SPEC)["v2.13.9/sessiond-consumerd.md"]
    section = page.split("#### LTTNG_CONSUMER_SNAPSHOT_CHANNEL", 1)[1].split("####", 1)[0]
    assert "cmd_type = 14, `u.snapshot_channel`" in section
    assert "`status`: lttcomm_consumer_status_msg (4 B)" in section
    assert "### lttcomm_consumer_msg" in page
    assert "`u.snapshot_channel.nb_packets_per_stream`" in page


def test_committed_wireshark_plugin_is_current() -> None:
    """spec/wireshark/ustref.lua is generated: regenerate it with ``ustref spec wireshark``."""
    assert main(["spec", "wireshark", "--out", str(SPEC / "wireshark"), "--check"]) == 0


def test_wireshark_check_fails_on_drift(tmp_path: Path) -> None:
    assert main(["spec", "wireshark", "--out", str(tmp_path)]) == 0
    plugin = tmp_path / "ustref.lua"
    plugin.write_text(plugin.read_text().replace("cmd_type", "cmd_typo", 1))
    assert main(["spec", "wireshark", "--out", str(tmp_path), "--check"]) == 1


def test_hand_written_behaviour_pages_are_kept_and_linked() -> None:
    """The behaviour-class pages are written by people: rendering keeps them (it only
    writes generated pages) and the index links each under "Behaviour across sockets"."""
    from ustref.specgen.render import BEHAVIOUR_PAGES

    pages = render_pages(SPEC)
    index = pages["index.md"]
    section = index.split("## Behaviour across sockets", 1)[1].split("\n## ", 1)[0]
    for page in sorted(BEHAVIOUR_PAGES):
        assert (SPEC / page).is_file(), page
        assert f"[{page}]({page})" in section, page
    hand_written = BEHAVIOUR_PAGES - {"sessions.md", "aborts.md"}
    assert not hand_written & set(pages), "rendering must not overwrite hand-written pages"
