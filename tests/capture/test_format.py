"""Capture files and raw capture directories: round trips and malformed inputs."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ustref.capture import (
    CaptureFormatError,
    CaptureHeader,
    CaptureRecord,
    CaptureWriter,
    Direction,
    Socket,
    load_capture,
    read_capture,
    write_capture_dir,
    write_capture_file,
)
from ustref.errors import LocalProtocolError, RemoteProtocolError

S2C = Direction.TO_CONSUMERD
C2S = Direction.TO_SESSIOND

RECORDS = (
    CaptureRecord(0, 10, C2S, Socket.ERROR, b"\x64\0\0\0", 0),
    CaptureRecord(1, 20, S2C, Socket.COMMAND, bytes(range(256)) * 3, 0),
    CaptureRecord(2, 30, C2S, Socket.COMMAND, b"\0\0\0\0", 0),
    CaptureRecord(3, 40, S2C, Socket.COMMAND, b"\0", 1, fd_kinds=("fifo",)),
    CaptureRecord(5, 50, C2S, Socket.METADATA, b"req", 0, connection=0),
    CaptureRecord(6, 60, C2S, Socket.CHANNEL_MONITOR, b"\1" * 32, 0),
    CaptureRecord(7, 70, S2C, Socket.COMMAND, b"", 0, connection=1),
)


def _header_line() -> str:
    return json.dumps(CaptureHeader().to_json()) + "\n"


def _record_line(**overrides: object) -> str:
    doc: dict[str, object] = {
        "kind": "record",
        "seq": 0,
        "time_ns": 1,
        "direction": "sessiond->consumerd",
        "socket": "command",
        "connection": 0,
        "size": 2,
        "fd_count": 0,
        "fd_kinds": [],
        "data": base64.b64encode(b"hi").decode(),
    }
    doc.update(overrides)
    return json.dumps({k: v for k, v in doc.items() if v is not ...}) + "\n"


def test_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.capture.jsonl"
    header = CaptureHeader(argv=("", "-u"), consumerd="/x/lttng-consumerd", extra={"note": 1})
    write_capture_file(path, RECORDS, header=header, exit_status=-15)
    assert tuple(read_capture(path)) == RECORDS
    whole = load_capture(path)
    assert whole.records == RECORDS
    assert whole.header == header
    assert whole.end is not None and whole.end.exit_status == -15 and whole.end.records == 7
    assert (whole.end.fd_splits, whole.end.fd_truncations) == (0, 0)
    assert RECORDS[-1].is_eof and not RECORDS[3].is_eof


def test_dir_round_trip(tmp_path: Path) -> None:
    write_capture_dir(tmp_path / "raw", RECORDS)
    back = tuple(read_capture(tmp_path / "raw"))
    # The directory form has no fd kinds.
    assert back == tuple(
        CaptureRecord(r.seq, r.time_ns, r.direction, r.socket, r.data, r.fd_count, r.connection)
        for r in RECORDS
    )
    assert (tmp_path / "raw" / "0001-s2c.bin").read_bytes() == RECORDS[1].data
    whole = load_capture(tmp_path / "raw")
    assert whole.header is None and whole.end is None and len(whole.records) == 7


def test_dir_minimal_index_ignores_other_keys(tmp_path: Path) -> None:
    (tmp_path / "0000-s2c.bin").write_bytes(b"abc")
    (tmp_path / "0001-c2s.bin").write_bytes(b"")
    index = {
        "lttng": "2.13.9",
        "messages": [
            {
                "seq": 0,
                "file": "0000-s2c.bin",
                "direction": "sessiond->consumerd",
                "socket": "command",
                "fd_count": 0,
                "time_ns": 1.5,
                "whatever": [1],
            },
            {
                "seq": 4,
                "file": "0001-c2s.bin",
                "direction": "consumerd->sessiond",
                "socket": "channel-monitor",
                "fd_count": 2,
            },
        ],
    }
    (tmp_path / "index.json").write_text(json.dumps(index))
    assert list(read_capture(tmp_path)) == [
        CaptureRecord(0, 0, S2C, Socket.COMMAND, b"abc", 0),
        CaptureRecord(4, 0, C2S, Socket.CHANNEL_MONITOR, b"", 2),
    ]


def test_writer_rejects_misuse(tmp_path: Path) -> None:
    writer = CaptureWriter.create(tmp_path / "w.jsonl", CaptureHeader())
    writer.append(RECORDS[1])
    with pytest.raises(LocalProtocolError, match="not increasing"):
        writer.append(RECORDS[0])
    with pytest.raises(LocalProtocolError, match="fd kinds"):
        writer.append(CaptureRecord(9, 0, S2C, Socket.COMMAND, b"\0", 2, fd_kinds=("x",)))
    writer.close(None)
    writer.close(0)  # idempotent
    with pytest.raises(LocalProtocolError, match="closed"):
        writer.append(RECORDS[2])
    # Without an end line the file still reads (a wrapper that was killed).
    whole = load_capture(tmp_path / "w.jsonl")
    assert whole.records == (RECORDS[1],) and whole.end is None


BAD_FILES: dict[str, tuple[str, str]] = {
    "empty": ("", "empty file"),
    "not json": (_header_line() + "{nope\n", "line 2: not a JSON line"),
    "not an object": (_header_line() + "[1]\n", "line 2: expected a JSON object"),
    "no header": (_record_line(), "line 1.kind: the first line must be the header"),
    "other format": ('{"kind":"header","format":"pcap","version":1}\n', "not a capture file"),
    "future version": (
        '{"kind":"header","format":"ustref-capture","version":2}\n',
        "unsupported capture format version 2",
    ),
    "unknown kind": (_header_line() + '{"kind":"comment"}\n', "unknown line kind"),
    "bad direction": (_header_line() + _record_line(direction="up"), "line 2.direction"),
    "bad socket": (_header_line() + _record_line(socket="data"), "unknown socket 'data'"),
    "bad base64": (_header_line() + _record_line(data="!!"), "line 2.data: not valid base64"),
    "size mismatch": (_header_line() + _record_line(size=3), "size 3 but data holds 2"),
    "negative fd_count": (_header_line() + _record_line(fd_count=-1), "line 2.fd_count"),
    "bool seq": (_header_line() + _record_line(seq=True), "line 2.seq: expected an integer"),
    "missing seq": (_header_line() + _record_line(seq=...), "line 2.seq: missing"),
    "fd kinds count": (
        _header_line() + _record_line(fd_count=1, fd_kinds=["a", "b"]),
        "2 fd kinds for fd_count 1",
    ),
    "seq not increasing": (
        _header_line() + _record_line(seq=3) + _record_line(seq=3),
        "line 3.seq: seq 3 does not follow seq 3",
    ),
    "end count": (
        _header_line() + _record_line() + '{"kind":"end","exit_status":0,"records":2}\n',
        "says 2 records, the file holds 1",
    ),
    "after end": (
        _header_line() + '{"kind":"end","exit_status":0,"records":0}\n' + _record_line(),
        "line 3: data after the end line",
    ),
    "truncated": (_header_line() + _record_line()[:-5], "line 2: truncated line"),
    "not utf-8": (_header_line() + '{"kind":"\xff"}\n', "line 2: not a JSON line"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_file(tmp_path: Path, name: str) -> None:
    text, expected = BAD_FILES[name]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(CaptureFormatError, match=expected.replace(".", r"\.")) as caught:
        list(read_capture(path))
    assert isinstance(caught.value, RemoteProtocolError)
    assert caught.value.message == str(path)


def _index(entry: dict[str, object]) -> str:
    base: dict[str, object] = {
        "seq": 0,
        "file": "m.bin",
        "direction": "sessiond->consumerd",
        "socket": "command",
        "fd_count": 0,
    }
    base.update(entry)
    return json.dumps({"messages": [{k: v for k, v in base.items() if v is not ...}]})


BAD_DIRS: dict[str, tuple[str | None, str]] = {
    "no index": (None, "cannot read"),
    "not json": ("{", "not JSON"),
    "not an object": ("[]", "index: expected a JSON object"),
    "no messages": ('{"msgs": []}', "index.messages: expected a list"),
    "missing file key": (_index({"file": ...}), r"messages[0].file: missing"),
    "missing file": (_index({"file": "gone.bin"}), "cannot read"),
    "escaping file": (_index({"file": "../m.bin"}), "not inside the capture directory"),
    "absolute file": (_index({"file": "/etc/passwd"}), "not inside the capture directory"),
    "bad direction": (_index({"direction": "s2c"}), r"messages[0].direction"),
    "bad socket": (_index({"socket": "ctl"}), r"messages[0].socket"),
    "bad fd_count": (_index({"fd_count": "1"}), r"messages[0].fd_count"),
    "entry not an object": ('{"messages": [3]}', r"messages[0]: expected a JSON object"),
}


@pytest.mark.parametrize("name", sorted(BAD_DIRS))
def test_malformed_dir(tmp_path: Path, name: str) -> None:
    index, expected = BAD_DIRS[name]
    (tmp_path / "m.bin").write_bytes(b"x")
    if index is not None:
        (tmp_path / "index.json").write_text(index)
    with pytest.raises(CaptureFormatError) as caught:
        list(read_capture(tmp_path))
    assert expected in str(caught.value)
    assert caught.value.message.endswith("index.json")


def test_dir_seq_must_increase(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"x")
    entry = {"file": "m.bin", "direction": "sessiond->consumerd", "socket": "error"}
    messages = [{"seq": 2, "fd_count": 0, **entry}, {"seq": 1, "fd_count": 0, **entry}]
    (tmp_path / "index.json").write_text(json.dumps({"messages": messages}))
    with pytest.raises(CaptureFormatError, match=r"messages\[1\]\.seq"):
        list(read_capture(tmp_path))


def test_missing_capture_file(tmp_path: Path) -> None:
    with pytest.raises(CaptureFormatError, match="cannot read"):
        list(read_capture(tmp_path / "none.jsonl"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
RECORD_KEYS = (
    *("kind", "seq", "time_ns", "direction", "socket", "connection", "size"),
    *("fd_count", "fd_kinds", "data", "exit_status", "records"),
)


@settings(max_examples=80, deadline=None)
@given(
    docs=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                key: JSON_VALUES
                | st.sampled_from(["record", "end", "command", "sessiond->consumerd", "AA=="])
                for key in RECORD_KEYS
            },
        ),
        max_size=3,
    )
)
def test_fuzz_structured_lines_only_raise_capture_errors(
    tmp_path_factory: pytest.TempPathFactory, docs: list[dict[str, object]]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    path.write_text(_header_line() + "".join(json.dumps(doc) + "\n" for doc in docs))
    with contextlib.suppress(CaptureFormatError):
        list(read_capture(path))


def test_deeply_nested_json_is_a_capture_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(_header_line() + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(CaptureFormatError, match="line 2"):
        list(read_capture(path))


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=40), max_size=4), keep_header=st.booleans())
def test_fuzz_reader_only_raises_capture_errors(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], keep_header: bool
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    head = _header_line().encode() if keep_header else b""
    path.write_bytes(head + b"\n".join(lines))
    with contextlib.suppress(CaptureFormatError):
        list(read_capture(path))
