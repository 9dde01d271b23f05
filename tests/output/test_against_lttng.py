"""ustref's local writers against the real C consumer: same packets in, same files out.

A real session (lttng-sessiond 2.13.9 + lttng-consumerd) traces the sample app
with ``--tracefile-size``/``--tracefile-count`` limits, per-UID and per-PID
buffers side by side. The packets are read back from the C consumer's stream
files (sizes and index fields from the CTF packet headers, as the C consumer's
ust-ctl getters read them) and written again, in sequence-number order, through
:class:`ustref.output.StreamOutput` into a user-mode chunk. The resulting tree
must hold the same file names, the same bytes (stream, index and metadata
files) and the same file modes as the C consumer's.

Packets the C consumer overwrote (count limit) are gone from its files; their
number is known from the first surviving sequence number and, with 4 KiB
sub-buffers, their size too, so stand-ins of that size are written first:
rotation depends only on sizes, and the files they land in are truncated
later, as in C.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ustref.ids import ChunkId
from ustref.lttng import SessionDaemon
from ustref.output import naming
from ustref.output.chunk import Credentials, TraceChunk
from ustref.output.packets import split_data_file, split_metadata_file
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


def _trace_side_by_side(sessiond: SessionDaemon, app: Path, out: Path) -> dict[str, Path]:
    outputs = {"uid": out / "uid-trace", "pid": out / "pid-trace"}
    for session, trace in outputs.items():
        buffers = "--buffers-uid" if session == "uid" else "--buffers-pid"
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
        sessiond.run_lttng("start", session)
    try:
        sessiond.run(app, str(EVENTS), str(USLEEP))
    finally:
        for session in outputs:
            sessiond.run_lttng("stop", session)  # waits until the data is flushed
            sessiond.run_lttng("destroy", session)
    return outputs


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(root)): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _stem(file_name: str, size: int) -> str:
    """The stream name of a stream file: without ``_<count>`` under a size limit."""
    return file_name.rsplit("_", 1)[0] if size else file_name


def _replay(c_ust: Path, mine_ust: Path) -> dict[str, int]:
    """Write every C stream's packets through StreamOutput.

    Returns, per channel, how many stand-ins were written for overwritten packets.
    """
    stand_ins: dict[str, int] = {}
    channel_dirs = sorted({p.parent for p in c_ust.rglob("metadata*") if p.is_file()})
    assert channel_dirs, f"no channel directory under {c_ust}"
    for channel_dir in channel_dirs:
        (mine_ust / channel_dir.relative_to(c_ust) / naming.INDEX_DIR).mkdir(parents=True)
    chunk = TraceChunk(
        chunk_id=ChunkId(0),
        creation_time=int(time.time()),
        credentials=Credentials(os.geteuid(), os.getegid()),
        chunk_directory_fd=os.open(mine_ust, os.O_RDONLY | os.O_DIRECTORY),
    )
    for channel_dir in channel_dirs:
        channel_path = str(channel_dir.relative_to(c_ust))
        streams: dict[str, list[Path]] = {}
        for path in channel_dir.iterdir():
            if path.is_file():
                streams.setdefault(path.name.split("_", 1)[0], []).append(path)
        for channel, files in sorted(streams.items()):
            if channel == naming.METADATA_NAME:
                (path,) = files
                out = StreamOutput(
                    chunk=chunk,
                    channel_path=channel_path,
                    name=naming.METADATA_NAME,
                    tracefile_size=0,
                    tracefile_count=0,
                    with_index=False,
                    metadata=True,
                )
                for packet in split_metadata_file(path.read_bytes()):
                    out.write_packet([packet.data])
                out.close()
                continue
            size, count = CHANNELS[channel]
            by_stream: dict[str, list[Path]] = {}
            for path in files:
                by_stream.setdefault(_stem(path.name, size), []).append(path)
            for name, paths in sorted(by_stream.items()):
                packets = sorted(
                    (p for path in paths for p in split_data_file(path.read_bytes())),
                    key=lambda p: p.index.packet_seq_num if p.index else -1,
                )
                assert all(len(p.data) == SUBBUF for p in packets)
                seqs = [p.index.packet_seq_num for p in packets if p.index]
                first = seqs[0] if seqs else 0  # a CPU that never ran the app: empty file
                assert seqs == list(range(first, first + len(seqs))), f"{name}: seq gaps"
                if not count:
                    assert first == 0, f"{name}: nothing may be lost without a count limit"
                out = StreamOutput(
                    chunk=chunk,
                    channel_path=channel_path,
                    name=name,
                    tracefile_size=size,
                    tracefile_count=count,
                    with_index=True,
                )
                for _ in range(first):  # stand-ins for the packets C overwrote
                    out.write_packet([bytes(SUBBUF)])
                stand_ins[channel] = stand_ins.get(channel, 0) + first
                for packet in packets:
                    out.write_packet([packet.data], packet.index)
                out.close()
    chunk.close()
    assert chunk.released
    return stand_ins


def test_stream_output_reproduces_the_c_consumers_files(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tracef_app")
    outputs = _trace_side_by_side(sessiond, app, tmp_path)
    for session, trace in outputs.items():
        c_ust = trace / naming.UST_TRACE_DIR
        mine_ust = tmp_path / f"mine-{session}" / naming.UST_TRACE_DIR
        mine_ust.mkdir(parents=True)
        stand_ins = _replay(c_ust, mine_ust)
        c_tree, mine_tree = _tree(c_ust), _tree(mine_ust)
        assert sorted(mine_tree) == sorted(c_tree), session
        for name, (data, mode) in c_tree.items():
            assert mine_tree[name][0] == data, f"{session}: {name} differs"
            assert mine_tree[name][1] == mode, f"{session}: {name} mode"
        # The run must have exercised what it claims: the count limit wrapped around
        # (packets were overwritten), files of every kind exist.
        assert stand_ins["lim"] > 0, stand_ins
        assert stand_ins["size"] == stand_ins["plain"] == 0
        suffixes = {(name.split("/")[-1].split("_")[0], name.rsplit("_", 1)[-1]) for name in c_tree}
        assert {("lim", "0"), ("lim", "1"), ("lim", "2")} <= suffixes
        assert ("lim", "3") not in suffixes
        assert ("size", "3") in suffixes
        assert any(name.endswith("/index/plain_0.idx") for name in c_tree)
        if session == "pid":
            assert all(name.startswith("pid/tracef_app-") for name in c_tree)
        else:
            assert all(name.startswith(f"uid/{os.geteuid()}/64-bit/") for name in c_tree)
