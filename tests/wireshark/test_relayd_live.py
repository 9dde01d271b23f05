"""Live dissection of a real streaming session on loopback (issue 25).

``spec/wireshark/relayd-loopback.pcapng`` was captured by
``scripts/capture_relayd_loopback.py`` (:func:`ustref.lttng.loopback.capture_relayd_loopback`:
the real lttng-relayd on free ports, the root lttng-sessiond and its C
lttng-consumerd, a per-UID streaming session with ``tracef_app``); the tshark
command that reads it, with the relay ports as ``-o`` preferences, is in
``relayd-loopback.cmd`` beside it. tshark with the generated dissector must cover
every TCP payload byte on the relay ports with decoded relay messages, show no
expert info and no Lua error, and decode the consumer's commands and the data
socket's frames. The ``lttng`` test makes such a capture itself and checks the same.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.guard import require_tool
from ustref.lttng.loopback import (
    RelaydDissection,
    capture_relayd_loopback,
    dissect_relayd,
    ports_from_options,
)

WIRESHARK = Path(__file__).resolve().parents[2] / "spec" / "wireshark"
PLUGIN = WIRESHARK / "ustref.lua"
CAPTURE = WIRESHARK / "relayd-loopback.pcapng"

#: What the session daemon sends on the control socket it then hands to the consumer.
SESSIOND_COMMANDS = {
    "RELAYD_VERSION",
    "RELAYD_GET_CONFIGURATION",
    "RELAYD_CREATE_SESSION",
}
#: What the C consumer sends for one per-UID session: its streams, their metadata and
#: indexes, data pending at stop, the rotation of destroy's last chunk, closing the streams.
CONSUMER_COMMANDS = {
    "RELAYD_CREATE_TRACE_CHUNK",
    "RELAYD_ADD_STREAM",
    "RELAYD_STREAMS_SENT",
    "RELAYD_SEND_METADATA",
    "RELAYD_SEND_INDEX",
    "RELAYD_BEGIN_DATA_PENDING",
    "RELAYD_DATA_PENDING",
    "RELAYD_QUIESCENT_CONTROL",
    "RELAYD_END_DATA_PENDING",
    "RELAYD_ROTATE_STREAMS",
    "RELAYD_CLOSE_TRACE_CHUNK",
    "RELAYD_CLOSE_STREAM",
}
#: Commands the relay daemon does not answer.
UNANSWERED = {"RELAYD_SEND_METADATA"}


def check_live_dissection(seen: RelaydDissection) -> None:
    """What a streaming session's capture must show, read by the generated dissector."""
    assert seen.experts == []
    assert seen.tcp_bytes > 0
    assert seen.decoded_bytes == seen.tcp_bytes
    assert set(seen.commands) >= SESSIOND_COMMANDS | CONSUMER_COMMANDS, Counter(seen.commands)
    assert seen.data_frames > 0
    # Every answered command got its reply, read by the struct the table names.
    answered = [c for c in seen.commands if c not in UNANSWERED]
    assert len(seen.replies) == len(answered)
    assert "lttcomm_relayd_get_configuration_reply" in seen.replies
    assert "lttcomm_relayd_status_stream" in seen.replies


def test_committed_loopback_capture() -> None:
    tshark = require_tool("tshark")
    ports = ports_from_options(CAPTURE.with_suffix(".cmd").read_text(encoding="utf-8"))
    check_live_dissection(dissect_relayd(CAPTURE, ports, PLUGIN, tshark))


@pytest.mark.lttng
def test_live_loopback_capture(tmp_path: Path) -> None:
    tshark = require_tool("tshark")
    require_tool("lttng-relayd")
    made = capture_relayd_loopback(tmp_path / "live.pcapng", workdir=tmp_path / "work")
    check_live_dissection(dissect_relayd(made.pcapng, made.ports, PLUGIN, tshark))
