"""A session rotation as both daemons play it: owner chunks (session daemon) around
user chunks (consumer), on the same directories.

The order is the session daemon's (session.c ``session_create_new_trace_chunk`` /
``session_close_trace_chunk``, cmd.c rotation) with the consumer's steps
(CREATE_TRACE_CHUNK, stream rotation, CLOSE_TRACE_CHUNK) in between; the
consumer keeps writing through directory fds while its directories are renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

from ustref.ids import ChunkId, SessionId
from ustref.output import naming
from ustref.output.chunk import ChunkRegistry, CloseCommand, Credentials, TraceChunk
from ustref.output.index import file_header
from ustref.output.stream import StreamOutput

SELF = Credentials(os.geteuid(), os.getegid())
CHANNEL = naming.ust_uid_path(os.geteuid(), 64)
T0, T1, T2 = 1_800_000_000, 1_800_000_100, 1_800_000_200
MOVE = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED
DELETE = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE


def _sessiond_chunk(session: Path, chunk_id: int, when: int, path: str | None) -> TraceChunk:
    """``session_create_new_trace_chunk``: owner chunk + the channel's index directory."""
    chunk = TraceChunk(chunk_id=ChunkId(chunk_id), creation_time=when, credentials=SELF, path=path)
    chunk.set_as_owner(os.open(session, os.O_RDONLY | os.O_DIRECTORY))
    chunk.create_subdirectory(f"{naming.UST_TRACE_DIR}/{CHANNEL}/{naming.INDEX_DIR}")
    return chunk


def _consumer_chunk(owner: TraceChunk, registry: ChunkRegistry) -> TraceChunk:
    """CREATE_TRACE_CHUNK: the consumer gets the ``ust`` directory fd of the owner's chunk."""
    assert owner.chunk_directory_fd is not None
    domain_fd = os.open(
        naming.UST_TRACE_DIR, os.O_RDONLY | os.O_DIRECTORY, dir_fd=owner.chunk_directory_fd
    )
    assert owner.chunk_id is not None and owner.creation_time is not None
    chunk = TraceChunk(
        chunk_id=owner.chunk_id,
        creation_time=owner.creation_time,
        credentials=SELF,
        chunk_directory_fd=domain_fd,
    )
    return registry.publish(SessionId(1), chunk)


def _close_on_consumer(
    registry: ChunkRegistry, chunk_id: int, when: int, command: CloseCommand
) -> str:
    chunk = registry.find(SessionId(1), ChunkId(chunk_id))
    assert chunk is not None
    chunk.set_close_timestamp(when)
    chunk.close_command = command
    return chunk.close()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _rotate(
    session: Path, registry: ChunkRegistry, when: int
) -> tuple[TraceChunk, TraceChunk, StreamOutput]:
    """lttng start (chunk 0 in the session directory, one packet written), then the
    first half of a rotation: the current chunk moves aside to .tmp_old_chunk, the
    next one is made in .tmp_new_chunk at ``when`` and the stream moves to it."""
    owner0 = _sessiond_chunk(session, 0, T0, path="")
    stream = StreamOutput(
        chunk=_consumer_chunk(owner0, registry),
        channel_path=CHANNEL,
        name="chan_0",
        tracefile_size=0,
        tracefile_count=0,
        with_index=True,
    )
    stream.write_packet([b"A" * 64])
    owner0.rename_path(naming.CHUNK_TMP_OLD_DIR)
    owner1 = _sessiond_chunk(session, 1, when, path=naming.CHUNK_TMP_NEW_DIR)
    stream.switch_chunk(_consumer_chunk(owner1, registry))
    return owner0, owner1, stream


def test_rotate_archives_the_old_chunk_and_names_the_new_one(tmp_path: Path) -> None:
    registry = ChunkRegistry()
    owner0, owner1, stream = _rotate(tmp_path, registry, T1)
    stream.write_packet([b"B" * 64])  # the consumer writes on while the daemon renames
    assert _close_on_consumer(registry, 0, T1, MOVE) == ""
    assert not registry.exists(SessionId(1), ChunkId(0))  # no stream holds it any more
    owner1.rename_path(None)  # session_close_trace_chunk: the new chunk takes its name
    owner0.set_close_timestamp(T1)
    owner0.close_command = MOVE
    owner0.close()
    stream.write_packet([b"C" * 64])
    stream.close()

    old = f"{naming.ARCHIVES_DIR}/{naming.chunk_name(ChunkId(0), T0, T1)}/ust/{CHANNEL}"
    new = f"{naming.chunk_name(ChunkId(1), T1)}/ust/{CHANNEL}"
    assert _tree(tmp_path) == {
        f"{old}/chan_0": b"A" * 64,
        f"{old}/index/chan_0.idx": file_header(),  # no entries given: the header alone
        f"{new}/chan_0": b"B" * 64 + b"C" * 64,
        f"{new}/index/chan_0.idx": file_header(),
    }
    assert registry.exists(SessionId(1), ChunkId(1))
    owner1.put()


def test_clear_deletes_the_old_chunks_files(tmp_path: Path) -> None:
    registry = ChunkRegistry()
    # lttng clear of a never-rotated session: the next chunk goes back to the session directory.
    owner0, owner1, stream = _rotate(tmp_path, registry, T2)
    _close_on_consumer(registry, 0, T2, DELETE)
    owner1.rename_path("")
    owner0.close_command = DELETE
    owner0.close()
    stream.write_packet([b"B" * 64])
    stream.close()
    tree = _tree(tmp_path)
    assert sorted(tree) == [f"ust/{CHANNEL}/chan_0", f"ust/{CHANNEL}/index/chan_0.idx"]
    assert tree[f"ust/{CHANNEL}/chan_0"] == b"B" * 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ust"]
    owner1.put()
