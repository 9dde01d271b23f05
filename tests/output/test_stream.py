"""A stream's local files: names, tracefile rotation, index entries, chunk switches."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.output import info_of
from ustref.errors import LocalProtocolError, OutputError
from ustref.ids import ChunkId
from ustref.output import naming
from ustref.output.chunk import CloseCommand, Credentials, TraceChunk
from ustref.output.index import PacketIndex, file_header, parse_index_file
from ustref.output.stream import StreamOutput
from ustref.ring.drain import PacketInfo

CHANNEL = "uid/0/64-bit"
PACKET = 4096
SELF = Credentials(os.geteuid(), os.getegid())


def _chunk(domain: Path, chunk_id: int = 1) -> TraceChunk:
    (domain / CHANNEL / "index").mkdir(parents=True, exist_ok=True)  # the session daemon's job
    fd = os.open(domain, os.O_RDONLY | os.O_DIRECTORY)
    return TraceChunk(
        chunk_id=ChunkId(chunk_id), creation_time=1, credentials=SELF, chunk_directory_fd=fd
    )


def _packet(seq: int) -> bytes:
    return bytes([seq % 251]) * PACKET


def _index(seq: int) -> PacketIndex:
    return PacketIndex(
        offset=0,
        packet_size=PACKET * 8,
        content_size=(PACKET - 100) * 8,
        timestamp_begin=1000 * seq,
        timestamp_end=1000 * seq + 999,
        events_discarded=0,
        stream_id=0,
        stream_instance_id=1,
        packet_seq_num=seq,
    )


def _info(n: int) -> PacketInfo:
    return info_of(_index(n))


def _stream(chunk: TraceChunk | None, size: int = 0, count: int = 0, **kw: bool) -> StreamOutput:
    return StreamOutput(
        chunk=chunk,
        channel_path=CHANNEL,
        name="chan_1",
        tracefile_size=size,
        tracefile_count=count,
        with_index=kw.get("with_index", True),
        metadata=kw.get("metadata", False),
    )


def _files(domain: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(domain)): p.read_bytes() for p in sorted(domain.rglob("*")) if p.is_file()
    }


def _seqs(raw: bytes) -> list[tuple[int, int]]:
    return [(e.offset, e.packet_seq_num) for e in parse_index_file(raw).entries]


def test_unlimited_stream_one_file_and_one_index(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path))
    for seq in range(3):
        assert stream.write_packet([_packet(seq)], _index(seq)) == PACKET
    stream.close()
    files = _files(tmp_path)
    assert sorted(files) == [f"{CHANNEL}/chan_1", f"{CHANNEL}/index/chan_1.idx"]
    assert files[f"{CHANNEL}/chan_1"] == b"".join(_packet(s) for s in range(3))
    assert _seqs(files[f"{CHANNEL}/index/chan_1.idx"]) == [(0, 0), (PACKET, 1), (2 * PACKET, 2)]
    for name in files:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == naming.STREAM_FILE_MODE


def test_size_limit_rotates_before_the_packet_that_would_overflow(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path), size=3 * PACKET)
    for seq in range(7):
        stream.write_packet([_packet(seq)], _index(seq))
    stream.close()
    files = _files(tmp_path)
    expected = {0: [0, 1, 2], 1: [3, 4, 5], 2: [6]}
    for n, seqs in expected.items():
        assert files[f"{CHANNEL}/chan_1_{n}"] == b"".join(_packet(s) for s in seqs)
        raw = files[f"{CHANNEL}/index/chan_1_{n}.idx"]
        assert _seqs(raw) == [(i * PACKET, s) for i, s in enumerate(seqs)]
    assert len(files) == 6


def test_count_limit_overwrites_the_oldest_file_and_its_index(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path), size=2 * PACKET, count=2)
    for seq in range(7):
        stream.write_packet([_packet(seq)], _index(seq))
    assert stream.tracefile_count_current == 1
    stream.close()
    files = _files(tmp_path)
    # p0 p1 → _0, p2 p3 → _1, p4 p5 → _0 again (truncated), p6 → _1 again.
    assert files[f"{CHANNEL}/chan_1_0"] == _packet(4) + _packet(5)
    assert files[f"{CHANNEL}/chan_1_1"] == _packet(6)
    assert _seqs(files[f"{CHANNEL}/index/chan_1_0.idx"]) == [(0, 4), (PACKET, 5)]
    assert _seqs(files[f"{CHANNEL}/index/chan_1_1.idx"]) == [(0, 6)]
    assert len(files) == 4


def test_a_packet_larger_than_the_limit_leaves_an_empty_first_file(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path), size=PACKET // 2)
    stream.write_packet([_packet(0)], _index(0))
    stream.close()
    files = _files(tmp_path)
    assert files[f"{CHANNEL}/chan_1_0"] == b""
    assert files[f"{CHANNEL}/index/chan_1_0.idx"] == file_header()
    assert files[f"{CHANNEL}/chan_1_1"] == _packet(0)


def test_parts_are_written_as_one_packet(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path), size=PACKET)
    data = _packet(9)
    view = memoryview(bytearray(data))
    parts: list[bytes | memoryview] = [view[:100], data[100:1000], b"", view[1000:]]
    assert stream.write_packet(parts, _index(9)) == PACKET
    assert stream.write_packet([data[:10], data[10:]], _index(10)) == PACKET
    stream.close()
    files = _files(tmp_path)
    assert files[f"{CHANNEL}/chan_1_0"] == data
    assert files[f"{CHANNEL}/chan_1_1"] == data


def test_metadata_stream_has_no_index_even_when_rotating(tmp_path: Path) -> None:
    stream = StreamOutput(
        chunk=_chunk(tmp_path),
        channel_path=CHANNEL,
        name=naming.METADATA_NAME,
        tracefile_size=PACKET,
        tracefile_count=0,
        with_index=False,
        metadata=True,
    )
    stream.write_packet([b"a" * PACKET])
    stream.write_packet([b"b" * PACKET])
    stream.reset_metadata_file()  # lttng regenerate metadata
    stream.write_packet([b"c" * 10])
    stream.close()
    # The reset empties metadata_1 but, as in C, keeps the file's size count:
    # the next packet overflows it and goes to metadata_2.
    assert _files(tmp_path) == {
        f"{CHANNEL}/metadata_0": b"a" * PACKET,
        f"{CHANNEL}/metadata_1": b"",
        f"{CHANNEL}/metadata_2": b"c" * 10,
    }


def test_snapshot_stream_gets_an_index_file_at_its_first_rotation(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path), size=PACKET, with_index=False)
    stream.write_packet([_packet(0)])
    assert stream.index_file is None
    with pytest.raises(LocalProtocolError):
        stream.write_packet([_packet(1)], _index(1))
    stream.write_packet([_packet(1)])
    assert stream.index_file is not None  # C's create_index=true on rotation
    stream.close()
    files = _files(tmp_path)
    assert f"{CHANNEL}/index/chan_1_0.idx" not in files
    assert files[f"{CHANNEL}/index/chan_1_1.idx"] == file_header()


def test_switch_chunk_reopens_from_index_zero_in_the_new_chunk(tmp_path: Path) -> None:
    old_chunk = _chunk(tmp_path / "a" / "ust", chunk_id=1)
    new_chunk = _chunk(tmp_path / "b" / "ust", chunk_id=2)
    stream = _stream(old_chunk, size=PACKET, count=0)
    for seq in range(3):
        stream.write_packet([_packet(seq)], _index(seq))
    assert stream.tracefile_count_current == 2
    assert old_chunk.refcount == 2
    old_chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    old_chunk.close()  # the session daemon's reference: the stream keeps the chunk alive
    assert not old_chunk.released
    stream.switch_chunk(new_chunk)
    assert old_chunk.released  # its files went with it (DELETE)
    assert _files(tmp_path / "a") == {}
    stream.write_packet([_packet(3)], _index(3))
    stream.close()
    files = _files(tmp_path / "b")
    assert files[f"ust/{CHANNEL}/chan_1_0"] == _packet(3)
    assert _seqs(files[f"ust/{CHANNEL}/index/chan_1_0.idx"]) == [(0, 3)]
    assert new_chunk.refcount == 1


def test_switch_to_the_same_chunk_leaves_the_stream_without_output(tmp_path: Path) -> None:
    chunk = _chunk(tmp_path)
    stream = _stream(chunk)
    stream.switch_chunk(chunk)
    assert stream.chunk is None and stream.out_fd is None and chunk.refcount == 1
    with pytest.raises(LocalProtocolError):
        stream.write_packet([_packet(0)])
    stream.switch_chunk(None)
    stream.close()


def test_stream_without_chunk_opens_nothing(tmp_path: Path) -> None:
    stream = _stream(None)
    assert stream.out_fd is None
    with pytest.raises(LocalProtocolError):
        stream.reset_metadata_file()
    chunk = _chunk(tmp_path)
    chunk.put()
    with pytest.raises(LocalProtocolError):
        _stream(chunk)


def test_snapshots_continue_the_tracefile_numbering(tmp_path: Path) -> None:
    stream = _stream(None, size=2 * PACKET, with_index=False)
    first = _chunk(tmp_path / "snapshot-1-0" / "ust", chunk_id=1)
    stream.open_in_chunk(first, with_index=False)
    # A snapshot writes no index entry (lttng_ustconsumer_take_snapshot writes the
    # sub-buffers directly), but a rotation still creates an index file.
    for seq in range(3):  # _0: p0 p1, then a rotation: _1: p2
        stream.write_packet([_packet(seq)])
    stream.close()
    first.put()
    assert first.released
    second = _chunk(tmp_path / "snapshot-1-1" / "ust", chunk_id=2)
    stream.open_in_chunk(second, with_index=False)
    with pytest.raises(LocalProtocolError):
        stream.open_in_chunk(second, with_index=False)
    assert stream.index_file is None  # closed with the first snapshot, not reopened
    for seq in range(3, 6):  # _1 again (truncated): p3 p4, then _2: p5
        stream.write_packet([_packet(seq)])
    stream.close()
    second.put()
    one = _files(tmp_path / "snapshot-1-0")
    two = _files(tmp_path / "snapshot-1-1")
    assert sorted(one) == [
        f"ust/{CHANNEL}/chan_1_0",
        f"ust/{CHANNEL}/chan_1_1",
        f"ust/{CHANNEL}/index/chan_1_1.idx",
    ]
    assert one[f"ust/{CHANNEL}/index/chan_1_1.idx"] == file_header()
    assert sorted(two) == [
        f"ust/{CHANNEL}/chan_1_1",
        f"ust/{CHANNEL}/chan_1_2",
        f"ust/{CHANNEL}/index/chan_1_2.idx",
    ]
    assert two[f"ust/{CHANNEL}/chan_1_1"] == _packet(3) + _packet(4)
    assert two[f"ust/{CHANNEL}/index/chan_1_2.idx"] == file_header()


def test_write_packets_refuses_what_write_packet_refuses(tmp_path: Path) -> None:
    stream = _stream(_chunk(tmp_path), with_index=False)
    with pytest.raises(LocalProtocolError, match="no index file"):
        stream.write_packets([_packet(0)], [_info(0)])
    assert stream.write_packets([_packet(0), _packet(1)]) == 2 * PACKET
    stream.close()
    with pytest.raises(LocalProtocolError, match="no output file"):
        stream.write_packets([_packet(2)])
    indexed = _stream(_chunk(tmp_path / "other"))
    with pytest.raises(LocalProtocolError, match="2 index entries for 1 packets"):
        indexed.write_packets([_packet(0)], [_info(0), _info(1)])
    indexed.close()


@pytest.mark.parametrize("step", [1, 7, PACKET - 1, PACKET + 5])
def test_short_writes_are_completed_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    # A writev that takes at most `step` bytes a call (a file system or a signal can
    # cut one short): the rest follows, nothing doubled or skipped.
    real = os.writev
    calls = []

    def short_writev(fd: int, buffers: list[bytes | memoryview]) -> int:
        data = b"".join(bytes(b) for b in buffers)
        calls.append(len(data))
        return real(fd, [data[:step]])

    monkeypatch.setattr("ustref.output.stream.os.writev", short_writev)
    stream = _stream(_chunk(tmp_path), with_index=False)
    data = memoryview(_packet(1) + _packet(2))
    packets: list[bytes | memoryview] = [data[:PACKET], b"", data[PACKET:]]
    assert stream.write_packets(packets) == 2 * PACKET
    stream.close()
    assert _files(tmp_path)[f"{CHANNEL}/chan_1"] == bytes(data)
    assert len(calls) == -(-2 * PACKET // step)


def test_a_write_that_makes_no_progress_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ustref.output.stream.os.writev", lambda fd, buffers: 0)
    stream = _stream(_chunk(tmp_path), with_index=False)
    with pytest.raises(OutputError, match="no progress after 0 of"):
        stream.write_packets([_packet(0)])
    stream.close()
