"""No loop turn does work proportional to the number of streams (issue 24, item 3).

The shell's selector registrations change when streams, channels or relay sockets
come and go, never on a plain wake-up; the core answers ``next_deadline`` and runs
``handle_timer`` from a heap of deadlines, visiting only the due timers. Counted with
a fake selector and counting stand-ins, never timed. No LTTng daemon runs."""

from __future__ import annotations

import selectors
from types import SimpleNamespace
from typing import Any, cast

from tests.consumerd.fakes import NoRing, bare_channel
from ustref.consumerd.core import Core
from ustref.consumerd.loop import Shell
from ustref.consumerd.registry import Channel, ChannelType, Stream
from ustref.consumerd.ring_backend import UstChannel, UstStream
from ustref.consumerd.startup import Paths
from ustref.ids import StreamKey
from ustref.ring.reader import Status, StreamReader
from ustref.ring.timers import PeriodicTimer

N = 64
SECOND = 1_000_000_000


class CountingSelector(selectors.BaseSelector):
    """A selector that only records what is registered (no fd is ever polled)."""

    def __init__(self) -> None:
        self.keys: dict[int, selectors.SelectorKey] = {}
        self.registrations = 0
        self.unregistrations = 0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        if fd in self.keys:
            raise KeyError(f"fd {fd} is already registered")
        self.registrations += 1
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self.keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        self.unregistrations += 1
        return self.keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        return []

    def get_map(self) -> dict[int, selectors.SelectorKey]:  # type: ignore[override]
        return self.keys


class _Reader:
    """Stands in for :class:`StreamReader`: nothing is ever ready."""

    geometry = SimpleNamespace(subbuf_size=4096, num_subbuf=4)

    def __init__(self) -> None:
        self.reads = 0

    def get_next_subbufs(self, limit: int) -> tuple[Status, list[object]]:
        self.reads += 1
        return Status.AGAIN, []


class CountingRing(NoRing):
    """A ust-ctl channel stand-in with a ring-buffer timer: counts the core's visits."""

    def __init__(self, deadline: int | None = None, period: int = SECOND) -> None:
        self.deadline = deadline
        self.period = period
        self.visits = 0
        self.runs = 0

    def next_deadline(self) -> int | None:  # type: ignore[override]
        self.visits += 1
        return self.deadline

    def run_timers(self, now: int) -> None:
        self.runs += 1
        while self.deadline is not None and now >= self.deadline:
            self.deadline += self.period


def _streams(core: Core, n: int, first: int = 0) -> list[Stream]:
    out = []
    for key in range(first, first + n):
        channel = bare_channel(key, ChannelType.DATA)
        stream = Stream(
            key=StreamKey(key),
            channel=channel,
            cpu=0,
            ust=cast(UstStream, object()),
            wait_fd=1000 + key,
        )
        stream.reader = cast(StreamReader, _Reader())
        channel.streams.append(stream)
        core.registry.channels[channel.key] = channel
        out.append(stream)
    return out


def _shell(core: Core) -> tuple[Shell, CountingSelector]:
    shell = Shell(Paths(command="", error="", health=""), core)
    sel = CountingSelector()
    shell.sel = cast(selectors.DefaultSelector, sel)  # a BaseSelector, as the shell uses it
    return shell, sel


def _turn(shell: Shell) -> None:
    """The fd bookkeeping of one loop turn (:meth:`Shell.run`)."""
    shell._sync_watched()
    shell._sync_relayds()


def test_wake_ups_leave_the_fd_set_alone() -> None:
    core = Core()
    streams = _streams(core, N)
    shell, sel = _shell(core)
    walks = 0
    real_watched = core.watched

    def counted() -> dict[int, Stream | Channel]:
        nonlocal walks
        walks += 1
        return real_watched()

    core.watched = counted  # type: ignore[method-assign]
    _turn(shell)
    assert sel.registrations == N and walks == 1
    for now in range(1, 200):
        stream = streams[now % N]
        core.stream_ready(stream, now)  # a plain wake-up: drain, nothing else
        _turn(shell)
    assert all(cast(_Reader, s.reader).reads > 0 for s in streams)
    assert (sel.registrations, sel.unregistrations, walks) == (N, 0, 1)

    # A change does reach the selector: pausing data consumption unwatches the streams.
    core.pause_data_consumption(True, 300)
    _turn(shell)
    assert sel.keys == {} and sel.unregistrations == N and walks == 2
    core.pause_data_consumption(False, 301)
    _turn(shell)
    assert set(sel.keys) == {s.wait_fd for s in streams} and walks == 3


def test_a_channel_that_comes_or_goes_updates_the_fd_set() -> None:
    core = Core()
    streams = _streams(core, 3)
    shell, sel = _shell(core)
    _turn(shell)
    (late,) = _streams(core, 1, first=3)  # channel 3 enters the table
    _turn(shell)
    assert late.wait_fd in sel.keys and sel.registrations == 4
    core.registry.channels.pop(streams[0].channel.key)
    _turn(shell)
    assert streams[0].wait_fd not in sel.keys and sel.unregistrations == 1


def test_relay_sockets_are_not_looked_up_every_turn() -> None:
    core = Core()
    streams = _streams(core, 4)
    shell, _sel = _shell(core)
    lookups = 0
    real_slots = core.relayd_slots

    def counted() -> list[Any]:
        nonlocal lookups
        lookups += 1
        return real_slots()

    core.relayd_slots = counted  # type: ignore[method-assign]
    for now in range(50):
        core.stream_ready(streams[now % 4], now)
        _turn(shell)
    assert lookups == 1


def _timed_channels(core: Core, n: int) -> list[tuple[Channel, CountingRing]]:
    out = []
    for key in range(n):
        ring = CountingRing(deadline=(key + 2) * SECOND)
        channel = bare_channel(key, ChannelType.DATA, ust=cast(UstChannel, ring))
        channel.monitor_timer = PeriodicTimer.armed(0, (key + 10) * SECOND)
        core.registry.channels[channel.key] = channel
        out.append((channel, ring))
    return out


def test_next_deadline_does_not_walk_the_channels() -> None:
    core = Core()
    channels = _timed_channels(core, N)
    assert core.next_deadline() == 2 * SECOND
    assert [ring.visits for _, ring in channels] == [1] * N
    for now in range(1000):
        assert core.next_deadline() == 2 * SECOND
        core.handle_timer(now)  # nothing due
    assert [ring.visits for _, ring in channels] == [1] * N
    assert sum(ring.runs for _, ring in channels) == 0


def test_handle_timer_visits_only_the_due_timers() -> None:
    core = Core()
    channels = _timed_channels(core, N)
    core.handle_timer(3 * SECOND)  # the ring timers of channels 0 and 1 are due
    assert [ring.runs for _, ring in channels[:3]] == [1, 1, 0]
    assert sum(ring.runs for _, ring in channels) == 2
    # Each fired timer is asked once for its next deadline; the others not at all.
    assert [ring.visits for _, ring in channels[:3]] == [2, 2, 1]
    assert core.next_deadline() == 4 * SECOND  # rings 0 and 1 re-armed, ring 2's
    assert channels[0][0].monitor_timer is not None
    assert channels[0][0].monitor_timer.deadline == 10 * SECOND  # not due, untouched

    core.handle_timer(10 * SECOND)  # monitor of channel 0 due, and rings 0..8
    monitor = channels[0][0].monitor_timer
    assert monitor.deadline == 20 * SECOND
    assert channels[1][0].monitor_timer is not None
    assert channels[1][0].monitor_timer.deadline == 11 * SECOND


def test_a_new_channel_s_timers_count_and_a_gone_one_s_do_not() -> None:
    core = Core()
    channels = _timed_channels(core, 3)
    assert core.next_deadline() == 2 * SECOND
    early = bare_channel(99, ChannelType.DATA, ust=cast(UstChannel, CountingRing(SECOND)))
    core.registry.channels[early.key] = early
    assert core.next_deadline() == SECOND
    core.registry.channels.pop(early.key)
    core.registry.channels.pop(channels[0][0].key)
    assert core.next_deadline() == 3 * SECOND
    core.handle_timer(100 * SECOND)
    assert channels[0][1].runs == 0 and channels[1][1].runs == 1


def test_a_relay_that_stalls_or_fails_changes_the_tables_version() -> None:
    """A stalled relay's streams leave :meth:`Core.watched` (``consumes``): the shell
    must see a new version, or their readable wait fds would stay in its selector."""
    core = Core()
    seen = {core.tables_version}
    core.relayd_stalled(3, True, 0)
    seen.add(core.tables_version)
    core.relayd_stalled(3, False, 1)
    seen.add(core.tables_version)
    core.relayd_failed(3, 2)
    seen.add(core.tables_version)
    assert len(seen) == 4
