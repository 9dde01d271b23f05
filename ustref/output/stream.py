"""A consumer stream's local output: its tracefile(s) and index file(s) in the current chunk.

Mirrors, @ v2.13.9, consumer-stream.c ``consumer_stream_create_output_files``,
``consumer_stream_rotate_output_files``, ``consumer_stream_write_index`` /
``consumer_stream_send_index``, consumer.c ``lttng_consumer_on_read_subbuffer_mmap``
(the local branch) and ``rotate_local_stream`` / ``lttng_consumer_rotate_stream``
(chunk switch), utils.c ``utils_stream_file_path`` and ``utils_truncate_stream_file``.

Rules (each decision is a function of :mod:`ustref.output.naming`):

* the stream file is ``<channel path>/<name>``, or ``<channel path>/<name>_<n>``
  when ``tracefile_size`` > 0 (then ``n`` starts at 0); the index file is
  ``<channel path>/index/<name>[_<n>].idx``; both are opened
  ``O_WRONLY | O_CREAT | O_TRUNC``, mode 0660, with the chunk's credentials;
* a packet is written whole, padding included (local output writes the padded
  sub-buffer); before it, if ``tracefile_size`` > 0 and the current file's size
  plus the packet exceeds the limit, the files rotate: ``n`` becomes ``n + 1``,
  modulo ``tracefile_count`` when that is > 0, and the files of the new ``n``
  are opened with ``O_TRUNC`` — so with a count limit the oldest file and its
  index are overwritten in place, neither unlinked nor renamed;
* a data stream's index entry gets the packet's offset in its file; a rotation
  (size limit or chunk switch) creates an index file for every data stream,
  even one created without (a snapshot stream), never for the metadata stream;
* a chunk switch closes the files and reopens them, from ``n`` = 0, in the new
  chunk (none when the stream has no chunk to go to);
* a snapshot reopens a closed stream's files in the snapshot chunk *without*
  resetting ``n`` (:meth:`StreamOutput.open_in_chunk`).

What C does for speed only is left out (``sync_file_range``,
``posix_fadvise(DONTNEED)``): it does not change the files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ustref.errors import LocalProtocolError, OutputError
from ustref.output import naming
from ustref.output.chunk import TraceChunk
from ustref.output.index import IndexFile, PacketIndex
from ustref.output.runas import os_failure

if TYPE_CHECKING:
    from ustref.ring.drain import PacketInfo

__all__ = ["OUTPUT_FLAGS", "StreamOutput"]

#: ``O_WRONLY | O_CREAT | O_TRUNC``: stream files (consumer-stream.c) and index files
#: (index.c ``WRITE_FILE_FLAGS``).
OUTPUT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


class StreamOutput:
    """The local files of one ``struct lttng_consumer_stream`` (``out_fd``, ``index_file``,
    ``tracefile_size_current``, ``tracefile_count_current``, ``out_fd_offset``).

    ``channel_path`` is the channel's path relative to the chunk directory, as
    ASK_CHANNEL_CREATION's ``pathname`` says (e.g. ``uid/0/64-bit``:
    the chunk directory is already the ``ust`` domain directory); ``name`` is
    the file stem (``<channel>_<cpu>`` or ``metadata``). ``with_index`` is
    ``create_index`` of ``consumer_stream_create_output_files``: true for
    streams of monitored channels, false for snapshot streams and the metadata
    stream. ``metadata`` marks the metadata stream (never indexed).

    The stream takes a reference to ``chunk`` and opens its files at once
    (``lttng_ustconsumer_on_recv_stream``); with ``chunk=None`` it has no files
    until :meth:`switch_chunk` or :meth:`open_in_chunk` gives it a chunk.
    """

    def __init__(
        self,
        *,
        chunk: TraceChunk | None,
        channel_path: str,
        name: str,
        tracefile_size: int,
        tracefile_count: int,
        with_index: bool,
        metadata: bool = False,
    ) -> None:
        self.channel_path = channel_path
        self.name = name
        self.tracefile_size = tracefile_size
        self.tracefile_count = tracefile_count
        self.metadata = metadata
        self.chunk: TraceChunk | None = None
        self.out_fd: int | None = None
        self.index_file: IndexFile | None = None
        self.tracefile_size_current = 0
        self.tracefile_count_current = 0
        self.out_fd_offset = 0
        self.output_written = 0
        """Bytes written over the stream's life (``stream->output_written``)."""
        if chunk is not None:
            if not chunk.get():
                raise LocalProtocolError(f"stream {name}: its trace chunk is already released")
            self.chunk = chunk
            self._create_output_files(create_index=with_index)

    # ------------------------------------------------------------ paths

    @property
    def stream_path(self) -> str:
        """The current stream file's path in the chunk (``utils_stream_file_path``)."""
        return naming.stream_file_path(
            self.channel_path, self.name, self.tracefile_size, self.tracefile_count_current
        )

    @property
    def index_path(self) -> str:
        """The current index file's path in the chunk."""
        return naming.index_file_path(
            self.channel_path, self.name, self.tracefile_size, self.tracefile_count_current
        )

    # ------------------------------------------------------------ files

    def _create_output_files(self, *, create_index: bool) -> None:
        """Mirrors consumer-stream.c ``consumer_stream_create_output_files``."""
        chunk = self.chunk
        assert chunk is not None
        stream_path = self.stream_path
        self._close_stream_file()
        self.out_fd = chunk.open_file(stream_path, OUTPUT_FLAGS, naming.STREAM_FILE_MODE)
        if not self.metadata and (create_index or self.index_file is not None):
            self._close_index_file()
            index_path = self.index_path
            fd = chunk.open_file(index_path, OUTPUT_FLAGS, naming.STREAM_FILE_MODE)
            self.index_file = IndexFile(fd, index_path)
        self.tracefile_size_current = 0
        self.out_fd_offset = 0

    def rotate_output_files(self) -> None:
        """Mirrors consumer-stream.c ``consumer_stream_rotate_output_files``."""
        self.tracefile_count_current = naming.next_tracefile_index(
            self.tracefile_count_current, self.tracefile_count
        )
        self._create_output_files(create_index=True)

    def _close_stream_file(self) -> None:
        if self.out_fd is not None:
            fd, self.out_fd = self.out_fd, None
            os.close(fd)

    def _close_index_file(self) -> None:
        if self.index_file is not None:
            index_file, self.index_file = self.index_file, None
            index_file.close()

    # ------------------------------------------------------------ writing

    def write_packet(
        self, parts: Sequence[bytes | memoryview], index: PacketIndex | None = None
    ) -> int:
        """Write one packet (its buffers in one ``writev``) and its index entry.

        Mirrors the local branch of consumer.c ``lttng_consumer_on_read_subbuffer_mmap``
        (tracefile rotation check, write, ``out_fd_offset``) followed by
        ``consumer_stream_send_index`` (entry ``offset`` = the packet's offset in
        the file it went to; the ``offset`` given is ignored). Returns the bytes
        written (the whole packet, or :class:`OutputError`).
        """
        if self.out_fd is None:
            raise LocalProtocolError(f"stream {self.name}: no output file (no trace chunk)")
        if index is not None and self.index_file is None:
            raise LocalProtocolError(f"stream {self.name}: an index entry but no index file")
        size = sum(len(part) for part in parts)
        if naming.must_rotate_tracefile(self.tracefile_size, self.tracefile_size_current, size):
            self.rotate_output_files()
        self.tracefile_size_current += size
        self._writev(parts, size)
        self.output_written += size
        self.out_fd_offset += size
        if index is not None:
            assert self.index_file is not None
            self.index_file.write(dataclasses.replace(index, offset=self.out_fd_offset - size))
        return size

    def write_packets(
        self,
        packets: Sequence[bytes | memoryview],
        infos: Sequence[PacketInfo] | None = None,
    ) -> int:
        """Write several packets, one buffer each, in stream order, with their index
        entries (``PacketIndex.populate(infos[i], offset)`` for ``packets[i]``, packed
        by :func:`~ustref.output.index.pack_entry`).

        The files, offsets and entries are those :meth:`write_packet` of each packet
        in turn makes — a tracefile rotation is checked before every packet — with
        one ``writev`` per run of packets going to the same file and one write of
        that run's index entries: the consumer's batched drain
        (:func:`ustref.ring.drain.drain`) hands its sub-buffers over this way.
        Returns the bytes written.
        """
        if self.out_fd is None:
            raise LocalProtocolError(f"stream {self.name}: no output file (no trace chunk)")
        if infos is not None:
            if self.index_file is None:
                raise LocalProtocolError(f"stream {self.name}: index entries but no index file")
            if len(infos) != len(packets):
                raise LocalProtocolError(
                    f"stream {self.name}: {len(infos)} index entries for {len(packets)} packets"
                )
        written = start = run = 0
        for at, packet in enumerate(packets):
            size = len(packet)
            if naming.must_rotate_tracefile(self.tracefile_size, self.tracefile_size_current, size):
                written += self._write_run(packets, infos, start, at, run)
                start, run = at, 0
                self.rotate_output_files()
            self.tracefile_size_current += size
            run += size
        return written + self._write_run(packets, infos, start, len(packets), run)

    def _write_run(
        self,
        packets: Sequence[bytes | memoryview],
        infos: Sequence[PacketInfo] | None,
        start: int,
        stop: int,
        size: int,
    ) -> int:
        """``packets[start:stop]`` (``size`` bytes) to the current file, then their entries."""
        if start == stop:
            return 0
        self._writev(packets[start:stop], size)
        offset = self.out_fd_offset
        self.output_written += size
        self.out_fd_offset += size
        if infos is not None:
            assert self.index_file is not None
            entries = []
            for at in range(start, stop):
                entries.append((infos[at], offset))
                offset += len(packets[at])
            self.index_file.write_entries(entries)
        return size

    def _writev(self, parts: Sequence[bytes | memoryview], size: int) -> None:
        """``lttng_write``: all of it, across short writes and EINTR. The parts go to
        ``writev`` as given; only after a short write are the rest cut into byte views."""
        assert self.out_fd is not None
        pending = parts
        done = 0
        while done < size:
            try:
                written = os.writev(self.out_fd, pending)
            except OSError as exc:
                operation = f"write ({done} of {size} bytes done)"
                raise os_failure(exc, operation, self.stream_path) from None
            if written == 0:
                raise OutputError(
                    f"no progress after {done} of {size} bytes",
                    operation="write",
                    path=self.stream_path,
                )
            done += written
            if done < size:
                pending = _after(pending, written)

    def reset_metadata_file(self) -> None:
        """Mirrors the ``reset_metadata_flag`` branch of ``lttng_consumer_on_read_subbuffer_mmap``
        (``utils_truncate_stream_file(out_fd, 0)``): empty the metadata file and
        write from its start again. As in C, the tracefile size count and
        ``out_fd_offset`` are left as they are."""
        if self.out_fd is None:
            raise LocalProtocolError(f"stream {self.name}: no output file to reset")
        try:
            os.ftruncate(self.out_fd, 0)
            os.lseek(self.out_fd, 0, os.SEEK_SET)
        except OSError as exc:
            raise os_failure(exc, "truncate", self.stream_path) from None

    # ------------------------------------------------------------ chunks

    def open_in_chunk(self, chunk: TraceChunk, *, with_index: bool) -> None:
        """Open the files in ``chunk`` again after :meth:`close`, *keeping* the tracefile index.

        Mirrors ust-consumer.c ``snapshot_channel`` @ v2.13.9 (lines 1113–1125):
        each snapshot gives the channel's long-lived streams the snapshot chunk
        and calls ``consumer_stream_create_output_files(stream, false)``, then
        ``consumer_stream_close`` — which resets neither
        ``tracefile_count_current`` nor anything else but the open files. So
        with ``--tracefile-size``, a second snapshot's files of a stream start
        at the ``_<n>`` where the first one stopped, and (``with_index`` false)
        get an index file only from their first rotation on.
        """
        if self.chunk is not None:
            raise LocalProtocolError(f"stream {self.name}: already has a trace chunk")
        if not chunk.get():
            raise LocalProtocolError(f"stream {self.name}: its trace chunk is already released")
        self.chunk = chunk
        self._create_output_files(create_index=with_index)

    def switch_chunk(self, chunk: TraceChunk | None) -> None:
        """Move the stream to its channel's current chunk (session rotation).

        Mirrors consumer.c ``lttng_consumer_rotate_stream`` + ``rotate_local_stream``:
        drop the old chunk's reference; if ``chunk`` is the stream's own chunk
        (the channel has no next chunk) or ``None``, the stream is left with no
        chunk and no files; otherwise it takes a reference to ``chunk``; the
        files are closed, the tracefile index goes back to 0 and, with a
        chunk, the files are created there (index included, for data streams).
        """
        old = self.chunk
        self.chunk = None
        if chunk is not None and chunk is not old:
            if not chunk.get():
                raise LocalProtocolError(f"stream {self.name}: the new chunk is already released")
            self.chunk = chunk
        if old is not None:
            old.put()
        self.tracefile_size_current = 0
        self.tracefile_count_current = 0
        self._close_stream_file()
        self._close_index_file()
        if self.chunk is not None:
            self._create_output_files(create_index=True)

    def close(self) -> None:
        """Mirrors the output part of consumer-stream.c ``consumer_stream_close``:
        close the files, drop the chunk reference (which may run the chunk's
        close command)."""
        self._close_stream_file()
        self._close_index_file()
        if self.chunk is not None:
            chunk, self.chunk = self.chunk, None
            chunk.put()


def _after(parts: Sequence[bytes | memoryview], skip: int) -> list[memoryview]:
    """Byte views of what follows the first ``skip`` bytes of ``parts``."""
    rest = [memoryview(part).cast("B") for part in parts if len(part)]
    while rest and skip >= len(rest[0]):
        skip -= len(rest.pop(0))
    if skip:
        rest[0] = rest[0][skip:]
    return rest
