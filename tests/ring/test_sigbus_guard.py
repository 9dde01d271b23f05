"""The SIGBUS guard's range table survives re-entry from a finalizer.

A mapping collected by the garbage collector unregisters itself from its
``__del__``; the collector can run inside any allocation, including one made
while the guard updates its table on the same thread. That must neither
deadlock nor lose either update (it deadlocked once, under Python 3.13).
"""

from __future__ import annotations

import os
import threading

from ustref.ring.shm import ShmMapping, SigbusGuard


def _mapping() -> ShmMapping:
    fd = os.memfd_create("guard")
    try:
        os.ftruncate(fd, 4096)
        return ShmMapping(fd, source="guard")
    finally:
        os.close(fd)


def test_a_nested_unregister_during_a_register_is_kept() -> None:
    guard = SigbusGuard()
    first, second = _mapping(), _mapping()
    guard.register(1000, 2000, first)
    nested = True

    def finalizer_runs_now() -> None:
        nonlocal nested
        if nested:
            nested = False
            guard.unregister(1000)  # as ShmMapping.__del__ would, mid-update

    original = guard._update

    def update_with_collection(change):  # type: ignore[no-untyped-def]
        def change_and_collect(ranges):  # type: ignore[no-untyped-def]
            result = change(ranges)
            finalizer_runs_now()
            return result

        original(change_and_collect)

    guard._update = update_with_collection  # type: ignore[method-assign]
    done = threading.Event()

    def register() -> None:
        guard.register(3000, 4000, second)
        done.set()

    worker = threading.Thread(target=register, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert done.is_set(), "register deadlocked on a nested unregister"
    assert [(start, end) for start, end, _ in guard._ranges] == [(3000, 4000)]
    first.close()
    second.close()
