"""The C library this process runs on: one handle for every module that calls it.

``dlopen(NULL)`` gives the libc already loaded (glibc here, musl elsewhere), found
without ``ctypes.util.find_library``, which runs ``ldconfig -p`` in a child process
and imports ``subprocess``, ``shutil`` and ``tempfile`` (which the daemon never
loads). Callers that need a function's prototype set it on this handle
(:mod:`ustref.ring.shm` for ``mmap`` and ``sigaction``): the prototypes are the C
library's, the same for every caller.
"""

from __future__ import annotations

import ctypes
import functools

__all__ = ["libc"]


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, with ``errno`` saved after each call (``ctypes.get_errno``)."""
    return ctypes.CDLL(None, use_errno=True)
