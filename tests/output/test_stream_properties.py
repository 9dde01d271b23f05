"""Properties of tracefile rotation over random packet sizes and limits.

Whatever the sizes, the surviving files must be consistent with their indexes,
respect the limits as C defines them, and hold the most recent packets.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ustref.ids import ChunkId
from ustref.output.chunk import Credentials, TraceChunk
from ustref.output.index import PacketIndex, parse_index_file
from ustref.output.stream import StreamOutput
from ustref.ring.drain import PacketInfo

SELF = Credentials(os.geteuid(), os.getegid())


def _info(seq: int, size: int) -> PacketInfo:
    return PacketInfo(
        packet_size=size * 8,
        content_size=size * 8,
        timestamp_begin=seq,
        timestamp_end=seq,
        events_discarded=0,
        sequence_number=seq,
        stream_id=0,
        stream_instance_id=0,
    )


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=40),
    limit=st.integers(0, 700),
    count=st.integers(0, 4),
)
def test_rotation_properties(sizes: list[int], limit: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ch" / "index").mkdir(parents=True)
        chunk = TraceChunk(
            chunk_id=ChunkId(1),
            creation_time=1,
            credentials=SELF,
            chunk_directory_fd=os.open(root, os.O_RDONLY | os.O_DIRECTORY),
        )
        stream = StreamOutput(
            chunk=chunk,
            channel_path="ch",
            name="s_0",
            tracefile_size=limit,
            tracefile_count=count,
            with_index=True,
        )
        for seq, size in enumerate(sizes):
            stream.write_packet([bytes([seq % 256]) * size], PacketIndex.populate(_info(seq, size)))
        stream.close()
        chunk.put()

        data_files = sorted(p for p in (root / "ch").iterdir() if p.is_file())
        index_files = sorted((root / "ch" / "index").iterdir())
        assert [p.name + ".idx" for p in data_files] == [p.name for p in index_files]
        if not limit:
            assert [p.name for p in data_files] == ["s_0"]
        elif count:
            assert len(data_files) <= count
        survivors: list[int] = []
        for data_file, index_file in zip(data_files, index_files, strict=True):
            data = data_file.read_bytes()
            entries = parse_index_file(index_file.read_bytes()).entries
            offset = 0
            for entry in entries:
                seq, size = entry.packet_seq_num, sizes[entry.packet_seq_num]
                assert entry.offset == offset
                assert data[offset : offset + size] == bytes([seq % 256]) * size
                offset += size
            assert offset == len(data)  # the index covers the whole file
            if limit and len(entries) > 1:
                assert len(data) <= limit  # only a lone packet may exceed the limit
            survivors += [entry.packet_seq_num for entry in entries]
        # What survives is the most recent packets, each once, in the order written.
        survivors.sort()
        assert survivors == list(range(len(sizes) - len(survivors), len(sizes)))
        if not count:
            assert len(survivors) == len(sizes)


def _write_all(
    root: Path, sizes: list[int], batches: list[int], limit: int, count: int, *, batched: bool
) -> dict[str, bytes]:
    """Write packets of ``sizes`` one by one, or by batches of the lengths in ``batches``
    (cycled); return every file written, by path."""
    (root / "ch" / "index").mkdir(parents=True)
    chunk = TraceChunk(
        chunk_id=ChunkId(1),
        creation_time=1,
        credentials=SELF,
        chunk_directory_fd=os.open(root, os.O_RDONLY | os.O_DIRECTORY),
    )
    stream = StreamOutput(
        chunk=chunk,
        channel_path="ch",
        name="s_0",
        tracefile_size=limit,
        tracefile_count=count,
        with_index=True,
    )
    packets = [bytes([seq % 256]) * size for seq, size in enumerate(sizes)]
    infos = [_info(seq, size) for seq, size in enumerate(sizes)]
    written = 0
    if batched:
        at = turn = 0
        while at < len(packets):
            stop = at + batches[turn % len(batches)]
            view = [memoryview(packet) for packet in packets[at:stop]]
            written += stream.write_packets(view, infos[at:stop])
            at, turn = stop, turn + 1
    else:
        for packet, info in zip(packets, infos, strict=True):
            written += stream.write_packet([packet], PacketIndex.populate(info))
    assert written == sum(sizes) == stream.output_written
    stream.close()
    chunk.put()
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=40),
    batches=st.lists(st.integers(1, 9), min_size=1, max_size=5),
    limit=st.integers(0, 700),
    count=st.integers(0, 4),
)
def test_batched_writes_make_the_files_of_one_packet_at_a_time(
    sizes: list[int], batches: list[int], limit: int, count: int
) -> None:
    """The consumer's batched drain (``write_packets``) leaves the same stream and index
    files, rotations included, as ``write_packet`` called for each packet in turn."""
    with tempfile.TemporaryDirectory() as tmp:
        one = _write_all(Path(tmp) / "one", sizes, batches, limit, count, batched=False)
        many = _write_all(Path(tmp) / "many", sizes, batches, limit, count, batched=True)
    assert many == one
