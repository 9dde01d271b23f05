"""Trace chunks and their registry (trace-chunk.c @ v2.13.9): modes, files, close commands."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ustref.errors import OutputError
from ustref.ids import ChunkId, SessionId
from ustref.output import naming
from ustref.output.chunk import ChunkMode, ChunkRegistry, CloseCommand, Credentials, TraceChunk

SELF = Credentials(os.geteuid(), os.getegid())
BEGIN, END = 1_800_000_000, 1_800_000_060
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _dirfd(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def _user_chunk(domain: Path, chunk_id: int = 1, **kwargs: object) -> TraceChunk:
    return TraceChunk(
        chunk_id=ChunkId(chunk_id),
        creation_time=BEGIN,
        credentials=SELF,
        chunk_directory_fd=_dirfd(domain),
        **kwargs,  # type: ignore[arg-type]
    )


def _write(chunk: TraceChunk, path: str, data: bytes = b"x") -> None:
    fd = chunk.open_file(path, FLAGS, naming.STREAM_FILE_MODE)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_names_follow_lttng_trace_chunk_create() -> None:
    assert TraceChunk(chunk_id=ChunkId(0), creation_time=BEGIN).name is None
    chunk = TraceChunk(chunk_id=ChunkId(7), creation_time=BEGIN)
    assert chunk.name == naming.chunk_name(ChunkId(7), BEGIN)
    chunk.set_close_timestamp(END)
    assert chunk.name == naming.chunk_name(ChunkId(7), BEGIN, END)
    named = TraceChunk(chunk_id=ChunkId(7), creation_time=BEGIN, override_name="snap")
    named.set_close_timestamp(END)
    assert (named.name, named.path) == ("snap", "snap")  # an override name survives closing
    assert TraceChunk(chunk_id=None, creation_time=None).name is None


@pytest.mark.parametrize("bad", ["", "a/b", "a.b"])
def test_invalid_override_name_is_refused(bad: str) -> None:
    with pytest.raises(OutputError):
        TraceChunk(chunk_id=ChunkId(1), creation_time=BEGIN, override_name=bad)


def test_directory_without_credentials_is_refused(tmp_path: Path) -> None:
    fd = _dirfd(tmp_path)
    try:
        with pytest.raises(OutputError):
            TraceChunk(chunk_id=ChunkId(1), creation_time=BEGIN, chunk_directory_fd=fd)
    finally:
        os.close(fd)


def test_user_chunk_opens_files_0660_whatever_the_umask(tmp_path: Path) -> None:
    domain = tmp_path / "chunk" / "ust"
    (domain / "uid/0/64-bit/index").mkdir(parents=True)
    chunk = _user_chunk(domain)
    assert chunk.mode is ChunkMode.USER
    with _umask(0o077):
        _write(chunk, "uid/0/64-bit/chan_0", b"abc")
    path = domain / "uid/0/64-bit/chan_0"
    assert path.read_bytes() == b"abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o660
    assert list(chunk.files) == ["uid/0/64-bit/chan_0"]
    # O_TRUNC on an existing file keeps its mode and empties it.
    os.chmod(path, 0o600)
    _write(chunk, "uid/0/64-bit/chan_0", b"z")
    assert (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) == (b"z", 0o600)
    assert list(chunk.files) == ["uid/0/64-bit/chan_0"]
    chunk.put()


def test_user_chunk_creates_no_directory(tmp_path: Path) -> None:
    chunk = _user_chunk(tmp_path / "ust")
    with pytest.raises(OutputError):
        chunk.create_subdirectory("uid/0/64-bit")
    assert not (tmp_path / "ust" / "uid").exists()
    with pytest.raises(OutputError) as info:
        chunk.open_file("uid/0/64-bit/chan_0", FLAGS, 0o660)  # the session daemon did not mkdir
    assert info.value.errno is not None
    assert not chunk.files
    chunk.put()


def test_chunk_without_output_refuses_files() -> None:
    chunk = TraceChunk(chunk_id=ChunkId(2), creation_time=BEGIN, credentials=SELF)
    with pytest.raises(OutputError):
        chunk.open_file("a", FLAGS, 0o660)


def test_close_command_no_operation_unsets_and_max_is_refused() -> None:
    chunk = TraceChunk(chunk_id=ChunkId(2), creation_time=BEGIN)
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    assert chunk.close_command is CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_NO_OPERATION
    assert chunk.close_command is None
    with pytest.raises(OutputError):
        chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MAX


def test_user_delete_unlinks_the_chunks_files_at_the_last_reference(tmp_path: Path) -> None:
    domain = tmp_path / "ust"
    (domain / "uid/0/64-bit/index").mkdir(parents=True)
    (domain / "uid/0/64-bit/foreign").write_bytes(b"not ours")
    registry = ChunkRegistry()
    chunk = registry.publish(SessionId(1), _user_chunk(domain))
    for name in ("chan_0", "chan_1", "metadata", "index/chan_0.idx"):
        _write(chunk, f"uid/0/64-bit/{name}")
    assert chunk.get()  # a stream still writes to it
    chunk.set_close_timestamp(END)
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    assert chunk.close() == ""  # a local chunk's reply path is empty
    assert (domain / "uid/0/64-bit/chan_0").exists()  # not yet: the stream holds it
    assert registry.exists(SessionId(1), ChunkId(1))  # and it is still published
    chunk.put()
    assert chunk.released
    assert sorted(p.name for p in (domain / "uid/0/64-bit").rglob("*")) == ["foreign", "index"]
    assert not registry.exists(SessionId(1), ChunkId(1))
    assert chunk.chunk_directory_fd is None


def test_user_move_to_completed_changes_nothing_on_disk(tmp_path: Path) -> None:
    domain = tmp_path / "sess" / "ust"
    (domain / "uid").mkdir(parents=True)
    chunk = _user_chunk(domain)
    _write(chunk, "uid/chan_0")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    chunk.set_close_timestamp(END)
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED
    chunk.close()
    assert chunk.released
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_registry_publish_find_and_duplicates(tmp_path: Path) -> None:
    registry = ChunkRegistry()
    first = registry.publish(SessionId(4), _user_chunk(tmp_path / "a", chunk_id=3))
    second = _user_chunk(tmp_path / "b", chunk_id=3)
    assert registry.publish(SessionId(4), second) is first
    assert second.released and second.chunk_directory_fd is None  # the copy is dropped
    assert registry.find(SessionId(4), ChunkId(3)) is first
    assert registry.find(SessionId(5), ChunkId(3)) is None
    other = registry.publish(SessionId(5), _user_chunk(tmp_path / "c", chunk_id=3))
    assert other is not first and len(registry) == 2
    anonymous = registry.publish(SessionId(4), TraceChunk(chunk_id=None, creation_time=None))
    assert registry.find(SessionId(4), None) is anonymous
    assert registry.put_each_chunk() == 3
    assert len(registry) == 0


def test_refcount_underflow_is_an_error() -> None:
    chunk = TraceChunk(chunk_id=ChunkId(1), creation_time=BEGIN)
    chunk.put()
    assert not chunk.get()
    with pytest.raises(OutputError):
        chunk.put()


# ------------------------------------------------------------------ owner mode


def _owner_chunk(session: Path, chunk_id: int, path: str | None = None) -> TraceChunk:
    chunk = TraceChunk(chunk_id=ChunkId(chunk_id), creation_time=BEGIN, credentials=SELF, path=path)
    chunk.set_as_owner(_dirfd(session))
    return chunk


def test_owner_chunk_makes_its_directory_and_subdirectories_0770(tmp_path: Path) -> None:
    with _umask(0o077):
        chunk = _owner_chunk(tmp_path, 2)
        chunk.create_subdirectory("ust/uid/0/64-bit/index")
        chunk.create_subdirectory("ust/pid/app-1-20260101-000000/index")
    assert chunk.mode is ChunkMode.OWNER
    top = tmp_path / naming.chunk_name(ChunkId(2), BEGIN)
    for path in (top, top / "ust", top / "ust/uid/0/64-bit/index"):
        assert stat.S_IMODE(path.stat().st_mode) == naming.DIR_CREATION_MODE
    assert chunk.top_level_directories == ["ust"]
    with pytest.raises(OutputError):
        chunk.create_subdirectory("/abs")
    chunk.put()


def test_owner_move_to_completed_archives_begin_end_id(tmp_path: Path) -> None:
    chunk = _owner_chunk(tmp_path, 2)
    chunk.create_subdirectory("ust/uid/0/64-bit/index")
    _write(chunk, "ust/uid/0/64-bit/chan_0", b"data")
    chunk.set_close_timestamp(END)
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED
    chunk.close()
    archived = tmp_path / "archives" / naming.chunk_name(ChunkId(2), BEGIN, END)
    assert (archived / "ust/uid/0/64-bit/chan_0").read_bytes() == b"data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archives"]


def test_owner_nameless_chunk_is_the_session_directory_and_archives_through_tmp(
    tmp_path: Path,
) -> None:
    # The session daemon's first chunk: written in the session directory itself.
    chunk = _owner_chunk(tmp_path, 0, path="")
    chunk.create_subdirectory("ust/uid/0/64-bit/index")
    _write(chunk, "ust/uid/0/64-bit/chan_0", b"first")
    assert (tmp_path / "ust/uid/0/64-bit/chan_0").exists()
    chunk.set_close_timestamp(END)
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED
    chunk.close()
    archived = tmp_path / "archives" / naming.chunk_name(ChunkId(0), BEGIN, END)
    assert (archived / "ust/uid/0/64-bit/chan_0").read_bytes() == b"first"
    assert not (tmp_path / naming.CHUNK_TMP_OLD_DIR).exists()
    assert not (tmp_path / "ust").exists()


def test_owner_delete_removes_files_and_empty_directories(tmp_path: Path) -> None:
    chunk = _owner_chunk(tmp_path, 5)
    chunk.create_subdirectory("ust/uid/0/64-bit/index")
    _write(chunk, "ust/uid/0/64-bit/chan_0")
    _write(chunk, "ust/uid/0/64-bit/index/chan_0.idx")
    chunk.set_close_timestamp(END)
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    chunk.close()
    assert list(tmp_path.iterdir()) == []


def test_owner_delete_keeps_directories_holding_foreign_files(tmp_path: Path) -> None:
    chunk = _owner_chunk(tmp_path, 5)
    chunk.create_subdirectory("ust/uid/0/64-bit/index")
    _write(chunk, "ust/uid/0/64-bit/chan_0")
    top = tmp_path / naming.chunk_name(ChunkId(5), BEGIN)
    (top / "ust/uid/0/64-bit/keep").write_bytes(b"")
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    chunk.close()  # the chunk directory is not empty: it stays, as in C (an error is logged)
    assert sorted(p.name for p in (top / "ust/uid/0/64-bit").iterdir()) == ["keep"]


# ------------------------------------------------------------------ credentials


def _nobody() -> Credentials:
    import pwd

    entry = pwd.getpwnam("nobody")
    return Credentials(entry.pw_uid, entry.pw_gid)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_root_applies_chunk_credentials_to_files_and_directories(tmp_path: Path) -> None:
    nobody = _nobody()
    tmp_path.chmod(0o777)
    session = tmp_path / "session"
    session.mkdir()
    os.chown(session, nobody.uid, nobody.gid)
    chunk = TraceChunk(chunk_id=ChunkId(1), creation_time=BEGIN, credentials=nobody)
    chunk.set_as_owner(_dirfd(session))
    with _umask(0o077):
        chunk.create_subdirectory("ust/uid/65534/64-bit/index")
        _write(chunk, "ust/uid/65534/64-bit/chan_0", b"nobody's")
    top = session / naming.chunk_name(ChunkId(1), BEGIN)
    made = top / "ust/uid/65534/64-bit"
    for path in (top, top / "ust", made, made / "index"):
        st = path.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody.uid, nobody.gid, 0o770)
    st = (made / "chan_0").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody.uid, nobody.gid, 0o660)
    assert (made / "chan_0").read_bytes() == b"nobody's"
    chunk.close_command = CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE
    chunk.close()
    assert list(session.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_root_checks_permissions_as_the_chunk_user(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)  # root's: nobody may not write here
    chunk = TraceChunk(
        chunk_id=ChunkId(1),
        creation_time=BEGIN,
        credentials=_nobody(),
        chunk_directory_fd=_dirfd(private),
    )
    with pytest.raises(OutputError) as info:
        chunk.open_file("chan_0", FLAGS, 0o660)
    assert info.value.errno == 13  # EACCES, though root itself could
    assert not (private / "chan_0").exists()
    chunk.put()


def test_rename_path_refusals(tmp_path: Path) -> None:
    named = TraceChunk(chunk_id=ChunkId(3), creation_time=BEGIN, override_name="snap")
    with pytest.raises(OutputError):
        named.rename_path("elsewhere")  # an override name pins the path
    nameless = TraceChunk(chunk_id=ChunkId(3), creation_time=BEGIN, path="")
    nameless.rename_path("")  # the same path: nothing to do (checked before anything else)
    assert nameless.path == ""
    anonymous = TraceChunk(chunk_id=None, creation_time=None, path="")
    with pytest.raises(OutputError):
        anonymous.rename_path(None)  # no name to take
    unset = TraceChunk(chunk_id=ChunkId(3), creation_time=BEGIN, path="a")
    unset.rename_path("b")  # no directory yet: only the path changes
    assert unset.path == "b"
    unset.rename_path(None)
    assert unset.path == naming.chunk_name(ChunkId(3), BEGIN)


def test_owner_rename_between_named_directories(tmp_path: Path) -> None:
    chunk = _owner_chunk(tmp_path, 4, path="first")
    chunk.create_subdirectory("ust/uid")
    _write(chunk, "ust/uid/f", b"1")
    chunk.rename_path("second")
    _write(chunk, "ust/uid/g", b"2")  # the chunk follows its directory
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "second/ust/uid/f",
        "second/ust/uid/g",
    ]
    chunk.rename_path("")  # back into the session directory: top-level directories move
    assert (tmp_path / "ust/uid/g").read_bytes() == b"2"
    assert not (tmp_path / "second").exists()
    with pytest.raises(OutputError):
        chunk.set_as_owner(_dirfd(tmp_path / "again"))
    chunk.put()
