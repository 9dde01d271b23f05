"""The relay daemon and live viewer protocols over TCP: framed commands, reassembled
replies read as the reply of the command they answer.

A synthetic loopback capture (raw IPv4, no checksums) is read by tshark with the
generated plugin; the reply of each command is split across two segments.
"""

from __future__ import annotations

import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.guard import require_tool
from ustref.protocol import relayd
from ustref.protocol.peers import viewer

PLUGIN = Path(__file__).resolve().parents[2] / "spec" / "wireshark" / "ustref.lua"
LINKTYPE_RAW = 101


def _segment(src: int, dst: int, seq: int, ack: int, payload: bytes) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", src, dst, seq, ack, 5 << 4, 0x18, 65535, 0, 0)
    ip = struct.pack(
        ">BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(tcp) + len(payload),
        1,
        0x4000,
        64,
        6,
        0,
        bytes([127, 0, 0, 1]),
        bytes([127, 0, 0, 1]),
    )
    return ip + tcp + payload


def _pcapng(packets: list[bytes]) -> bytes:
    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", LINKTYPE_RAW, 0, 0))
    for i, packet in enumerate(packets):
        out += block(6, struct.pack("<IIIII", 0, 0, i, len(packet), len(packet)) + packet)
    return out


def _conversation(port: int, command: bytes, reply: bytes) -> list[bytes]:
    client = 40000 + port % 100
    half = len(reply) // 2
    return [
        _segment(client, port, 1, 1, command),
        _segment(port, client, 1, 1 + len(command), reply[:half]),
        _segment(port, client, 1 + half, 1 + len(command), reply[half:]),
    ]


def _fields(pcapng: Path) -> list[tuple[str, str]]:
    tshark = require_tool("tshark")
    out = subprocess.run(
        [tshark, "-X", f"lua_script:{PLUGIN}", "-r", str(pcapng), "-T", "pdml"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return [
        (f.get("name", ""), f.get("show", ""))
        for f in ET.fromstring(out).iter("field")
        if f.get("name", "").startswith(("lttcomm.relayd.", "lttng.viewer."))
        or f.get("name") == "_ws.expert"
    ]


def test_relayd_version_and_viewer_connect(tmp_path: Path) -> None:
    version = relayd.VERSION.build(relayd.VERSION.dc_type(major=2, minor=13))
    relayd_cmd = relayd.HDR.build(
        relayd.HDR.dc_type(
            circuit_id=0,
            data_size=len(version),
            cmd=relayd.LttcommRelaydCommand.RELAYD_VERSION,
            cmd_version=0,
        )
    )
    reply = relayd.VERSION.build(relayd.VERSION.dc_type(major=2, minor=12))
    connect = viewer.CONNECT.build(
        viewer.CONNECT.dc_type(viewer_session_id=0, major=2, minor=4, type=1)
    )
    viewer_cmd = viewer.CMD.build(
        viewer.CMD.dc_type(
            data_size=len(connect),
            cmd=viewer.LttngViewerCommand.LTTNG_VIEWER_CONNECT,
            cmd_version=0,
        )
    )
    viewer_reply = viewer.CONNECT.build(
        viewer.CONNECT.dc_type(viewer_session_id=7, major=2, minor=13, type=1)
    )
    pcapng = tmp_path / "tcp.pcapng"
    pcapng.write_bytes(
        _pcapng(
            _conversation(5342, relayd_cmd + version, reply)
            + _conversation(5344, viewer_cmd + connect, viewer_reply)
        )
    )
    shown = _fields(pcapng)
    assert ("_ws.expert", "") not in shown
    assert [v for n, v in shown if n == "lttcomm.relayd.cmd"] == [
        str(int(relayd.LttcommRelaydCommand.RELAYD_VERSION))
    ]
    # The command's payload, then the reply reassembled from two segments.
    assert [v for n, v in shown if n == "lttcomm.relayd.minor"] == ["13", "12"]
    assert [v for n, v in shown if n == "lttng.viewer.viewer_session_id"] == ["0", "7"]
    assert [v for n, v in shown if n == "lttng.viewer.minor"] == ["4", "13"]
