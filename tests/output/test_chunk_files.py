"""The chunk's file list (``ustref.output.chunk_files``), as trace-chunk.c keeps
``chunk->files``: each path once, removable, walked for DELETE."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ustref.output.chunk_files import ChunkFiles

_PART = st.sampled_from(["ust", "uid", "pid", "app-1-20261206", "index", "chan_0", "metadata"])
_PATH = st.lists(_PART, min_size=1, max_size=4).map("/".join)


def test_each_path_once_in_directory_then_opening_order() -> None:
    files = ChunkFiles()
    for path in ("a/chan_0", "b/chan_0", "a/chan_1", "a/chan_0", "metadata"):
        files.add(path)
    assert list(files) == ["a/chan_0", "a/chan_1", "b/chan_0", "metadata"]
    assert len(files) == 4 and "a/chan_1" in files and "a/chan" not in files
    files.discard("a/chan_0")
    files.discard("a/chan_0")  # not listed: nothing (lttng_trace_chunk_remove_file)
    files.discard("c/chan_0")
    assert list(files) == ["a/chan_1", "b/chan_0", "metadata"]


@given(st.lists(st.tuples(st.booleans(), _PATH), max_size=40))
def test_the_same_set_as_a_plain_ordered_set(ops: list[tuple[bool, str]]) -> None:
    files = ChunkFiles()
    plain: dict[str, None] = {}
    for add, path in ops:
        if add:
            files.add(path)
            plain[path] = None
        else:
            files.discard(path)
            plain.pop(path, None)
    assert sorted(files) == sorted(plain)
    assert len(files) == len(plain) and bool(files) == bool(plain)
    assert all(path in files for path in plain)
