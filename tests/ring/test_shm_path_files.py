"""``--shm-path`` stream files: ``open_ust_stream_fd`` and their removal when the
channel goes (ust-consumer.c ``lttng_ustconsumer_del_channel`` / ``_free_channel``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ustref.consumerd.effects import open_stream_fds, remove_stream_files
from ustref.errors import UstrefError


def test_stream_files_are_created_0600_then_removed_with_empty_directories(
    tmp_path: Path,
) -> None:
    root = tmp_path / "shm"
    chan_dir = root / "ust" / "uid" / "0" / "64-bit"
    chan_dir.mkdir(parents=True)
    keep = root / "other"
    keep.mkdir()
    (keep / "file").write_text("not ours")
    prefix = str(chan_dir / "chan_")
    fds = open_stream_fds(2, shm_path=prefix, owner=(os.geteuid(), os.getegid()))
    try:
        names = sorted(p.name for p in chan_dir.iterdir())
        assert names == ["chan_0", "chan_1"]
        mode = stat.S_IMODE((chan_dir / "chan_0").stat().st_mode)
        assert mode == 0o600
    finally:
        for fd in fds:
            os.close(fd)
    remove_stream_files(2, prefix, str(root))
    assert not (root / "ust").exists()  # emptied, so removed, parents first
    assert (keep / "file").exists()  # a directory with a file stays, so does the root
    assert root.exists()


def test_the_empty_root_goes_too(tmp_path: Path) -> None:
    root = tmp_path / "shm"
    (root / "a" / "b").mkdir(parents=True)
    remove_stream_files(0, "", str(root))
    assert not root.exists()


def test_an_existing_stream_file_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    prefix = str(tmp_path / "chan_")
    Path(prefix + "1").write_text("in the way")
    with pytest.raises(UstrefError):
        open_stream_fds(2, shm_path=prefix)
    assert not Path(prefix + "0").exists()
