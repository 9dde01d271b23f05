"""ustref's local writers against the real C consumer: same packets in, same files out.

Real sessions (lttng-sessiond 2.13.9 + lttng-consumerd) trace the sample app
with ``--tracefile-size``/``--tracefile-count`` limits. The packets are read
back from the C consumer's stream files (sizes and index fields from the CTF
packet headers, as the C consumer's ust-ctl getters read them) and written
again, in sequence-number order, through :class:`ustref.output.StreamOutput`
into user-mode chunks, one per C chunk, moving the streams from chunk to chunk
with :meth:`~ustref.output.StreamOutput.switch_chunk` as a session rotation
does. The resulting trees must hold the same file names, the same bytes
(stream, index and metadata files) and the same file modes as the C
consumer's; the archive names must be what :func:`ustref.output.naming.chunk_name`
makes of their ids and dates.

Packets the C consumer overwrote (count limit) are gone from its files; their
number is known from the sequence numbers and, with 4 KiB sub-buffers, their
size too, so stand-ins of that size are written in their place: rotation
depends only on sizes, and the files they land in are truncated later, as in C.
"""

from __future__ import annotations

import calendar
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ustref.ids import ChunkId
from ustref.lttng import SessionDaemon
from ustref.output import naming
from ustref.output.chunk import Credentials, TraceChunk
from ustref.output.packets import Packet, split_data_file, split_metadata_file
from ustref.output.stream import StreamOutput

pytestmark = pytest.mark.lttng

SUBBUF = 4096
#: channel → (tracefile size, tracefile count)
CHANNELS = {"lim": (10_000, 3), "size": (4 * SUBBUF, 0), "plain": (0, 0)}
EVENTS, USLEEP = 3000, 20


@pytest.fixture
def sessiond(tmp_path: Path) -> Iterator[SessionDaemon]:
    """The shared fixture's daemon, waiting longer for the machine-wide lock
    (several sessions of helpers queue on it)."""
    with SessionDaemon(workdir=tmp_path / "sessiond", lock_timeout=3600) as daemon:
        yield daemon


def _create(sessiond: SessionDaemon, session: str, trace: Path, buffers: str) -> None:
    sessiond.run_lttng("create", session, f"--output={trace}")
    for channel, (size, count) in CHANNELS.items():
        limits = [f"--tracefile-size={size}"] if size else []
        limits += [f"--tracefile-count={count}"] if count else []
        sessiond.run_lttng(
            "enable-channel",
            "--userspace",
            f"--session={session}",
            buffers,
            f"--subbuf-size={SUBBUF}",
            "--num-subbuf=8",
            *limits,
            channel,
        )
        sessiond.run_lttng(
            "enable-event", "--userspace", f"--session={session}", "-c", channel, "-a"
        )


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(root)): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _output(
    chunk: TraceChunk | None, channel_path: str, name: str, *, with_index: bool
) -> StreamOutput:
    """A StreamOutput as the C consumer sets one up for stream ``name`` (limits by channel)."""
    metadata = name == naming.METADATA_NAME
    size, count = (0, 0) if metadata else CHANNELS[name.split("_", 1)[0]]
    return StreamOutput(
        chunk=chunk,
        channel_path=channel_path,
        name=name,
        tracefile_size=size,
        tracefile_count=count,
        with_index=with_index and not metadata,
        metadata=metadata,
    )


@dataclass
class _Replayed:
    """One stream's writer and where its sequence numbers stand."""

    output: StreamOutput
    next_seq: int = 0


@dataclass
class _Replay:
    """Writes the C consumer's packets again, chunk after chunk."""

    streams: dict[tuple[str, str], _Replayed] = field(default_factory=dict)
    stand_ins: dict[str, int] = field(default_factory=dict)
    """Per channel, packets written in place of ones the C consumer overwrote."""

    def chunk(self, c_ust: Path, mine_ust: Path, chunk_id: int, *, snapshot: bool = False) -> None:
        """Replay one C chunk (its ``ust`` directory) into ``mine_ust``; a
        ``snapshot`` chunk is written as SNAPSHOT_CHANNEL writes it."""
        channel_dirs = sorted({p.parent for p in c_ust.rglob("metadata*") if p.is_file()})
        assert channel_dirs, f"no channel directory under {c_ust}"
        for channel_dir in channel_dirs:  # the session daemon's mkdir
            (mine_ust / channel_dir.relative_to(c_ust) / naming.INDEX_DIR).mkdir(parents=True)
        chunk = TraceChunk(
            chunk_id=ChunkId(chunk_id),
            creation_time=int(time.time()),
            credentials=Credentials(os.geteuid(), os.getegid()),
            chunk_directory_fd=os.open(mine_ust, os.O_RDONLY | os.O_DIRECTORY),
        )
        for channel_dir in channel_dirs:
            channel_path = str(channel_dir.relative_to(c_ust))
            by_stream: dict[str, list[Path]] = {}
            for path in channel_dir.iterdir():
                if path.is_file():
                    channel = path.name.split("_", 1)[0]
                    size = CHANNELS[channel][0] if channel in CHANNELS else 0
                    stem = path.name.rsplit("_", 1)[0] if size else path.name
                    by_stream.setdefault(stem, []).append(path)
            for name, paths in sorted(by_stream.items()):
                if snapshot:
                    self._snapshot_stream(chunk, channel_path, name, paths)
                else:
                    self._stream(chunk, channel_path, name, paths)
        chunk.close()  # the session daemon's reference; the streams keep theirs

    def _stream(self, chunk: TraceChunk, channel_path: str, name: str, paths: list[Path]) -> None:
        metadata = name == naming.METADATA_NAME
        channel = name.split("_", 1)[0]
        count = 0 if metadata else CHANNELS[channel][1]
        replayed = self.streams.get((channel_path, name))
        if replayed is None:
            output = _output(chunk, channel_path, name, with_index=True)
            replayed = self.streams[(channel_path, name)] = _Replayed(output)
        else:
            replayed.output.switch_chunk(chunk)  # lttng_consumer_rotate_stream
        if metadata:
            (path,) = paths
            for packet in split_metadata_file(path.read_bytes()):
                replayed.output.write_packet([packet.data])
            return
        packets = _sorted_packets(paths)
        seqs = [p.index.packet_seq_num for p in packets if p.index]
        first = seqs[0] if seqs else replayed.next_seq  # no packet: an idle CPU
        assert seqs == list(range(first, first + len(seqs))), f"{name}: sequence gaps"
        lost = first - replayed.next_seq
        assert lost >= 0
        if not count:
            assert lost == 0, f"{name}: nothing may be lost without a count limit"
        for _ in range(lost):
            replayed.output.write_packet([bytes(SUBBUF)])
        self.stand_ins[channel] = self.stand_ins.get(channel, 0) + lost
        for packet in packets:
            replayed.output.write_packet([packet.data], packet.index)
        replayed.next_seq = first + len(seqs)

    def _snapshot_stream(
        self, chunk: TraceChunk, channel_path: str, name: str, paths: list[Path]
    ) -> None:
        """``snapshot_channel``: the channel's long-lived stream reopened in the snapshot
        chunk without an index, its packets written, closed; metadata through a
        fresh stream (``lttng_ustconsumer_snapshot_metadata``). No index entries."""
        if name == naming.METADATA_NAME:
            (path,) = paths
            fresh = _output(chunk, channel_path, name, with_index=False)
            for packet in split_metadata_file(path.read_bytes()):
                fresh.write_packet([packet.data])
            fresh.close()
            return
        assert CHANNELS[name.split("_", 1)[0]][1] == 0, "no count limit: nothing lost"
        replayed = self.streams.get((channel_path, name))
        if replayed is None:
            output = _output(None, channel_path, name, with_index=False)
            replayed = self.streams[(channel_path, name)] = _Replayed(output)
        replayed.output.open_in_chunk(chunk, with_index=False)
        packets = _sorted_packets(paths)
        seqs = [p.index.packet_seq_num for p in packets if p.index]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True
        for packet in packets:
            replayed.output.write_packet([packet.data])
        replayed.output.close()

    def close(self) -> None:
        """Close every stream; the last chunk goes with the last of them."""
        chunks = {id(r.output.chunk): r.output.chunk for r in self.streams.values()}
        for replayed in self.streams.values():
            replayed.output.close()
        assert all(chunk is None or chunk.released for chunk in chunks.values())


def _sorted_packets(paths: list[Path]) -> list[Packet]:
    packets = [p for path in paths for p in split_data_file(path.read_bytes())]
    assert all(len(p.data) == SUBBUF for p in packets)
    return sorted(packets, key=lambda p: p.index.packet_seq_num if p.index else -1)


def _assert_same_trees(c_root: Path, mine_root: Path, what: str) -> dict[str, tuple[bytes, int]]:
    c_tree, mine_tree = _tree(c_root), _tree(mine_root)
    assert sorted(mine_tree) == sorted(c_tree), what
    for name, (data, mode) in c_tree.items():
        assert mine_tree[name][0] == data, f"{what}: {name} differs"
        assert mine_tree[name][1] == mode, f"{what}: {name} mode"
    return c_tree


def _suffixes(tree: dict[str, tuple[bytes, int]]) -> set[tuple[str, str]]:
    """(channel, last ``_`` part) of every file name: ``("lim", "2")`` for ``lim_0_2``."""
    return {(name.split("/")[-1].split("_")[0], name.rsplit("_", 1)[-1]) for name in tree}


def test_stream_output_reproduces_the_c_consumers_files(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tracef_app")
    outputs = {"uid": tmp_path / "uid-trace", "pid": tmp_path / "pid-trace"}
    for session, trace in outputs.items():
        _create(sessiond, session, trace, f"--buffers-{session}")
        sessiond.run_lttng("start", session)
    try:
        sessiond.run(app, str(EVENTS), str(USLEEP))
    finally:
        for session in outputs:
            sessiond.run_lttng("stop", session)  # waits until the data is flushed
            sessiond.run_lttng("destroy", session)

    for session, trace in outputs.items():
        mine = tmp_path / f"mine-{session}"
        replay = _Replay()
        replay.chunk(trace / naming.UST_TRACE_DIR, mine / naming.UST_TRACE_DIR, 0)
        replay.close()
        c_tree = _assert_same_trees(trace, mine, session)
        # The run exercised what it claims: the count limit wrapped (packets were
        # overwritten), files of every kind exist.
        assert replay.stand_ins["lim"] > 0, replay.stand_ins
        assert replay.stand_ins["size"] == replay.stand_ins["plain"] == 0
        suffixes = _suffixes(c_tree)
        assert {("lim", "0"), ("lim", "1"), ("lim", "2")} <= suffixes
        assert ("lim", "3") not in suffixes
        # the size limit rotated the file at least once (how many times depends on
        # how much the C consumer kept: a loaded machine makes it discard more)
        assert ("size", "1") in suffixes
        assert any(name.endswith("/index/plain_0.idx") for name in c_tree)
        prefix = "ust/pid/tracef_app-" if session == "pid" else f"ust/uid/{os.geteuid()}/64-bit/"
        assert all(name.startswith(prefix) for name in c_tree)


_ISO = r"\d{8}T\d{6}[+-]\d{4}"
_ARCHIVE = re.compile(rf"^({_ISO})-({_ISO})-(\d+)$")


def _epoch(iso: str) -> int:
    parsed = time.strptime(iso, "%Y%m%dT%H%M%S%z")
    return calendar.timegm(parsed) - (parsed.tm_gmtoff or 0)


def test_rotations_archive_and_reopen_as_stream_output_does(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tracef_app")
    trace = tmp_path / "trace"
    _create(sessiond, "rot", trace, "--buffers-uid")
    sessiond.run_lttng("start", "rot")
    try:
        for events in (EVENTS, EVENTS // 2, 200):
            sessiond.run(app, str(events), str(USLEEP))
            sessiond.run_lttng("rotate", "rot")  # waits until the rotation completes
        sessiond.run(app, "100", str(USLEEP))
    finally:
        sessiond.run_lttng("stop", "rot")
        sessiond.run_lttng("destroy", "rot")  # archives the last chunk too

    archives = sorted(
        (trace / naming.ARCHIVES_DIR).iterdir(), key=lambda p: int(p.name.rsplit("-", 1)[1])
    )
    assert sorted(p.name for p in trace.iterdir()) == [naming.ARCHIVES_DIR]
    ids = []
    for archive in archives:
        match = _ARCHIVE.match(archive.name)
        assert match is not None, archive.name
        begin, end, chunk_id = _epoch(match[1]), _epoch(match[2]), int(match[3])
        assert naming.chunk_name(ChunkId(chunk_id), begin, end) == archive.name
        ids.append(chunk_id)
    assert ids == list(range(len(archives))) and len(ids) == 4

    mine = tmp_path / "mine"
    replay = _Replay()
    for archive in archives:
        replay.chunk(
            archive / naming.UST_TRACE_DIR,
            mine / naming.ARCHIVES_DIR / archive.name / naming.UST_TRACE_DIR,
            int(archive.name.rsplit("-", 1)[1]),
        )
    replay.close()
    c_tree = _assert_same_trees(trace, mine, "rotation")
    # Every chunk restarted its tracefiles at _0 and has its own metadata.
    for archive in archives:
        channel = f"{naming.ARCHIVES_DIR}/{archive.name}/ust/uid/{os.geteuid()}/64-bit"
        assert f"{channel}/metadata" in c_tree
        assert any(name.startswith(f"{channel}/lim_") and name.endswith("_0") for name in c_tree)
    assert replay.stand_ins["lim"] > 0, replay.stand_ins


def test_snapshots_reopen_streams_as_stream_output_does(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tracef_app")
    trace = tmp_path / "snapshots"
    sessiond.run_lttng("create", "snap", "--snapshot", f"--output={trace}")
    for channel in ("size", "plain"):
        size = CHANNELS[channel][0]
        sessiond.run_lttng(
            "enable-channel",
            "--userspace",
            "--session=snap",
            f"--subbuf-size={SUBBUF}",
            "--num-subbuf=8",
            *([f"--tracefile-size={size}"] if size else []),
            channel,
        )
        sessiond.run_lttng("enable-event", "--userspace", "--session=snap", "-c", channel, "-a")
    sessiond.run_lttng("start", "snap")
    try:
        for _ in range(2):
            sessiond.run(app, str(EVENTS), str(USLEEP))
            sessiond.run_lttng("snapshot", "record", "--session=snap")
    finally:
        sessiond.run_lttng("stop", "snap")
        sessiond.run_lttng("destroy", "snap")

    snapshots = sorted(trace.iterdir(), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    assert len(snapshots) == 2, [p.name for p in snapshots]
    mine = tmp_path / "mine"
    replay = _Replay()
    for n, snapshot in enumerate(snapshots):
        replay.chunk(
            snapshot / naming.UST_TRACE_DIR,
            mine / snapshot.name / naming.UST_TRACE_DIR,
            n + 1,
            snapshot=True,
        )
    replay.close()
    c_tree = _assert_same_trees(trace, mine, "snapshots")
    # The quirk this mirrors: the second snapshot of a busy stream does not start at _0.
    second = {name.rsplit("/", 1)[-1] for name in c_tree if name.startswith(snapshots[1].name)}
    busy = {name.rsplit("_", 1)[0] for name in second if name.startswith("size_")}
    assert any(f"{stem}_0" not in second for stem in busy), sorted(second)
    assert not any(name.endswith(".idx") and "plain_" in name for name in c_tree)
