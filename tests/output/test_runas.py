"""File operations relative to a directory fd (directory-handle.c, runas.c semantics)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ustref.errors import OutputError
from ustref.output import runas
from ustref.output.runas import Credentials

SELF = Credentials(os.geteuid(), os.getegid())


@pytest.fixture
def dirfd(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def test_mkdir_recursive_makes_every_level_with_the_mode(tmp_path: Path, dirfd: int) -> None:
    old = os.umask(0o077)
    try:
        runas.mkdir_recursive(dirfd, "a/b/c/", 0o770, SELF)
        runas.mkdir_recursive(dirfd, "a/b/c", 0o770, SELF)  # existing: fine
    finally:
        os.umask(old)
    for rel in ("a", "a/b", "a/b/c"):
        assert stat.S_IMODE((tmp_path / rel).stat().st_mode) == 0o770


def test_mkdir_refuses_dot_dot_and_files_in_the_way(tmp_path: Path, dirfd: int) -> None:
    with pytest.raises(OutputError) as info:
        runas.mkdir_recursive(dirfd, "a/../b", 0o770, None)
    assert info.value.errno == errno.EINVAL
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError) as info:
        runas.mkdir(dirfd, "file", 0o770, None)
    assert info.value.errno == errno.ENOTDIR


def test_open_without_create_and_unlink(tmp_path: Path, dirfd: int) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    fd = runas.open_file(dirfd, "f", os.O_RDONLY, 0, SELF)
    try:
        assert os.read(fd, 3) == b"abc"
    finally:
        os.close(fd)
    with pytest.raises(OutputError) as info:
        runas.open_file(dirfd, "missing", os.O_RDONLY, 0, SELF)
    assert (info.value.operation, info.value.path, info.value.errno) == (
        "open",
        "missing",
        errno.ENOENT,
    )
    runas.unlink(dirfd, "f", SELF)
    assert not (tmp_path / "f").exists()


def test_exclusive_create_sets_the_mode_too(tmp_path: Path, dirfd: int) -> None:
    old = os.umask(0o077)
    try:
        fd = runas.open_file(dirfd, "x", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, SELF)
    finally:
        os.umask(old)
    os.close(fd)
    assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_demoted_child_reports_errno(tmp_path: Path, dirfd: int) -> None:
    import pwd

    nobody = pwd.getpwnam("nobody")
    creds = Credentials(nobody.pw_uid, nobody.pw_gid)
    tmp_path.chmod(0o755)
    with pytest.raises(OutputError) as info:
        runas.mkdir(dirfd, "d", 0o770, creds)
    assert info.value.errno == errno.EACCES
    runas.mkdir(dirfd, "d", 0o770, None)
    os.chown(tmp_path / "d", nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(OutputError) as info:
        runas.rmdir(dirfd, "d", creds)  # its own directory, but in root's
    assert info.value.errno == errno.EACCES
    runas.mkdir_recursive(dirfd, "d/e/f", 0o770, creds)  # inside its own: fine
    assert (tmp_path / "d/e/f").stat().st_uid == nobody.pw_uid
    runas.rmdir_recursive(dirfd, "d/e", creds)
    assert not (tmp_path / "d/e").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_unknown_user_is_refused_before_forking(dirfd: int) -> None:
    import pwd

    uid = 4_000_000
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    with pytest.raises(OutputError) as info:
        runas.mkdir(dirfd, "d", 0o770, Credentials(uid, uid))
    assert info.value.errno == errno.EINVAL
