"""The process's one C library handle (:mod:`ustref.libc`)."""

from __future__ import annotations

import ctypes
import errno
import os

from ustref.libc import libc


def test_one_handle_with_the_prototypes_its_callers_set() -> None:
    from ustref.ring import shm  # sets the prototypes of its calls on the shared handle

    assert libc() is libc()
    assert shm._libc is libc()
    assert libc().mmap.restype is ctypes.c_void_p
    assert libc().getpid() == os.getpid()


def test_errno_is_kept_for_the_caller() -> None:
    assert libc().close(-1) == -1
    assert ctypes.get_errno() == errno.EBADF
