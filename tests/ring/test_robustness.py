"""Truncated, shrunk and corrupted stream files give a LayoutError naming the file.

A stream file made by liblttng-ust-ctl (a metadata channel with real packets)
is copied to a regular file, then damaged. The last tests shrink the file
*under* a reader that has it mapped: touching the lost pages raises SIGBUS,
which must become a LayoutError, not the death of the test process.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ustref.errors import LayoutError
from ustref.ring import layout
from ustref.ring.dump import dump_main
from ustref.ring.libustctl import OracleChannel
from ustref.ring.reader import Status, StreamReader
from ustref.ring.shm import ShmMapping


@pytest.fixture
def stream_file(oracle_channel: Callable[..., OracleChannel], tmp_path: Path) -> Path:
    """A copy of a metadata stream holding three committed packets and one open."""
    channel = oracle_channel(metadata=True, subbuf_size=4096, num_subbuf=4)
    channel.write_metadata(b"/* CTF 1.8 */ " * 1000)
    path = tmp_path / "trace" / "metadata_stream"
    path.parent.mkdir()
    with open(path, "wb") as out:
        out.write(os.pread(channel.stream_fds[0], 1 << 20, 0))
    return path


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def layout_error(path: Path) -> LayoutError:
    with pytest.raises(LayoutError) as info:
        StreamReader.open(path).close()
    assert str(path) in str(info.value)
    return info.value


def test_intact_copy_reads(stream_file: Path) -> None:
    with StreamReader.open(stream_file) as reader:
        assert reader.get_next_subbuf() is Status.OK
        assert reader.read_subbuf(4)[:4] == layout.TSDL_MAGIC_NUMBER.to_bytes(4, "little")
        reader.put_next_subbuf()


def test_truncated_below_crash_record(stream_file: Path) -> None:
    os.truncate(stream_file, 100)
    assert "truncated" in layout_error(stream_file).reason


def test_shrunk_file(stream_file: Path) -> None:
    os.truncate(stream_file, os.path.getsize(stream_file) // 2)
    error = layout_error(stream_file)
    assert "announces" in error.reason


def test_empty_file(stream_file: Path) -> None:
    os.truncate(stream_file, 0)
    assert "empty" in layout_error(stream_file).reason


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("magic", b"\0" * 16, "magic"),
        ("word_size", b"\x04", "word_size"),
        ("mode", (7).to_bytes(4, "little"), "mode 7"),
        ("subbuf_size", (4097).to_bytes(8, "little"), "power of two"),
        ("buf_size", (1).to_bytes(8, "little"), "buffer size"),
    ],
)
def test_corrupted_crash_record(stream_file: Path, field: str, value: bytes, message: str) -> None:
    patch(stream_file, getattr(layout.CrashAbi, field).offset, value)
    assert message in str(layout_error(stream_file))


def test_corrupted_shm_reference(stream_file: Path) -> None:
    # backend.array points to another shm object
    at = layout.RingBuffer.backend.offset + layout.Backend.array.offset
    patch(stream_file, at, (5).to_bytes(8, "little"))
    assert "backend.array refers to shm object 5" in str(layout_error(stream_file))


def test_corrupted_subbuffer_id(stream_file: Path) -> None:
    with StreamReader.open(stream_file) as reader:
        wsb = reader.tables.buf_wsb
    patch(stream_file, wsb, (99).to_bytes(8, "little"))
    with StreamReader.open(stream_file) as reader, pytest.raises(LayoutError, match="index 99"):
        reader.get_next_subbuf()
        reader.get_subbuf_size()


def test_truncate_under_the_reader(stream_file: Path) -> None:
    """ftruncate() by 'another process' while mapped: SIGBUS becomes a LayoutError."""
    with StreamReader.open(stream_file) as reader:
        assert reader.get_next_subbuf() is Status.OK
        os.truncate(stream_file, layout.CRASH_DUMP_ABI_LEN)
        # the held sub-buffer's pages and the backend tables are gone
        with pytest.raises(LayoutError, match=r"shrank.*SIGBUS") as info:
            reader.read_subbuf()
        assert str(stream_file) in str(info.value)
        # the mapping stays poisoned, every later access fails the same way
        with pytest.raises(LayoutError, match="shrank"):
            reader.put_next_subbuf()
        with pytest.raises(LayoutError, match="shrank"):
            reader.snapshot()


def test_truncate_under_atomic_access(stream_file: Path, tmp_path: Path) -> None:
    """The fault can hit inside a libatomic call (compare-and-swap on consumed)."""
    copy = tmp_path / "copy"
    shutil.copyfile(stream_file, copy)
    with ShmMapping.open_path(copy) as mapping:
        os.truncate(copy, 0)
        with pytest.raises(LayoutError, match=r"shrank.*SIGBUS"):
            mapping.cas_ulong(layout.RingBuffer.consumed.offset, 0, 4096)


def test_dump_reports_one_line(
    stream_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (stream_file.parent / "metadata").write_text("/* CTF 1.8 */\n")
    patch(stream_file, layout.CrashAbi.mode.offset, (3).to_bytes(4, "little"))
    assert dump_main([str(stream_file.parent), "-o", str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(stream_file) in err and "mode 3" in err
