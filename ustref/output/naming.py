"""Names and rotation decisions of the consumer's local output, as pure functions.

Every rule here is a fact of lttng-tools v2.13.9 that decides a file or
directory name, or when a tracefile is rotated; the I/O shells
(:mod:`ustref.output.chunk`, :mod:`ustref.output.stream`,
:mod:`ustref.output.index`) only call these. ``spec/consumer-output.md`` puts the
rules together as the on-disk layout.
"""

from __future__ import annotations

import time

from ustref.ids import ChunkId

#: ``DEFAULT_METADATA_NAME``, src/common/defaults.h: the metadata stream's file name.
METADATA_NAME = "metadata"
#: ``DEFAULT_INDEX_DIR``, defaults.h: the index sub-directory of a channel path.
INDEX_DIR = "index"
#: ``DEFAULT_INDEX_FILE_SUFFIX``, defaults.h.
INDEX_FILE_SUFFIX = ".idx"
#: ``DEFAULT_UST_TRACE_DIR``, defaults.h: the domain sub-directory of a chunk.
UST_TRACE_DIR = "ust"
#: ``DEFAULT_ARCHIVED_TRACE_CHUNKS_DIRECTORY``, defaults.h.
ARCHIVES_DIR = "archives"
#: ``DEFAULT_CHUNK_TMP_OLD_DIRECTORY``, defaults.h.
CHUNK_TMP_OLD_DIR = ".tmp_old_chunk"
#: ``DEFAULT_CHUNK_TMP_NEW_DIRECTORY``, defaults.h (used by the session daemon).
CHUNK_TMP_NEW_DIR = ".tmp_new_chunk"
#: ``LTTNG_NAME_MAX``, include/lttng/constant.h.
LTTNG_NAME_MAX = 255

#: Mode of the stream and index files: ``S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP``
#: (consumer-stream.c ``consumer_stream_create_output_files``, index.c). The
#: run-as helper sets ``umask(0)`` first, so this is the mode the files get.
STREAM_FILE_MODE = 0o660
#: ``DIR_CREATION_MODE``, trace-chunk.c: ``S_IRWXU | S_IRWXG``.
DIR_CREATION_MODE = 0o770


def data_stream_name(channel_name: str, cpu: int) -> str:
    """``<channel>_<cpu>``: a data stream's file stem.

    Mirrors consumer-stream.c ``consumer_stream_create`` @ v2.13.9.
    """
    return f"{channel_name}_{cpu}"


def stream_file_path(
    path_name: str | None, file_name: str, size: int, count: int, suffix: str = ""
) -> str:
    """Mirrors utils.c ``utils_stream_file_path`` @ v2.13.9.

    ``<path_name>/<file_name>[_<count>]<suffix>``: the ``_<count>`` part exists
    only when tracefile rotation is on (``size`` > 0), even for count 0; no
    separator is added when ``path_name`` is empty or already ends with ``/``.
    """
    bare = path_name is None or path_name == "" or path_name.endswith("/")
    separator = "" if bare else "/"
    count_part = f"_{count}" if size > 0 else ""
    return f"{path_name or ''}{separator}{file_name}{count_part}{suffix}"


def index_directory(channel_path: str) -> str:
    """``<channel_path>/index`` (``index`` alone for an empty channel path), index.c."""
    separator = "" if channel_path == "" else "/"
    return f"{channel_path}{separator}{INDEX_DIR}"


def index_file_path(channel_path: str, stream_name: str, size: int, count: int) -> str:
    """``<channel_path>/index/<stream>[_<count>].idx``.

    Mirrors ``_lttng_index_file_create_from_trace_chunk``, index.c @ v2.13.9.
    """
    return stream_file_path(
        index_directory(channel_path), stream_name, size, count, INDEX_FILE_SUFFIX
    )


def must_rotate_tracefile(tracefile_size: int, size_current: int, packet_size: int) -> bool:
    """Whether a packet of ``packet_size`` bytes goes to a new tracefile.

    Mirrors consumer.c ``lttng_consumer_on_read_subbuffer_mmap`` @ v2.13.9
    (lines 1706–1708): with a size limit, rotate *before* writing when the
    current file plus the packet would exceed it. A file holds at least one
    packet, even a packet larger than the limit; an empty current file is
    rotated too (C does not special-case it).
    """
    return tracefile_size > 0 and size_current + packet_size > tracefile_size


def next_tracefile_index(current: int, tracefile_count: int) -> int:
    """The tracefile index after a rotation.

    Mirrors consumer-stream.c ``consumer_stream_rotate_output_files`` @ v2.13.9:
    increment, then wrap modulo the count limit when there is one. The file of
    the new index is then opened with ``O_TRUNC``: when the count is reached,
    the oldest file is overwritten in place (truncated, not unlinked), and so
    is its index file.
    """
    following = current + 1
    if tracefile_count > 0:
        following %= tracefile_count
    return following


def iso8601(timestamp: int) -> str:
    """Mirrors time.c ``time_to_iso8601_str``: local time, ``%Y%m%dT%H%M%S%z``."""
    return time.strftime("%Y%m%dT%H%M%S%z", time.localtime(timestamp))


def datetime_str(timestamp: int) -> str:
    """Mirrors time.c ``time_to_datetime_str``: local time, ``%Y%m%d-%H%M%S``."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(timestamp))


def chunk_name(chunk_id: ChunkId, creation_time: int, close_time: int | None = None) -> str:
    """Mirrors trace-chunk.c ``generate_chunk_name`` @ v2.13.9.

    ``<begin>-<id>`` while the chunk is open, ``<begin>-<end>-<id>`` once its
    close timestamp is set (the name of its ``archives/`` directory), each date
    in :func:`iso8601` form.
    """
    end = f"-{iso8601(close_time)}" if close_time is not None else ""
    return f"{iso8601(creation_time)}{end}-{chunk_id}"


def is_valid_chunk_name(name: str | None) -> bool:
    """Mirrors trace-chunk.c ``is_valid_chunk_name``: non-empty, shorter than
    ``LTTNG_NAME_MAX``, without ``/`` or ``.``."""
    if not name:
        return False
    # A name from the wire keeps its non-UTF-8 bytes as surrogates: count bytes, as C.
    if len(name.encode(errors="surrogateescape")) >= LTTNG_NAME_MAX:
        return False
    return "/" not in name and "." not in name


def ust_uid_path(uid: int, bits_per_long: int) -> str:
    """``uid/<uid>/<bits>-bit``: per-UID buffers' session path.

    Computed by the *session daemon* (ust-app.c ``shadow_copy_session``,
    ``DEFAULT_UST_TRACE_UID_PATH``) and sent to the consumer as the channel
    pathname, relative to the chunk's ``ust`` directory; the consumer never
    builds it.
    """
    return f"uid/{uid}/{bits_per_long}-bit"
