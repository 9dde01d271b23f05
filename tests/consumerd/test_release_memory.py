"""Freed memory goes back to the system: when the core asks for it, and what the
shell does then (:class:`~ustref.consumerd.exchange.ReleaseMemory`)."""

from __future__ import annotations

import gc
import weakref

import pytest

from tests.consumerd.drive import Driver
from ustref.consumerd import effects
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import ReleaseMemory
from ustref.consumerd.loop import Shell
from ustref.consumerd.startup import Paths
from ustref.consumerd.state import RELEASE_MEMORY_DELAY, RELEASE_MEMORY_INTERVAL

SECOND = 1_000_000_000


def test_nothing_is_released_before_something_was_freed() -> None:
    driver = Driver()
    assert driver.core.next_deadline() is None
    driver.tick(10 * SECOND)
    assert driver.releases == [] and driver.core.next_deadline() is None


def test_a_release_follows_the_freeing_turn_after_a_delay() -> None:
    driver = Driver(now=5 * SECOND)
    core = driver.core
    core.memory_freed()
    driver.tick(5 * SECOND)  # the turn that freed: the release is timed from it
    assert driver.releases == []
    assert core.next_deadline() == 5 * SECOND + RELEASE_MEMORY_DELAY
    core.memory_freed()  # more frees before it is due go with it
    driver.tick(5 * SECOND + RELEASE_MEMORY_DELAY - 1)
    assert driver.releases == []
    driver.tick(5 * SECOND + RELEASE_MEMORY_DELAY)
    assert driver.releases == [5 * SECOND + RELEASE_MEMORY_DELAY]
    assert core.next_deadline() is None and not core.memory_to_release


def test_releases_are_an_interval_apart_however_often_memory_is_freed() -> None:
    driver = Driver()
    core = driver.core
    first = RELEASE_MEMORY_DELAY
    core.memory_freed()
    driver.tick(0)
    driver.tick(first)
    assert driver.releases == [first]
    now = first + 10_000_000
    while now < first + 3 * RELEASE_MEMORY_INTERVAL:  # a channel freed every 10 ms
        core.memory_freed()
        driver.tick(now)
        now += 10_000_000
    assert driver.releases == [first + n * RELEASE_MEMORY_INTERVAL for n in range(3)]


def test_the_shell_trims_the_heap() -> None:
    """A freed megabyte amid the heap (a live block above it keeps glibc from
    shrinking the heap's top on its own) is handed back: the process's resident
    anonymous memory falls."""
    blocks = [bytearray(4096) for _ in range(512)]  # below the mmap threshold: on the heap
    keep = bytearray(4096)
    for block in blocks:
        block[::512] = b"x" * 8  # touched: resident
    before = _rss_anon_kib()
    del blocks
    effects.release_memory()
    assert _rss_anon_kib() < before - 1024
    del keep


def _rss_anon_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")


def test_the_shell_collects_garbage_cycles() -> None:
    """A parsed message sits in a cycle (construct's top context is its own ``_root``):
    the release frees it even with the automatic collections off."""
    from ustref.protocol.abi import Abi
    from ustref.protocol.consumer import (
        CONSUMER_MSG,
        ConsumerMsgV2139,
        InitMember,
        LttngConsumerCommand,
    )

    grammar = CONSUMER_MSG[Abi.V2_13_9]
    raw = grammar.build(
        ConsumerMsgV2139(
            cmd_type=LttngConsumerCommand.LTTNG_CONSUMER_INIT,
            u=InitMember(sessiond_uuid=bytes(16)),
        )
    )
    gc.disable()
    try:
        msg = grammar.parse(raw)
        gone = weakref.ref(msg.u)
        del msg
        assert gone() is not None  # left in a cycle
        assert effects.release_memory() > 0
        assert gone() is None
    finally:
        gc.enable()


def test_a_freezing_release_leaves_the_survivors_out_of_later_collections() -> None:
    """``release_memory(freeze=True)``: what survived its collection is frozen, and a
    later collection no longer walks it (the daemon's first release)."""
    kept = [[n] for n in range(10_000)]
    try:
        effects.release_memory(freeze=True)
        assert gc.get_freeze_count() >= len(kept)
        effects.release_memory()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()  # this test process's collector back as it was
    assert gc.get_freeze_count() == 0
    del kept


def test_the_daemons_shell_freezes_at_its_first_release_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bool] = []

    def release(*, freeze: bool = False) -> int:
        calls.append(freeze)
        return 0

    monkeypatch.setattr(effects, "release_memory", release)
    shell = Shell(Paths(command="", error="", health=""), Core())
    shell.core.act(ReleaseMemory())
    shell._flush_actions()
    assert calls == [False]  # a shell of a test: no freeze
    shell.freeze_at_release = True  # as the daemon's main sets it
    for _ in range(2):
        shell.core.act(ReleaseMemory())
        shell._flush_actions()
    assert calls == [False, True, False]
    assert not shell.freeze_at_release
