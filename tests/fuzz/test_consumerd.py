"""The consumerd fuzzer against the real C consumer daemon (root; no session daemon needed)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ustref.capture.wrapper import find_consumerd
from ustref.fuzz.consumerd import consumerd_main, run_actions
from ustref.fuzz.launch import Consumerd
from ustref.fuzz.replay import replay_main
from ustref.fuzz.session import Action, Session
from ustref.protocol.abi import Abi

pytestmark = pytest.mark.lttng

FINDINGS = sorted((Path(__file__).resolve().parents[2] / "spec" / "findings").glob("crash-*.json"))

MSG = 12690


@pytest.fixture(scope="module")
def consumerd() -> str:
    """Debian's C consumer daemon, found the way ``ustref capture`` finds it."""
    return find_consumerd()


def _command(cmd: int, body: bytes = b"") -> bytes:
    return struct.pack("<I", cmd) + body.ljust(MSG - 4, b"\0")


def test_startup_and_checked_exchanges(tmp_path: Path, consumerd: str) -> None:
    with Consumerd(consumerd, tmp_path / "c") as daemon:
        session = Session(daemon, Abi.V2_13_9, 3.0, tmp_path / "d")
        # DATA_PENDING for session 1 → int32 reply, checked by the table.
        assert session.act(Action("send", data=_command(6, struct.pack("<Q", 1)))).kind == "ok"
        # SET_CHANNEL_MONITOR_PIPE → status; the table asks us for the pipe; → status.
        assert session.act(Action("send", data=_command(20))).kind == "ok"
        assert session.expected() is not None
        assert session.act(Action("send", data=b"\0", fds=("pipe",))).kind == "ok"
        assert session.checked and session.replies >= 3
        # UPDATE_STREAM: the consumer's command thread ends (-ENOSYS): a clean exit.
        outcome = session.act(Action("send", data=_command(2)))
        assert outcome.kind == "exit" and not outcome.finding


def test_stop_command_crash_replays(tmp_path: Path, consumerd: str) -> None:
    actions = [Action("send", data=_command(3), note="LTTNG_CONSUMER_STOP")]
    outcome = run_actions(consumerd, Abi.V2_13_9, actions, tmp_path / "c", 3.0)
    assert outcome.kind == "crash" and outcome.status == -6
    repro = tmp_path / "stop.json"
    repro.write_text(
        json.dumps({"signature": outcome.signature(), "actions": [a.to_json() for a in actions]})
    )
    assert replay_main(repro, consumerd, 3.0) == 0


def test_short_campaign_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], consumerd: str
) -> None:
    consumerd_main(consumerd, 2.0, seed=5, out=tmp_path, timeout=3.0, abi=Abi.V2_13_9)
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["commands"] > 0 and doc["consumers_started"] >= 1
    assert "commands_per_second" in doc


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda p: p.stem)
def test_committed_finding_replays(finding: Path, consumerd: str) -> None:
    """Every reproducer under spec/findings/ still crashes Debian's lttng-consumerd."""
    assert replay_main(finding, consumerd, 3.0) == 0
