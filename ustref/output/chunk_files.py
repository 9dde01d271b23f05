"""A trace chunk's file list: mirrors trace-chunk.c ``chunk->files``.

Every file a chunk opens stays on its list until it is unlinked (as
``lttng_trace_chunk_add_file`` / ``lttng_trace_chunk_remove_file`` keep it), so that
closing the chunk with DELETE can unlink them. Under application churn a per-PID
session's chunk lists tens of thousands of files, about five per application, all
in that application's own directory; so the list keeps one entry per directory, its
file names joined in one string, rather than one string and one dict slot per file.
In a long-lived daemon the difference stays: CPython's allocator keeps a 1 MiB arena
while anything in it lives, and small objects made during a churn leave arenas
behind them when the chunk goes (measured: 0.8 KiB of resident memory per
application lifetime with a path per file).

Iteration is by directory in the order each was first used, then by name in the
order opened. C walks one array in opening order; the orders differ only between
directories, and nothing in the consumer's answers depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator

_SEP = "\0"
"""Joins the names of one directory: no path holds a NUL."""


class ChunkFiles:
    """The files opened through a chunk and not unlinked since (relative paths)."""

    def __init__(self) -> None:
        self._dirs: dict[str, str] = {}
        self._count = 0

    def add(self, path: str) -> None:
        """Mirrors ``lttng_trace_chunk_add_file``: a path listed already stays once."""
        head, _, name = path.rpartition("/")
        names = self._dirs.get(head)
        if names is None:
            self._dirs[head] = name
        elif name in names.split(_SEP):
            return
        else:
            self._dirs[head] = names + _SEP + name
        self._count += 1

    def discard(self, path: str) -> None:
        """Mirrors ``lttng_trace_chunk_remove_file``: nothing if ``path`` is not listed."""
        head, _, name = path.rpartition("/")
        names = self._dirs.get(head)
        if names is None:
            return
        kept = names.split(_SEP)
        if name not in kept:
            return
        kept.remove(name)
        self._count -= 1
        if kept:
            self._dirs[head] = _SEP.join(kept)
        else:
            del self._dirs[head]

    def __iter__(self) -> Iterator[str]:
        for head, names in list(self._dirs.items()):
            for name in names.split(_SEP):
                yield f"{head}/{name}" if head else name

    def __len__(self) -> int:
        return self._count

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        head, _, name = path.rpartition("/")
        names = self._dirs.get(head)
        return names is not None and name in names.split(_SEP)
