"""tshark with the generated dissector decodes every golden capture as ``ustref decode`` does.

Each golden capture is exported to pcapng (``ustref capture export``), read by
``tshark -X lua_script:spec/wireshark/ustref.lua -T pdml``, and compared
message for message and field for field with :func:`ustref.capture.decode.decode_records`.
The consumer ↔ relay daemon records of the streaming captures, exported as TCP
segments on the relay daemon's default ports, are read by the dissector's
``lttcomm.relayd`` protocols and compared command for command with
:func:`ustref.capture.decode.decode_capture`.
Needs ``tshark`` (installed by ``scripts/setup-lttng.sh``; a skip is a failure in CI).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.guard import require_tool
from ustref.capture.decode import DecodedRelaydRecord, decode_capture, decode_records
from ustref.capture.format import CaptureRecord, load_capture, read_capture, read_capture_all
from ustref.capture.golden import capture_file
from ustref.capture.pcapng import pcapng_bytes
from ustref.fuzz.conversation import conversations
from ustref.lttng.loopback import RelaydPorts, dissect_relayd
from ustref.protocol.abi import Abi
from ustref.protocol.conversation import Conversation
from ustref.protocol.conversation.steps import Direction, Socket
from ustref.specgen.wireshark import CONSUMER_PREFIX, RELAYD_PORTS, VIEWER_PORT, leaves

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "spec" / "wireshark" / "ustref.lua"
GOLDEN = REPO / "spec" / "golden"
SCENARIOS = sorted(
    (abi_dir.name, scenario)
    for abi_dir in GOLDEN.iterdir()
    if abi_dir.is_dir()
    for scenario in abi_dir.iterdir()
    if scenario.is_dir()
)
META = {f"{CONSUMER_PREFIX}.{name}" for name in ("message", "step", "exchange", "fds", "payload")}

Message = tuple[str, str, str, int, list[tuple[str, str]]]


def tshark_pdml(pcapng: Path, tshark: str = "") -> ET.Element:
    tshark = tshark or require_tool("tshark")
    result = subprocess.run(
        [tshark, "-X", f"lua_script:{PLUGIN}", "-r", str(pcapng), "-T", "pdml"],
        capture_output=True,
        check=True,
        timeout=300,
    )
    # Drawn strings may hold control bytes tshark writes unescaped: not XML 1.0.
    text = result.stdout.decode("utf-8", "replace")
    return ET.fromstring(re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "?", text))


def _plain(text: str) -> str:
    """Strings compare as text when printable ASCII (tshark escapes the rest its own way)."""
    return text if text.isascii() and text.isprintable() else "<not printable>"


def _fields(element: ET.Element) -> list[ET.Element]:
    found = []
    for child in element:
        if child.tag == "field":
            if child.get("name", "").startswith(CONSUMER_PREFIX + "."):
                found.append(child)
            found += _fields(child)
    return found


def tshark_messages(pdml: ET.Element, bytes_fields: set[str]) -> tuple[list[Message], list[str]]:
    """The messages the dissector shows, and the expert errors."""
    messages: list[Message] = []
    errors: list[str] = []
    for packet in pdml.iter("packet"):
        errors += [
            f.get("showname", "")
            for f in packet.iter("field")
            if f.get("name") == "_ws.expert"
            and f.get("showname", "").startswith("Expert Info (Error")
        ]
        errors += [
            f.get("showname", "")
            for f in packet.iter("field")
            if "Lua Error" in f.get("showname", "")
        ]
        for proto in packet.iter("proto"):
            if proto.get("name") != CONSUMER_PREFIX:
                continue
            meta: dict[str, str] = {}
            values: list[tuple[str, str]] = []
            for field in _fields(proto):
                name = field.get("name", "")
                if name in META:
                    meta[name.rsplit(".", 1)[1]] = field.get("show", "")
                elif name in bytes_fields:
                    values.append((name, field.get("value", "")))
                else:
                    values.append((name, _plain(field.get("show", ""))))
            messages.append(
                (meta["message"], meta["step"], meta["exchange"], int(meta["fds"]), values)
            )
    return messages, errors


def ustref_messages(
    records: list[CaptureRecord], abi: Abi, *, golden: bool = True
) -> tuple[list[Message], set[str]]:
    """The same, from ``ustref decode`` (``golden``: from the consumer's start, to the
    end of the capture; else an observer from the middle); and the fields shown as hex."""
    messages: list[Message] = []
    hexed: set[str] = set()
    if golden:
        decoded = [item.message for item in decode_records(records, abi)]
    else:
        conv = Conversation(abi)
        decoded = [
            m for r in records for m in conv.observe(r.socket, r.direction, r.data, r.fd_count)
        ]
    for m in decoded:
        values: list[tuple[str, str]] = []
        if m.spec is not None:
            for name, shown, is_bytes in leaves(m.spec, m.value, CONSUMER_PREFIX):
                values.append((name, shown if is_bytes else _plain(shown)))
                if is_bytes:
                    hexed.add(name)
        messages.append((m.name, m.step, m.exchange, m.fds, values))
    return messages, hexed


@pytest.mark.parametrize(("abi", "scenario"), SCENARIOS, ids=lambda v: getattr(v, "name", v))
def test_tshark_decodes_like_ustref(abi: str, scenario: Path, tmp_path: Path) -> None:
    profile = Abi.from_name(abi)
    records = list(read_capture(capture_file(scenario)))
    pcapng = tmp_path / "capture.pcapng"
    # The whole capture, relay daemon records included (they do not disturb the rest).
    pcapng.write_bytes(pcapng_bytes(read_capture_all(capture_file(scenario)), profile))
    expected, hexed = ustref_messages(records, profile)
    shown, errors = tshark_messages(tshark_pdml(pcapng), hexed)
    assert errors == []
    assert len(shown) == len(expected)
    for index, (got, want) in enumerate(zip(shown, expected, strict=True)):
        assert got == want, f"message {index}"


RELAYD_SCENARIOS = [
    (abi, scenario) for abi, scenario in SCENARIOS if load_capture(capture_file(scenario)).relayd
]


@pytest.mark.parametrize(("abi", "scenario"), RELAYD_SCENARIOS, ids=lambda v: getattr(v, "name", v))
def test_tshark_decodes_relayd_records_like_ustref(
    abi: str, scenario: Path, tmp_path: Path
) -> None:
    """The relay daemon connections of a golden capture, exported as TCP: every byte is
    covered by relay messages, no expert info, the same commands, replies and data
    frames as ``ustref decode``."""
    tshark = require_tool("tshark")
    capture = load_capture(capture_file(scenario))
    pcapng = tmp_path / "capture.pcapng"
    pcapng.write_bytes(pcapng_bytes(capture.in_order(), Abi.from_name(abi)))
    seen = dissect_relayd(pcapng, RelaydPorts(*RELAYD_PORTS, VIEWER_PORT), PLUGIN, tshark)
    pieces = [
        item.message
        for item in decode_capture(capture.in_order(), Abi.from_name(abi))
        if isinstance(item, DecodedRelaydRecord)
    ]
    assert seen.experts == []
    assert seen.tcp_bytes == sum(len(r.data) for r in capture.relayd) > 0
    assert seen.decoded_bytes == seen.tcp_bytes
    assert seen.commands == [p.exchange for p in pieces if p.step == "header"]
    assert seen.replies == [p.name for p in pieces if p.step == "reply"]
    assert seen.data_frames == sum(p.step == "data.header" for p in pieces) > 0


@pytest.mark.parametrize("abi", list(Abi), ids=lambda a: a.value)
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
@given(data=st.data())
def test_generated_conversations_decode_alike(abi: Abi, data: st.DataObject) -> None:
    """Both ABI profiles (the golden corpus is v2.13.9 only): valid conversations drawn
    from the table, every command and reply kind over the runs, decode alike."""
    tshark = require_tool("tshark")
    convs = data.draw(st.lists(conversations(abi, damaged=False), min_size=20, max_size=20))
    records = [
        CaptureRecord(seq, 0, ev.direction, ev.socket, ev.data, ev.fds)
        for seq, ev in enumerate(ev for conv in convs for ev in conv if not ev.close)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        pcapng = Path(tmp) / "generated.pcapng"
        pcapng.write_bytes(pcapng_bytes(records, abi))
        expected, hexed = ustref_messages(records, abi, golden=False)
        shown, errors = tshark_messages(tshark_pdml(pcapng, tshark), hexed)
    assert errors == []
    assert len(shown) == len(expected)
    for index, (got, want) in enumerate(zip(shown, expected, strict=True)):
        assert got[:4] == want[:4], f"message {index}"
        assert [v for v in got[4] if v not in want[4]] == [], f"message {index}: {want[:3]}"
        assert got[4] == want[4], f"message {index}"


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
@given(data=st.data())
def test_damaged_conversations_never_raise_lua_errors(data: st.DataObject) -> None:
    """Damaged conversations (the decoder fuzzer's) give expert errors at most."""
    tshark = require_tool("tshark")
    abi = data.draw(st.sampled_from(list(Abi)))
    convs = data.draw(st.lists(conversations(abi, damaged=True), min_size=5, max_size=5))
    records = [
        CaptureRecord(seq, 0, ev.direction, ev.socket, ev.data, ev.fds)
        for seq, ev in enumerate(ev for conv in convs for ev in conv if not ev.close)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        pcapng = Path(tmp) / "damaged.pcapng"
        pcapng.write_bytes(pcapng_bytes(records, abi))
        result = subprocess.run(
            [tshark, "-X", f"lua_script:{PLUGIN}", "-r", str(pcapng), "-V"],
            capture_output=True,
            check=True,
            timeout=300,
        )
    text = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
    assert "Lua Error" not in text
    assert "Lua: Error" not in text


def test_malformed_frame_is_an_expert_error(tmp_path: Path) -> None:
    """An unknown ``cmd_type`` shows as a Wireshark expert error, not a Lua error."""
    records = list(read_capture(capture_file(GOLDEN / "v2.13.9" / "per-uid")))
    bad = next(r for r in records if r.socket is Socket.COMMAND)
    broken = CaptureRecord(
        bad.seq, bad.time_ns, Direction.TO_CONSUMERD, Socket.COMMAND, b"\xee" * 4 + bad.data[4:], 0
    )
    first = records.index(bad)
    pcapng = tmp_path / "bad.pcapng"
    pcapng.write_bytes(pcapng_bytes([*records[:first], broken], Abi.V2_13_9))
    pdml = tshark_pdml(pcapng)
    _, errors = tshark_messages(pdml, set())
    assert any("not a value of its enum" in e for e in errors), errors
    text = ET.tostring(pdml, encoding="unicode")
    assert "Lua Error" not in text
