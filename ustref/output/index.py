"""CTF packet index files: ``index/<stream>[_<count>].idx``.

Mirrors src/common/index/ctf-index.h and index.c @ v2.13.9. An index file is
a 16-byte ``struct ctf_packet_index_file_hdr`` followed by one
``struct ctf_packet_index`` per packet written to the matching stream file,
every integer big-endian. The consumer writes index format 1.1
(``CTF_INDEX_MAJOR``/``CTF_INDEX_MINOR``): 72-byte entries; format 1.0 entries
stop after ``stream_id`` (56 bytes, ``ctf_packet_index_len(1, 0)``).

The structs are declared here with ustref's wire-struct machinery but not
registered in the sessiond/relayd protocol registry: they are a disk format,
not a message of any conversation.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from construct_typed import csfield

from ustref.errors import OutputError, RemoteProtocolError
from ustref.output.runas import os_failure
from ustref.protocol.fields import WireStruct, u32be, u64be
from ustref.protocol.registry import Protocol, StructSpec

if TYPE_CHECKING:
    from ustref.ring.drain import PacketInfo

HEADER = "src/common/index/ctf-index.h"

_S = TypeVar("_S", bound=WireStruct)

#: ``CTF_INDEX_MAGIC``, ctf-index.h.
CTF_INDEX_MAGIC = 0xC1F1DCC1
#: ``CTF_INDEX_MAJOR``, ctf-index.h.
CTF_INDEX_MAJOR = 1
#: ``CTF_INDEX_MINOR``, ctf-index.h.
CTF_INDEX_MINOR = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class PacketIndexFileHeader(WireStruct):
    """Mirrors ``struct ctf_packet_index_file_hdr`` (packed, big-endian), ctf-index.h @ v2.13.9."""

    magic: int = csfield(u32be, doc="CTF_INDEX_MAGIC (0xC1F1DCC1).")
    index_major: int = csfield(u32be, doc="Index format major version (1).")
    index_minor: int = csfield(u32be, doc="Index format minor version (1 since LTTng 2.8).")
    packet_index_len: int = csfield(
        u32be, doc="Size of one ctf_packet_index entry in this file, in bytes."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class PacketIndex(WireStruct):
    """Mirrors ``struct ctf_packet_index`` (packed, big-endian), ctf-index.h @ v2.13.9.

    Filled as consumer-stream.c ``ctf_packet_index_populate`` does from the
    sub-buffer's packet header; ``offset`` is the packet's byte offset in its
    stream file (the local writer fills it, see
    :meth:`ustref.output.stream.StreamOutput.write_packet`).
    """

    offset: int = csfield(u64be, doc="Offset of the packet in the stream file, in bytes.")
    packet_size: int = csfield(u64be, doc="Packet size including padding, in bits.")
    content_size: int = csfield(u64be, doc="Packet content size (padding excluded), in bits.")
    timestamp_begin: int = csfield(u64be, doc="Clock value at the start of the packet.")
    timestamp_end: int = csfield(u64be, doc="Clock value at the end of the packet.")
    events_discarded: int = csfield(
        u64be, doc="Running count of events discarded in the stream up to this packet."
    )
    stream_id: int = csfield(u64be, doc="CTF stream class id (channel id); index 1.0 ends here.")
    stream_instance_id: int = csfield(
        u64be, doc="CTF stream instance id (per-CPU buffer id); -1 when unknown."
    )
    packet_seq_num: int = csfield(
        u64be, doc="Packet sequence number within the stream; -1 when unknown."
    )

    def pack(self, element_len: int | None = None, *, offset: int | None = None) -> bytes:
        """The big-endian entry, cut to ``element_len`` bytes (index format 1.0: 56),
        with ``offset`` in place of :attr:`offset` when given.

        Packed with one ``struct.Struct`` of the grammar's layout (nine ``u64be``;
        ``tests/output/test_index.py`` checks that it builds what
        :data:`PACKET_INDEX` builds): the consumer packs one entry per packet
        it writes, and the Construct build costs about 30 µs. A value out of
        range goes through the grammar, for its typed error.
        """
        at = self.offset if offset is None else offset
        try:
            raw = _ENTRY.pack(
                at,
                self.packet_size,
                self.content_size,
                self.timestamp_begin,
                self.timestamp_end,
                self.events_discarded,
                self.stream_id,
                self.stream_instance_id,
                self.packet_seq_num,
            )
        except struct.error:
            raw = PACKET_INDEX.build(
                self if offset is None else dataclasses.replace(self, offset=at)
            )
        return raw if element_len is None else raw[:element_len]

    @classmethod
    def populate(cls, info: PacketInfo, offset: int = 0) -> PacketIndex:
        """Mirrors consumer-stream.c ``ctf_packet_index_populate``: the entry of a
        packet whose sub-buffer ``info.data`` is ``info``, at ``offset`` in its
        stream file."""
        return cls(
            offset=offset,
            packet_size=info.packet_size,
            content_size=info.content_size,
            timestamp_begin=info.timestamp_begin,
            timestamp_end=info.timestamp_end,
            events_discarded=info.events_discarded,
            stream_id=info.stream_id,
            stream_instance_id=info.stream_instance_id,
            packet_seq_num=info.sequence_number,
        )


_ENTRY = struct.Struct(">9Q")


def pack_entry(info: PacketInfo, offset: int, element_len: int) -> bytes:
    """The entry ``consumer_stream_write_index`` writes for a packet at ``offset`` whose
    sub-buffer ``info.data`` is ``info`` (``PacketIndex.populate(info, offset).pack(
    element_len)``), packed straight from ``info``: the consumer writes one per packet
    it drains, and building the frozen :class:`PacketIndex` first cost 2 µs of the
    ~12 µs a 4 KiB packet takes. A value out of range goes through the grammar, for
    its typed error."""
    try:
        raw = _ENTRY.pack(
            offset,
            info.packet_size,
            info.content_size,
            info.timestamp_begin,
            info.timestamp_end,
            info.events_discarded,
            info.stream_id,
            info.stream_instance_id,
            info.sequence_number,
        )
    except struct.error:
        return PacketIndex.populate(info, offset).pack(element_len)
    return raw[:element_len]


def _disk_struct(c_name: str, dc_type: type[_S]) -> StructSpec[_S]:
    """The spec of a ctf-index.h struct (parse/build with typed errors; not registered)."""
    return StructSpec(c_name, dc_type, HEADER, Protocol.IN_PROCESS, (dc_type.__doc__ or "").strip())


FILE_HEADER = _disk_struct("ctf_packet_index_file_hdr", PacketIndexFileHeader)
PACKET_INDEX = _disk_struct("ctf_packet_index", PacketIndex)


def packet_index_len(major: int, minor: int) -> int:
    """Mirrors ctf-index.h ``ctf_packet_index_len``: 56 bytes for 1.0, 72 for 1.1."""
    if major == 1 and minor == 0:
        return 56
    if major == 1 and minor == 1:
        return PACKET_INDEX.size
    raise OutputError(f"no index format {major}.{minor}", operation="index format")


def file_header(major: int = CTF_INDEX_MAJOR, minor: int = CTF_INDEX_MINOR) -> bytes:
    """Mirrors ctf-index.h ``ctf_packet_index_file_hdr_init``: the 16 header bytes."""
    return FILE_HEADER.build(
        PacketIndexFileHeader(
            magic=CTF_INDEX_MAGIC,
            index_major=major,
            index_minor=minor,
            packet_index_len=packet_index_len(major, minor),
        )
    )


@dataclasses.dataclass(frozen=True)
class IndexFileContents:
    """A decoded index file: its header and entries (each padded to the full struct)."""

    header: PacketIndexFileHeader
    entries: tuple[PacketIndex, ...]


def parse_index_file(data: bytes) -> IndexFileContents:
    """Decode an index file, checking it as index.c's read-only open does.

    Raises :class:`RemoteProtocolError` for a bad magic, an entry length larger
    than ``struct ctf_packet_index`` or a truncated trailing entry.
    """
    header = FILE_HEADER.parse(data[: FILE_HEADER.size])
    if header.magic != CTF_INDEX_MAGIC:
        raise RemoteProtocolError(
            f"bad magic {header.magic:#x}", message=FILE_HEADER.c_name, field="magic", offset=0
        )
    element_len = header.packet_index_len
    if element_len == 0 or element_len > PACKET_INDEX.size:
        raise RemoteProtocolError(
            f"entry length {element_len} out of range 1..{PACKET_INDEX.size}",
            message=FILE_HEADER.c_name,
            field="packet_index_len",
            offset=12,
        )
    body = data[FILE_HEADER.size :]
    if len(body) % element_len:
        raise RemoteProtocolError(
            f"{len(body) % element_len} trailing bytes after the last entry",
            message=PACKET_INDEX.c_name,
            offset=len(data) - len(body) % element_len,
        )
    padding = bytes(PACKET_INDEX.size - element_len)
    entries = tuple(
        PACKET_INDEX.parse(body[start : start + element_len] + padding)
        for start in range(0, len(body), element_len)
    )
    return IndexFileContents(header, entries)


class IndexFile:
    """Mirrors ``struct lttng_index_file`` (index.h) opened for writing.

    Takes ownership of ``fd`` (opened ``O_WRONLY | O_CREAT | O_TRUNC`` by the
    caller through the trace chunk) and writes the file header at once, as
    ``lttng_index_file_create_from_trace_chunk`` does.
    """

    def __init__(
        self, fd: int, path: str, *, major: int = CTF_INDEX_MAJOR, minor: int = CTF_INDEX_MINOR
    ) -> None:
        self.fd: int | None = fd
        self.path = path
        self.major = major
        self.minor = minor
        self.element_len = packet_index_len(major, minor)
        try:
            self._write(file_header(major, minor), "index header")
        except OutputError:
            self.close()
            raise

    def write(self, entry: PacketIndex) -> None:
        """Mirrors index.c ``lttng_index_file_write``: append one entry of ``element_len`` bytes."""
        self._write(entry.pack(self.element_len), "index entry")

    def write_entries(self, entries: Iterable[tuple[PacketInfo, int]]) -> None:
        """Append the entries of several packets, each ``(info, offset)``
        (:func:`pack_entry`), in one ``write``: the file :meth:`write` of
        ``PacketIndex.populate(info, offset)`` for each in turn makes."""
        element_len = self.element_len
        data = b"".join(pack_entry(info, at, element_len) for info, at in entries)
        if data:
            self._write(data, "index entries")

    def _write(self, data: bytes, what: str) -> None:
        if self.fd is None:
            raise OutputError("index file is closed", operation=f"write {what}", path=self.path)
        try:
            written = os.write(self.fd, data)
        except OSError as exc:
            raise os_failure(exc, f"write {what}", self.path) from None
        if written != len(data):
            raise OutputError(
                f"short write: {written} of {len(data)} bytes",
                operation=f"write {what}",
                path=self.path,
            )

    def close(self) -> None:
        """Mirrors ``lttng_index_file_put`` dropping the last reference: close the fd."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
