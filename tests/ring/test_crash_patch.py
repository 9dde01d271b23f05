"""The crash-dump patch path for data channels: a partly committed sub-buffer.

A writer that died between reserving and switching leaves its sub-buffer
partly committed: the commit counter ``seq`` (kept for crash consistency)
says how many bytes are whole. ``lttng-crash`` (``copy_crash_subbuf()``,
src/bin/lttng-crash/lttng-crash.c:700-750 @ v2.13.9) writes those bytes and
patches the packet header's ``content_size`` and ``packet_size`` — in the
stream's byte order, which the crash ABI's ``endian`` field gives (little on
x86_64) — to the committed size in bits. Metadata channels announce no size
fields, so only a data channel exercises the patch; the library makes the
buffer, and the test plays the crashed writer: payload bytes after the
open packet's header, then the write offset and the commit counters moved
past them, with no switch. When ``lttng-crash`` is installed, its extraction
of the same file must be byte-identical to ustref's.
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.guard import require_tool
from ustref.ring import layout
from ustref.ring.crash import read_crash_record
from ustref.ring.dump import crash_packets, dump
from ustref.ring.libustctl import OracleChannel
from ustref.ring.shm import ShmMapping

SUBBUF = 4096
PAYLOAD = bytes((i * 37 + 11) % 256 for i in range(1000))


def u64_at(fd: int, offset: int) -> int:
    value: int = struct.unpack("<Q", os.pread(fd, 8, offset))[0]
    return value


def crash_the_writer(fd: int, payload: bytes) -> tuple[int, int]:
    """Commit ``payload`` into the open packet the way a writer does before it dies
    (record bytes, then ``offset``, ``commit_hot[i].cc`` and ``.seq`` moved past
    them; no switch). Returns (file offset of the packet, its header length)."""
    with ShmMapping(fd, source="crashed stream", writable=False) as mapping:
        record = read_crash_record(mapping)
        *_, open_packet = crash_packets(mapping, record)
    geo = record.geometry
    assert open_packet.patch_bits is not None  # the library left a header-only packet open
    prod_at = layout.RingBuffer.offset.offset
    prod = u64_at(fd, prod_at)
    header = geo.subbuf_offset(prod)
    assert header == open_packet.size
    os.pwrite(fd, payload, open_packet.file_offset + header)
    hot = record.commit_hot_array + geo.subbuf_index(prod) * layout.c_sizeof(
        layout.CommitCountersHot
    )
    for at in (hot + layout.CommitCountersHot.cc.offset, hot + layout.CommitCountersHot.seq.offset):
        os.pwrite(fd, struct.pack("<Q", u64_at(fd, at) + len(payload)), at)
    os.pwrite(fd, struct.pack("<Q", prod + len(payload)), prod_at)
    return open_packet.file_offset, header


def shm_tree(root: Path, fd: int) -> Path:
    """An ``--shm-path`` tree with one trace: a metadata file and the stream file."""
    trace = root / "ust" / "uid" / "0" / "64-bit"
    trace.mkdir(parents=True)
    # lttng-crash also looks for a crash-ABI header in ``metadata``: give it 32+ bytes
    (trace / "metadata").write_bytes(b"/* CTF 1.8 */\n/* not a ring buffer */\n")
    (trace / "chan_0").write_bytes(os.pread(fd, os.fstat(fd).st_size, 0))
    return trace.relative_to(root) / "chan_0"


@pytest.mark.parametrize("overwrite", [False, True], ids=["discard", "overwrite"])
def test_partly_committed_data_packet_is_patched_little_endian(
    oracle_channel: Callable[..., OracleChannel],
    tmp_path: Path,
    overwrite: bool,
) -> None:
    # A new stream: the library opened packet 0 (buffer_begin wrote and committed its
    # header); a writer's first reservation would go right after it.
    channel = oracle_channel(overwrite=overwrite, subbuf_size=SUBBUF, num_subbuf=4)
    stream = channel.create_stream(0)
    fd = stream.shm_fd
    packet_at, header = crash_the_writer(fd, PAYLOAD)
    committed = header + len(PAYLOAD)

    shm = tmp_path / "shm"
    stream_file = shm_tree(shm, fd)
    assert dump(shm, tmp_path / "out") > 0
    out = (tmp_path / "out" / stream_file).read_bytes()

    # the open packet, cut to what was committed
    assert len(out) == committed
    partial = out
    original = os.pread(fd, committed, packet_at)
    content_at = layout.field_offset(layout.PacketHeader, "ctx.content_size")
    packet_size_at = layout.field_offset(layout.PacketHeader, "ctx.packet_size")
    # the header says "committed bytes", in bits, little-endian u64 (crash ABI endian = LE)
    assert struct.unpack_from("<Q", partial, content_at)[0] == 8 * committed
    assert struct.unpack_from("<Q", partial, packet_size_at)[0] == 8 * committed
    assert partial[header:] == PAYLOAD
    # nothing else of the packet changed
    patched = {*range(content_at, content_at + 8), *range(packet_size_at, packet_size_at + 8)}
    assert [i for i in range(committed) if i not in patched and partial[i] != original[i]] == []

    # the C tool extracts exactly the same bytes
    lttng_crash = require_tool("lttng-crash")
    theirs = tmp_path / "lttng-crash-out"
    run = subprocess.run(
        [lttng_crash, "-x", str(theirs), str(shm)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (theirs / stream_file).read_bytes() == out
