"""Trace chunks and the chunk registry: where a session's files go, and what closing does.

Mirrors src/common/trace-chunk.c @ v2.13.9 (``struct lttng_trace_chunk``,
``struct lttng_trace_chunk_registry``) and the consumer's use of it in
consumer.c ``lttng_consumer_create_trace_chunk`` / ``_close_trace_chunk`` /
``_trace_chunk_exists``.

Two modes, as in C:

* **user** (``TRACE_CHUNK_MODE_USER``, ``lttng_trace_chunk_set_as_user``): what
  the *consumer* daemon does. CREATE_TRACE_CHUNK brings the chunk's domain
  directory fd (``<session output>/<chunk>/ust``, opened by the session daemon)
  and credentials; the consumer only opens and unlinks files under it. It never
  creates a directory (the session daemon creates ``<channel path>/index``
  before ASK_CHANNEL_CREATION, ust-consumer.c in lttng-sessiond), and on close,
  MOVE_TO_COMPLETED does nothing here and DELETE unlinks the files this chunk
  opened.
* **owner** (``TRACE_CHUNK_MODE_OWNER``, ``lttng_trace_chunk_set_as_owner``):
  what the session daemon (and relay daemon) do: the chunk creates its own
  directory under the session output directory and sub-directories in it, and
  on close MOVE_TO_COMPLETED renames it to ``archives/<begin>-<end>-<id>``
  (through ``.tmp_old_chunk``) and DELETE also removes the now empty
  directories. Kept here so that the full behaviour is executable and tested.

A chunk is reference counted like C's (``get``/``put``): the registry entry
holds the session daemon's implicit reference, each stream output one more.
The close command runs when the last reference goes (``lttng_trace_chunk_release``),
i.e. after the last stream has moved to the next chunk or closed, and only then
does the chunk leave the registry (so TRACE_CHUNK_EXISTS still finds a closed
chunk that a stream still writes to, as in C).
"""

from __future__ import annotations

import enum
import logging
import os

from ustref.errors import OutputError
from ustref.ids import ChunkId, SessionId
from ustref.output import naming, runas
from ustref.output.chunk_files import ChunkFiles
from ustref.output.runas import Credentials
from ustref.protocol.consumer import LttngTraceChunkCommandType

__all__ = ["ChunkMode", "ChunkRegistry", "CloseCommand", "Credentials", "TraceChunk"]

log = logging.getLogger(__name__)

CloseCommand = LttngTraceChunkCommandType
"""``enum lttng_trace_chunk_command_type`` (the protocol grammar's enum)."""


class ChunkMode(enum.Enum):
    """Mirrors trace-chunk.c ``enum trace_chunk_mode``."""

    USER = "user"
    OWNER = "owner"


class TraceChunk:
    """Mirrors trace-chunk.c ``struct lttng_trace_chunk`` @ v2.13.9.

    Built as the consumer builds one for CREATE_TRACE_CHUNK
    (``lttng_trace_chunk_create`` + ``_override_name`` + ``_set_credentials`` +
    ``_set_as_user``): ``chunk_id`` (``None``: an anonymous chunk), the creation
    time (seconds since the Epoch), the override name (``None`` when the
    message's ``override_name`` is empty), the credentials and the chunk
    directory fd received with the command (``None`` for a chunk with no local
    output, e.g. one streamed to a relay daemon). The chunk owns the fd.
    ``path`` is ``lttng_trace_chunk_create``'s: the chunk's directory relative
    to the session output in owner mode (default: the name).

    Raises :class:`OutputError` for an invalid override name (C:
    ``LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED``).
    """

    def __init__(
        self,
        *,
        chunk_id: ChunkId | None,
        creation_time: int | None,
        override_name: str | None = None,
        credentials: Credentials | None = None,
        chunk_directory_fd: int | None = None,
        path: str | None = None,
    ) -> None:
        self.chunk_id = chunk_id
        self.creation_time = creation_time
        self.close_time: int | None = None
        self.name: str | None = None
        self.path: str | None = None
        self.name_overridden = False
        self.credentials = credentials
        self.mode: ChunkMode | None = None
        self.chunk_directory_fd: int | None = None
        self.session_output_fd: int | None = None
        self._close_command: CloseCommand | None = None
        self._refcount = 1
        self._registry: tuple[ChunkRegistry, SessionId] | None = None
        self.top_level_directories: list[str] = []
        """First-level directories created through this chunk (owner mode)."""
        self.files = ChunkFiles()
        """Every file opened through this chunk and not unlinked since. As in C, closing
        a file leaves it on the list: DELETE unlinks it when the chunk is closed."""
        if chunk_id is not None and creation_time is not None and chunk_id != 0:
            # lttng_trace_chunk_create: chunk 0 has no name (and no own directory).
            self.name = naming.chunk_name(chunk_id, creation_time)
        # The directory relative to the session output: ``path`` if given (the
        # session daemon gives "" for a chunk written in the session directory), else the name.
        self.path = path if path is not None else self.name
        if override_name is not None:
            self._override_name(override_name)
        if chunk_directory_fd is not None:
            if credentials is None:
                raise OutputError(
                    "credentials must be set before a directory is given",
                    operation="set as user",
                )
            self.chunk_directory_fd = chunk_directory_fd
            self.mode = ChunkMode.USER

    # ------------------------------------------------------------ naming

    def _override_name(self, name: str) -> None:
        """Mirrors ``lttng_trace_chunk_override_name``: name and path become ``name``."""
        if not naming.is_valid_chunk_name(name):
            raise OutputError(f"invalid chunk name {name!r}", operation="override name")
        if self.chunk_id is None:
            raise OutputError("an anonymous chunk has no name", operation="override name")
        self.name = name
        self.path = name
        self.name_overridden = True

    def set_close_timestamp(self, close_time: int) -> None:
        """Mirrors ``lttng_trace_chunk_set_close_timestamp``: the name becomes
        ``<begin>-<end>-<id>`` unless it was overridden."""
        if self.creation_time is None or self.chunk_id is None:
            raise OutputError("creation timestamp is unset", operation="set close timestamp")
        if close_time < self.creation_time:
            log.warning(
                "trace chunk close timestamp %d is before its creation %d",
                close_time,
                self.creation_time,
            )
        self.close_time = close_time
        if not self.name_overridden:
            self.name = naming.chunk_name(self.chunk_id, self.creation_time, close_time)

    @property
    def close_command(self) -> CloseCommand | None:
        """The command run at release; ``None`` means nothing to do.

        Setting mirrors ``lttng_trace_chunk_set_close_command``: NO_OPERATION
        *unsets* the command (compatibility with relayd 2.11), MAX is refused.
        """
        return self._close_command

    @close_command.setter
    def close_command(self, command: CloseCommand | None) -> None:
        if command is None or command == CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_NO_OPERATION:
            self._close_command = None
            return
        if command == CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MAX:
            raise OutputError(f"invalid close command {command!r}", operation="close command")
        self._close_command = command

    # ------------------------------------------------------------ owner mode

    def set_as_owner(self, session_output_fd: int) -> None:
        """Mirrors ``lttng_trace_chunk_set_as_owner``: create the chunk's directory
        (``path``) under the session output directory, or use that directory
        itself for a nameless chunk. The chunk owns ``session_output_fd``."""
        if self.mode is not None:
            raise OutputError("the chunk already has a mode", operation="set as owner")
        if self.credentials is None:
            raise OutputError("credentials are unset", operation="set as owner")
        if self.path:
            runas.mkdir(session_output_fd, self.path, naming.DIR_CREATION_MODE, self.credentials)
            self.chunk_directory_fd = runas.open_directory(session_output_fd, self.path)
        else:
            self.chunk_directory_fd = os.dup(session_output_fd)
        self.session_output_fd = session_output_fd
        self.mode = ChunkMode.OWNER

    def create_subdirectory(self, path: str) -> None:
        """Mirrors ``lttng_trace_chunk_create_subdirectory``: ``mkdir -p`` under the
        chunk directory with the chunk's credentials; owner mode only (a user
        chunk, the consumer's, is refused as C refuses it)."""
        self._require_directory("create subdirectory", path)
        if self.mode is not ChunkMode.OWNER:
            raise OutputError(
                "a trace chunk in user mode does not create directories",
                operation="create subdirectory",
                path=path,
            )
        if path.startswith("/"):
            raise OutputError("absolute path", operation="create subdirectory", path=path)
        assert self.chunk_directory_fd is not None
        runas.mkdir_recursive(
            self.chunk_directory_fd, path, naming.DIR_CREATION_MODE, self.credentials
        )
        top = path.split("/", 1)[0]
        if top not in self.top_level_directories:
            self.top_level_directories.append(top)

    def rename_path(self, path: str | None) -> None:
        """Mirrors ``lttng_trace_chunk_rename_path_no_lock``: move the chunk's
        directory to ``path`` under the session output (``None``: the chunk
        name; ``""``: the session output directory itself)."""
        if self.name_overridden:
            raise OutputError("the chunk name is overridden", operation="rename chunk")
        old = self.path
        if old == path:
            return
        new = self.name if path is None else path
        if new is None or (new == "" and old == ""):
            raise OutputError(f"cannot rename {old!r} to {new!r}", operation="rename chunk")
        session_fd, chunk_fd = self.session_output_fd, self.chunk_directory_fd
        if chunk_fd is not None and session_fd is not None:
            if old is None:
                raise OutputError("the chunk has no path", operation="rename chunk")
            if old and new:
                runas.rename(session_fd, old, session_fd, new, self.credentials)
                self.chunk_directory_fd = runas.open_directory(session_fd, new)
            elif old == "":
                runas.mkdir(session_fd, new, naming.DIR_CREATION_MODE, self.credentials)
                target = runas.open_directory(session_fd, new)
                for top in self.top_level_directories:
                    runas.rename(chunk_fd, top, target, top, self.credentials)
                self.chunk_directory_fd = target
            else:
                for top in self.top_level_directories:
                    runas.rename(chunk_fd, top, session_fd, top, self.credentials)
                self.chunk_directory_fd = os.dup(session_fd)
                runas.rmdir(session_fd, old, self.credentials)
            os.close(chunk_fd)
        self.path = new

    # ------------------------------------------------------------ files

    def _require_directory(self, operation: str, path: str) -> None:
        if self.credentials is None:
            raise OutputError("credentials are unset", operation=operation, path=path)
        if self.chunk_directory_fd is None:
            raise OutputError("the chunk has no output directory", operation=operation, path=path)

    def open_file(self, path: str, flags: int, mode: int) -> int:
        """Mirrors ``lttng_trace_chunk_open_file``: an fd for ``path``, relative to the
        chunk directory, opened with the chunk's credentials; the path joins the
        chunk's file list (what DELETE unlinks)."""
        self._require_directory("open", path)
        assert self.chunk_directory_fd is not None
        fd = runas.open_file(self.chunk_directory_fd, path, flags, mode, self.credentials)
        self.files.add(path)
        return fd

    def unlink_file(self, path: str) -> None:
        """Mirrors ``lttng_trace_chunk_unlink_file``; the path leaves the file list."""
        self._require_directory("unlink", path)
        assert self.chunk_directory_fd is not None
        runas.unlink(self.chunk_directory_fd, path, self.credentials)
        self.files.discard(path)

    # ------------------------------------------------------------ references

    @property
    def refcount(self) -> int:
        return self._refcount

    def get(self) -> bool:
        """Mirrors ``lttng_trace_chunk_get``: a new reference, unless already released."""
        if self._refcount == 0:
            return False
        self._refcount += 1
        return True

    def put(self) -> None:
        """Mirrors ``lttng_trace_chunk_put``: the last reference runs the release."""
        if self._refcount <= 0:
            raise OutputError("reference count underflow", operation="put chunk")
        self._refcount -= 1
        if self._refcount == 0:
            self._release()

    def close(self) -> str:
        """Drop the session daemon's implicit reference (the second put of
        consumer.c ``lttng_consumer_close_trace_chunk``) and return the path
        the CLOSE_TRACE_CHUNK reply carries: always ``""`` for a local chunk
        (only a relay daemon fills it). Set the close timestamp and command first."""
        self.put()
        return ""

    @property
    def released(self) -> bool:
        return self._refcount == 0

    def _release(self) -> None:
        """Mirrors ``lttng_trace_chunk_release``: run the close command, close the
        directories, leave the registry."""
        command = self._close_command
        if command is not None:
            try:
                _CLOSE_COMMANDS[command](self)
            except OutputError as exc:
                log.error("trace chunk post-release command %s failed: %s", command.name, exc)
        for fd in (self.chunk_directory_fd, self.session_output_fd):
            if fd is not None:
                os.close(fd)
        self.chunk_directory_fd = None
        self.session_output_fd = None
        if self._registry is not None:
            registry, session_id = self._registry
            self._registry = None
            registry.remove(session_id, self.chunk_id)

    # ------------------------------------------------------------ close commands

    def _move_to_completed(self) -> None:
        """Mirrors ``lttng_trace_chunk_move_to_completed_post_release``.

        Owner mode only (nothing happens in the consumer): rename the chunk to
        ``.tmp_old_chunk`` if needed, then to ``archives/<begin>-<end>-<id>``.
        """
        if self.mode is not ChunkMode.OWNER or self.session_output_fd is None:
            return
        assert self.chunk_id is not None
        assert self.creation_time is not None
        assert self.close_time is not None
        archived = naming.chunk_name(self.chunk_id, self.creation_time, self.close_time)
        session_fd = self.session_output_fd
        runas.mkdir(session_fd, naming.ARCHIVES_DIR, naming.DIR_CREATION_MODE, self.credentials)
        archives_fd = runas.open_directory(session_fd, naming.ARCHIVES_DIR)
        try:
            if self.path != naming.CHUNK_TMP_OLD_DIR:
                self.rename_path(naming.CHUNK_TMP_OLD_DIR)
            assert self.path is not None
            runas.rename(session_fd, self.path, archives_fd, archived, self.credentials)
        finally:
            os.close(archives_fd)

    def _delete_files(self) -> None:
        """Mirrors ``lttng_trace_chunk_delete_post_release_user``: unlink every file
        the chunk opened (:class:`ChunkFiles` order); stop at the first failure."""
        for path in list(self.files):
            self.unlink_file(path)

    def _delete(self) -> None:
        """Mirrors ``lttng_trace_chunk_delete_post_release`` (user and owner)."""
        if self.chunk_directory_fd is None:
            return
        self._delete_files()
        if self.mode is not ChunkMode.OWNER:
            return
        assert self.session_output_fd is not None
        for top in self.top_level_directories:
            runas.rmdir_recursive(self.chunk_directory_fd, top, self.credentials)
        os.close(self.chunk_directory_fd)
        self.chunk_directory_fd = None
        if self.path:
            runas.rmdir(self.session_output_fd, self.path, self.credentials)
        self.path = None

    def _no_operation(self) -> None:
        """Mirrors ``lttng_trace_chunk_no_operation``."""

    def __repr__(self) -> str:
        return (
            f"TraceChunk(id={self.chunk_id}, name={self.name!r}, mode={self.mode}, "
            f"refs={self._refcount}, close={self._close_command})"
        )


_CLOSE_COMMANDS = {
    CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MOVE_TO_COMPLETED: TraceChunk._move_to_completed,
    CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_NO_OPERATION: TraceChunk._no_operation,
    CloseCommand.LTTNG_TRACE_CHUNK_COMMAND_TYPE_DELETE: TraceChunk._delete,
}
"""``close_command_post_release_funcs``, trace-chunk.c: one action per close command."""


class ChunkRegistry:
    """Mirrors trace-chunk.c ``struct lttng_trace_chunk_registry``: chunks by
    (session id, chunk id); ``None`` is the anonymous chunk's id."""

    def __init__(self) -> None:
        self._chunks: dict[tuple[SessionId, ChunkId | None], TraceChunk] = {}

    def publish(self, session_id: SessionId, chunk: TraceChunk) -> TraceChunk:
        """Mirrors ``lttng_trace_chunk_registry_publish_chunk``.

        The registry keeps ``chunk``'s reference (the session daemon's implicit
        one). If an equivalent chunk is already published, that one is returned
        and ``chunk`` is released (its directory fd closed).
        """
        key = (session_id, chunk.chunk_id)
        published = self._chunks.get(key)
        if published is not None and not published.released:
            chunk.put()
            return published
        self._chunks[key] = chunk
        chunk._registry = (self, session_id)
        return chunk

    def find(self, session_id: SessionId, chunk_id: ChunkId | None) -> TraceChunk | None:
        """Mirrors ``lttng_trace_chunk_registry_find_chunk`` (and ``_find_anonymous_chunk``
        for ``None``); no reference is taken: ``get()`` one to keep the chunk."""
        return self._chunks.get((session_id, chunk_id))

    def exists(self, session_id: SessionId, chunk_id: ChunkId | None) -> bool:
        """Mirrors ``lttng_trace_chunk_registry_chunk_exists``."""
        return (session_id, chunk_id) in self._chunks

    def remove(self, session_id: SessionId, chunk_id: ChunkId | None) -> None:
        """Unpublish a chunk (done by its release, as C's ``cds_lfht_del``)."""
        chunk = self._chunks.pop((session_id, chunk_id), None)
        if chunk is not None:
            chunk._registry = None

    def put_each_chunk(self) -> int:
        """Mirrors ``lttng_trace_chunk_registry_put_each_chunk`` (teardown): drop the
        registry's reference to every chunk; returns how many there were."""
        chunks = list(self._chunks.values())
        for chunk in chunks:
            chunk.put()
        return len(chunks)

    def __len__(self) -> int:
        return len(self._chunks)
