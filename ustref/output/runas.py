"""File operations relative to a directory fd, as a given user: the ``*_as_user`` layer.

Mirrors src/common/compat/directory-handle.c (``lttng_directory_handle_*_as_user``)
and src/common/runas.c @ v2.13.9. With credentials, the C daemons run each
operation in their run-as worker process, which first demotes itself
(``demote_creds``: ``setegid``, then ``initgroups`` + ``seteuid`` when the user
differs) and sets ``umask(0)``; the file descriptor comes back over a socket.
Consequences that are visible on disk and that this module keeps:

* files and directories are created owned by the credentials' uid and gid;
* their mode is exactly the mode asked for (0660 for stream and index files,
  0770 for directories), whatever the daemon's umask;
* permission checks are those of that user.

When the credentials are this process's own effective ids (the usual case: a
root session in a root consumer), the operation runs here, and the umask is
neutralised by setting the asked mode on what was just created (``fchmod``;
the process-wide umask is never touched, other threads may create files).
For other credentials (a root consumer serving a user's session), each
operation runs in a forked child that demotes itself as ``demote_creds`` does;
C keeps one worker process instead, which has the same effect.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import socket
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ustref.errors import OutputError, TransportError
from ustref.transport.framing import close_fds, recv_some, send_all


@dataclass(frozen=True)
class Credentials:
    """Mirrors ``struct lttng_credentials`` (src/common/credentials.h): who owns a chunk's files."""

    uid: int
    gid: int


def os_failure(exc: OSError, operation: str, path: str) -> OutputError:
    """The :class:`OutputError` for a system call of ``operation`` on ``path`` that failed."""
    return OutputError(exc.strerror or str(exc), operation=operation, path=path, errno=exc.errno)


def _is_self(credentials: Credentials | None) -> bool:
    return credentials is None or (
        credentials.uid == os.geteuid() and credentials.gid == os.getegid()
    )


# ---------------------------------------------------------------- primitives
# Each runs in the calling process, with the current ids; the public functions
# below run them here or in a demoted child.


def _open(dirfd: int, path: str, flags: int, mode: int) -> int:
    if flags & os.O_CREAT and not flags & os.O_EXCL:
        try:
            fd = os.open(path, flags | os.O_EXCL, mode, dir_fd=dirfd)
        except FileExistsError:
            return os.open(path, flags & ~os.O_CREAT, mode, dir_fd=dirfd)
        os.fchmod(fd, mode)  # what umask(0) gives the run-as worker
        return fd
    fd = os.open(path, flags, mode, dir_fd=dirfd)
    if flags & os.O_CREAT:
        os.fchmod(fd, mode)
    return fd


def _mkdir_check_exists(dirfd: int, path: str, mode: int) -> None:
    """Mirrors directory-handle.c ``create_directory_check_exists``."""
    try:
        st = os.stat(path, dir_fd=dirfd, follow_symlinks=True)
    except FileNotFoundError:
        os.mkdir(path, mode, dir_fd=dirfd)
        os.chmod(path, mode, dir_fd=dirfd)
        return
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)


def _mkdir_recursive(dirfd: int, path: str, mode: int) -> None:
    """Mirrors directory-handle.c ``create_directory_recursive``: each prefix, then the path.

    An ``EACCES`` on an intermediate component is ignored (it may exist and be
    traversable), ``/../`` is refused.
    """
    target = path[:-1] if path.endswith("/") else path
    parts = target.split("/")
    for end in range(1, len(parts)):
        prefix = "/".join(parts[:end])
        if prefix == "":
            continue
        if prefix.endswith("/..") or prefix == "..":
            raise OSError(errno.EINVAL, "'/../' is not permitted in the trace path", path)
        try:
            _mkdir_check_exists(dirfd, prefix, mode)
        except PermissionError:
            continue
    _mkdir_check_exists(dirfd, target, mode)


def _rmdir_recursive_skip_non_empty(dirfd: int, path: str) -> None:
    """Mirrors ``remove_directory_recursive`` with ``LTTNG_DIRECTORY_HANDLE_SKIP_NON_EMPTY_FLAG``.

    Removes ``path`` and its sub-directories depth first, leaving every
    directory that still holds a file (files are never unlinked here); a
    missing root is not an error.
    """
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dirfd)
    except FileNotFoundError:
        return
    try:
        for entry in os.scandir(top):
            if entry.is_dir(follow_symlinks=False):
                _rmdir_recursive_skip_non_empty(top, entry.name)
    finally:
        os.close(top)
    with contextlib.suppress(FileNotFoundError, OSError):
        os.rmdir(path, dir_fd=dirfd)


# ---------------------------------------------------------------- demotion


def _demote(credentials: Credentials, user: tuple[str, int] | None) -> None:
    """Mirrors runas.c ``demote_creds`` followed by ``umask(0)``, in a forked child.

    ``user`` (name, primary gid) is looked up by the parent before the fork: a
    child of a threaded process must not enter NSS.
    """
    if os.getgid() != credentials.gid:
        os.setegid(credentials.gid)
    if user is not None:
        os.initgroups(*user)
        os.seteuid(credentials.uid)
    os.umask(0)


def _user_of(credentials: Credentials) -> tuple[str, int] | None:
    """``get_user_infos_from_uid``: what ``initgroups`` needs, when the user changes."""
    if os.getuid() == credentials.uid:
        return None
    try:
        entry = pwd.getpwuid(credentials.uid)
    except KeyError:
        raise OSError(errno.EINVAL, f"no user with uid {credentials.uid}") from None
    return entry.pw_name, entry.pw_gid


_RESULT = struct.Struct("=ii")  # (return value, errno)


def _run_demoted(credentials: Credentials, action: Callable[[], int | None]) -> int | None:
    """Run ``action`` in a child demoted to ``credentials``; an fd it returns comes back.

    Raises the child's ``OSError`` (same errno) in the caller.
    """
    user = _user_of(credentials)
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through the socket
        code = 0
        try:
            parent_sock.close()
            _demote(credentials, user)
            try:
                result = action()
            except OSError as exc:
                child_sock.sendall(_RESULT.pack(-1, exc.errno or errno.EIO))
            else:
                if result is None:
                    child_sock.sendall(_RESULT.pack(0, 0))
                else:
                    send_all(child_sock, _RESULT.pack(1, 0), [result])
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    child_sock.close()
    try:
        got = recv_some(parent_sock, _RESULT.size, 1)
    except TransportError as exc:
        raise OSError(exc.errno or errno.EIO, f"run-as child: {exc}") from None
    finally:
        parent_sock.close()
        os.waitpid(pid, 0)
    message, fds = got.data, got.fds
    if len(message) != _RESULT.size:
        close_fds(fds)
        raise OSError(errno.EIO, "run-as child died", "")
    kind, err = _RESULT.unpack(message)
    if kind < 0:
        raise OSError(err, os.strerror(err))
    if kind == 1:
        return fds[0] if fds else None
    return None


def _as_user(
    credentials: Credentials | None, operation: str, path: str, action: Callable[[], int | None]
) -> int | None:
    try:
        if _is_self(credentials):
            return action()
        assert credentials is not None
        return _run_demoted(credentials, action)
    except OSError as exc:
        raise os_failure(exc, operation, path) from None


# ---------------------------------------------------------------- public API


def open_file(dirfd: int, path: str, flags: int, mode: int, credentials: Credentials | None) -> int:
    """Mirrors ``lttng_directory_handle_open_file_as_user``: an fd for ``path`` under ``dirfd``."""
    fd = _as_user(credentials, "open", path, lambda: _open(dirfd, path, flags, mode))
    assert fd is not None
    return fd


def mkdir(dirfd: int, path: str, mode: int, credentials: Credentials | None) -> None:
    """Mirrors ``lttng_directory_handle_create_subdirectory_as_user`` (one level; may exist)."""
    _as_user(credentials, "mkdir", path, lambda: _mkdir_check_exists(dirfd, path, mode))


def mkdir_recursive(dirfd: int, path: str, mode: int, credentials: Credentials | None) -> None:
    """Mirrors ``lttng_directory_handle_create_subdirectory_recursive_as_user``."""
    _as_user(credentials, "mkdir -p", path, lambda: _mkdir_recursive(dirfd, path, mode))


def unlink(dirfd: int, path: str, credentials: Credentials | None) -> None:
    """Mirrors ``lttng_directory_handle_unlink_file_as_user``."""
    _as_user(credentials, "unlink", path, lambda: os.unlink(path, dir_fd=dirfd))


def rename(
    old_dirfd: int, old: str, new_dirfd: int, new: str, credentials: Credentials | None
) -> None:
    """Mirrors ``lttng_directory_handle_rename_as_user``."""
    _as_user(
        credentials,
        "rename",
        f"{old} -> {new}",
        lambda: os.rename(old, new, src_dir_fd=old_dirfd, dst_dir_fd=new_dirfd),
    )


def rmdir(dirfd: int, path: str, credentials: Credentials | None) -> None:
    """Mirrors ``lttng_directory_handle_remove_subdirectory_as_user``."""
    _as_user(credentials, "rmdir", path, lambda: os.rmdir(path, dir_fd=dirfd))


def rmdir_recursive(dirfd: int, path: str, credentials: Credentials | None) -> None:
    """Mirrors ``lttng_directory_handle_remove_subdirectory_recursive_as_user``
    with ``LTTNG_DIRECTORY_HANDLE_SKIP_NON_EMPTY_FLAG``."""
    _as_user(credentials, "rmdir -r", path, lambda: _rmdir_recursive_skip_non_empty(dirfd, path))


def open_directory(dirfd: int, path: str) -> int:
    """An ``O_DIRECTORY`` fd of ``path`` under ``dirfd``.

    As ``lttng_directory_handle_create_from_handle`` (directory-handle.c) opens it.
    """
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError as exc:
        raise os_failure(exc, "opendir", path) from None
