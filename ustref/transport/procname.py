"""This process's name as ``ps``, ``pgrep`` and ``/proc/PID/comm`` show it.

Kept apart from :mod:`ustref.transport.launcher` (which imports ``subprocess``,
``shutil`` and ``ctypes`` to start children) because ustref-consumerd names itself
before it says ready, with nothing of that imported.
"""

from __future__ import annotations

import contextlib

__all__ = ["COMM_LEN", "set_process_name"]

COMM_LEN = 15
"""``TASK_COMM_LEN`` (16, include/linux/sched.h) less its NUL: what the kernel keeps."""


def set_process_name(name: str) -> None:
    """``prctl(PR_SET_NAME, name)`` through procfs: write the first :data:`COMM_LEN`
    bytes of ``name`` to ``/proc/thread-self/comm``, the calling thread's name (the
    process's, from the main thread), as the kernel's ``comm`` write does with
    ``set_task_comm`` too. A failure is ignored, as before: the name is cosmetic."""
    with contextlib.suppress(OSError), open("/proc/thread-self/comm", "wb") as comm:
        comm.write(name.encode()[:COMM_LEN])
