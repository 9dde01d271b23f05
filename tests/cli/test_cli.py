"""The ustref command line: every sub-command's happy path and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ustref.cli import main

GOLDEN = Path(__file__).resolve().parents[2] / "spec" / "golden" / "v2.13.9"


def test_spec_layout_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "layout", "--abi", "v2.13.9"]) == 0
    out = capsys.readouterr().out
    assert "struct lttcomm_consumer_msg  /* sizeof 12690 */" in out
    assert "enum lttng_consumer_command {" in out


def test_spec_ring_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "ring-layout", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["structs"]["lttng_crash_abi"]["size"] == 124
    assert main(["spec", "ring-layout"]) == 0
    assert "lttng_ust_ring_buffer" in capsys.readouterr().out


def test_decode_text_json_and_roundtrip(capsys: pytest.CaptureFixture[str]) -> None:
    capture = str(GOLDEN / "per-uid" / "capture.jsonl")
    assert main(["decode", capture]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "LTTNG_CONSUMER_ASK_CHANNEL_CREATION" in "\n".join(lines)
    assert main(["decode", capture, "--json", "--check-roundtrip"]) == 0
    captured = capsys.readouterr()
    docs = [json.loads(line) for line in captured.out.splitlines()]
    assert len(docs) == len(lines)
    assert docs[0]["value"] == {"code": "LTTCOMM_CONSUMERD_COMMAND_SOCK_READY"}
    assert "all rebuilt identically" in captured.err


def test_decode_raw_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ustref.capture.format import read_capture, write_capture_dir

    records = list(read_capture(GOLDEN / "snapshot" / "capture.jsonl"))
    write_capture_dir(tmp_path / "raw", records)
    assert main(["decode", str(tmp_path / "raw"), "--check-roundtrip"]) == 0
    assert main(["decode", str(GOLDEN / "snapshot" / "capture.jsonl")]) == 0
    out = capsys.readouterr().out.splitlines()
    half = len(out) // 2
    assert out[:half] == out[half:]


def test_decode_reports_a_broken_conversation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ustref.capture.format import read_capture, write_capture_dir

    records = list(read_capture(GOLDEN / "per-uid" / "capture.jsonl"))
    # Drop the consumer's reply to the first command: the next command is out of order.
    broken = [r for i, r in enumerate(records) if i != 2]
    write_capture_dir(tmp_path / "raw", broken)
    assert main(["decode", str(tmp_path / "raw")]) == 1
    assert "does not decode" in capsys.readouterr().err


def test_unknown_abi_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["spec", "layout", "--abi", "v9"])
