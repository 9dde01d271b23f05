"""``ustref ring dump`` without a session daemon: packets of library-made buffers."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ustref.ring import layout
from ustref.ring.dump import Progress, crash_packets, dump, dump_main
from ustref.ring.libustctl import OracleChannel
from ustref.ring.shm import ShmMapping


def test_progress_bar_renders_and_finishes() -> None:
    out = io.StringIO()
    bar = Progress(total=4 << 20, stream=out, width=10)
    bar.advance(1 << 20)
    bar.advance(3 << 20)
    bar.finish()
    text = out.getvalue()
    assert "\r[##........]  25.0% 1.0/4.0 MiB" in text
    assert text.endswith("[##########] 100.0% 4.0/4.0 MiB\n")


def make_trace(channel: OracleChannel, root: Path, text: bytes) -> Path:
    trace = root / "shm" / "ust" / "uid" / "0" / "64-bit"
    trace.mkdir(parents=True)
    (trace / "metadata").write_text("/* CTF 1.8 */\n")
    channel.write_metadata(text)
    (trace / "meta_0").write_bytes(os.pread(channel.stream_fds[0], 1 << 22, 0))
    (trace / "notes.txt").write_text("not a stream: skipped like lttng-crash does\n")
    return trace


def test_dump_recovers_committed_and_partial_packets(
    oracle_channel: Callable[..., OracleChannel], tmp_path: Path
) -> None:
    channel = oracle_channel(metadata=True, subbuf_size=4096, num_subbuf=4)
    text = bytes((i * 31) % 251 for i in range(9000))
    trace = make_trace(channel, tmp_path, text)
    with ShmMapping.open_path(trace / "meta_0", writable=False) as mapping:
        packets = list(crash_packets(mapping))
    # two full packets, then the open one: committed bytes only
    assert [p.patch_bits is None for p in packets] == [True, True, False]
    header = layout.METADATA_SUBBUF_HEADER_SIZE
    assert packets[2].size == header + 9000 - 2 * (4096 - header)
    out = tmp_path / "out"
    assert dump_main([str(tmp_path / "shm"), "-o", str(out), "--no-progress"]) == 0
    dumped = out / "ust" / "uid" / "0" / "64-bit"
    assert (dumped / "metadata").read_text() == "/* CTF 1.8 */\n"
    assert not (dumped / "notes.txt").exists()
    data = (dumped / "meta_0").read_bytes()
    assert len(data) == 2 * 4096 + packets[2].size
    last = data[2 * 4096 :]
    # the metadata client announces no size fields in its crash ABI, so (as with
    # lttng-crash) the open packet keeps buffer_begin's "unknown" sizes
    assert last[24:32] == b"\xff" * 8
    payload = b"".join(
        data[i * 4096 + header : i * 4096 + (4096 if i < 2 else packets[2].size)] for i in range(3)
    )
    assert payload == text


def test_dump_of_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="no trace"):
        dump(tmp_path / "empty", tmp_path / "out")
